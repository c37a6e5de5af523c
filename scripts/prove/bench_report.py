"""Reads criterion's estimates (TARGET/criterion/...) and prints the Markdown tables for
docs/performance/core.md. Usage: python3 bench_report.py CRITERION_DIR"""

import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])


def mean_ns(group: str, *parts: str) -> float | None:
    path = root.joinpath(group, *parts, "new", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["mean"]["point_estimate"]


def fmt(ns: float | None) -> str:
    if ns is None:
        return "n/a"
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print("| endpoint (bytes in, bytes out) | `handle_http` | floor: serde_json parse + serialise | ratio |")
print("|---|---|---|---|")
for name in ["v2_supplier", "v2_manufacturer", "v1_supplier", "v1_connect"]:
    full, floor = mean_ns("endpoint", name, "handle_http"), mean_ns("endpoint", name, "floor_serde_json")
    ratio = f"{full / floor:.1f}x" if full and floor else "n/a"
    print(f"| {name} | {fmt(full)} | {fmt(floor)} | {ratio} |")
print()
print("| part | mean |")
print("|---|---|")
for part in ["token_generate", "catalog_resolve_56", "redirect_check_1"]:
    print(f"| {part} | {fmt(mean_ns('part', part))} |")
print()
print("| growth | 1st | 2nd | 3rd |")
print("|---|---|---|---|")
for name, sizes in [
    ("redirect_check", [1, 10, 100]),
    ("v2_supplier_by_redirects", [1, 10, 100]),
    ("catalog_resolve", [56, 500, 5000]),
    ("v2_supplier_by_brands", [56, 500, 5000]),
    ("v2_supplier_by_sessions", [0, 10000, 100000]),
]:
    cells = [f"{n}: {fmt(mean_ns('growth', name, str(n)))}" for n in sizes]
    print(f"| {name} | " + " | ".join(cells) + " |")
