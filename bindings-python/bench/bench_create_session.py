"""Per-call cost of ``POST /v2/supplier/link-sessions`` through the binding beside the lean
pydantic v2 peer (``lean_peer.py``, issue 18), on two paths:

- **bytes**: ``auth.handle_http(method, path, headers, body)`` and the response's status,
  headers and body bytes, beside ``LeanPeer.handle`` (``json.loads``, ``model_validate``,
  ``secrets.token_urlsafe``, ``json.dumps``);
- **objects**: ``auth.create_supplier_link_session(...).to_dict()`` beside ``LeanPeer.create``.

Before timing, each pair is checked to answer the same bytes (or the same dict) for the same
request, apart from the random token. The variants take turns in every repeat, so a busy machine
slows them alike; the best mean per call of each is reported, with the ratios.

Run: ``bindings-python/.venv/bin/python bindings-python/bench/bench_create_session.py``
(after ``bindings-python/test.sh`` has built and installed the wheel).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nox_authenticator  # noqa: E402
from lean_peer import LeanPeer  # noqa: E402
from nox_authenticator import AssetType, Authenticator  # noqa: E402

API_KEY = "bench-key"
CALLBACK = "https://your-app.com/callback"
NOW = 1_703_123_456
# The pending-session caps (spec decision 12) lifted: the runs create a few hundred thousand.
CONFIG = {"suppliers": [{"id": "supplier_123", "name": "Acme Energy", "api_key": API_KEY,
                         "redirect_urls": [CALLBACK]}],
          "limits": {"pending_sessions_per_caller": 100_000_000,
                     "pending_sessions_total": 100_000_000}}
PATH = "/v2/supplier/link-sessions"
HEADERS = {"x-api-key": API_KEY, "content-type": "application/json"}
FIELDS = {"redirect_url": CALLBACK, "asset_type": "hp", "brand": "alpha innotec"}


def _body(i: int) -> bytes:
    return json.dumps({"user_id": f"user-{i}", **FIELDS}).encode()


def _without_token(body: bytes, token: str) -> bytes:
    return body.replace(token.encode(), b"TOKEN")


def check_same_answers(auth: Authenticator, peer: LeanPeer) -> None:
    """Both ways answer the same request with the same status, headers and bytes."""
    body = _body(0)
    ours = auth.handle_http("POST", PATH, HEADERS, body, now=NOW)
    status, headers, theirs = peer.handle("POST", PATH, HEADERS, body, NOW)
    assert (ours.status, ours.headers) == (status, headers), (ours, status, headers)
    assert _without_token(ours.body, ours.json()["link_token"]) == \
        _without_token(theirs, json.loads(theirs)["link_token"]), (ours.body, theirs)

    ours_dict = auth.create_supplier_link_session(
        api_key=API_KEY, user_id="u", redirect_url=CALLBACK, asset_type=AssetType.HEAT_PUMP,
        brand="alpha innotec", now=NOW).to_dict()
    theirs_dict = peer.create(api_key=API_KEY, user_id="u", redirect_url=CALLBACK,
                              asset_type="hp", brand="alpha innotec", now=NOW)
    for d in (ours_dict, theirs_dict):
        d["link_url"] = d["link_url"].replace(d.pop("link_token"), "TOKEN")
    assert ours_dict == theirs_dict and list(ours_dict) == list(theirs_dict), \
        (ours_dict, theirs_dict)


def per_call(fns: Dict[str, Callable[[int], Any]], calls: int,
             repeats: int) -> Dict[str, float]:
    """Best-of-`repeats` mean seconds per call of each function, taking turns."""
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for i in range(calls):
                fn(i)
            best[name] = min(best[name], (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", choices=["bytes", "objects"], default=None,
                        help="time one path only (for a profiler)")
    args = parser.parse_args()

    auth = Authenticator.from_config(CONFIG)
    peer = LeanPeer(API_KEY, "supplier_123", "Acme Energy", [CALLBACK])
    check_same_answers(auth, peer)
    bodies = [_body(i) for i in range(args.calls)]
    user_ids = [f"user-{i}" for i in range(args.calls)]

    def binding_bytes(i: int) -> Any:
        response = auth.handle_http("POST", PATH, HEADERS, bodies[i])
        return response.status, response.headers, response.body

    def peer_bytes(i: int) -> Any:
        return peer.handle("POST", PATH, HEADERS, bodies[i], NOW)

    def binding_objects(i: int) -> Any:
        return auth.create_supplier_link_session(
            api_key=API_KEY, user_id=user_ids[i], redirect_url=CALLBACK,
            asset_type=AssetType.HEAT_PUMP, brand="alpha innotec").to_dict()

    def peer_objects(i: int) -> Any:
        return peer.create(api_key=API_KEY, user_id=user_ids[i], redirect_url=CALLBACK,
                           asset_type="hp", brand="alpha innotec", now=NOW)

    fns: Dict[str, Callable[[int], Any]] = {}
    if args.only in (None, "bytes"):
        fns["bytes: binding handle_http()"] = binding_bytes
        fns["bytes: lean pydantic peer"] = peer_bytes
    if args.only in (None, "objects"):
        fns["objects: binding create + to_dict()"] = binding_objects
        fns["objects: lean pydantic peer"] = peer_objects
    results = per_call(fns, args.calls, args.repeats)
    print(f"nox_authenticator {nox_authenticator.__version__}, Python "
          f"{platform.python_version()}, {platform.machine()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{args.calls} calls x {args.repeats} repeats, best mean per call")
    for name, seconds in results.items():
        print(f"  {name:<40} {seconds * 1e6:8.2f} us")
    for path in ("bytes", "objects"):
        names = [n for n in results if n.startswith(path)]
        if len(names) == 2:
            print(f"ratio {path}: peer / binding = {results[names[1]] / results[names[0]]:.2f}x")


if __name__ == "__main__":
    main()
