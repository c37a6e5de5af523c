"""Black-box check of the server's logs and metrics (spec decisions 13 and 14).

Runs the server twice (JSON and text logs) with known API keys, creates and completes sessions,
sends bad requests, then asserts:
- every request has exactly one log line with its request id, route template and status;
- no log line contains an API key, a link token or a request body;
- `/metrics`, parsed by the independent `prometheus_client` OpenMetrics parser, counts exactly
  the requests that were sent.

    python scripts/prove/telemetry_check.py PATH/TO/nox-authenticator-server
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from prometheus_client.openmetrics.parser import text_string_to_metric_families

SUPPLIER_KEY = "telemetry-supplier-key-4f1c"
MANUFACTURER_KEY = "telemetry-manufacturer-key-9a2e"
ADMIN_KEY = "telemetry-admin-key-77d0"
SECRET_BODY_MARKER = "body-marker-do-not-log-5b3f"
CONFIG = {
    "suppliers": [{"id": "sup-telemetry", "name": "Acme Energy", "api_key": SUPPLIER_KEY,
                   "redirect_urls": ["https://acme.example/cb"]}],
    "manufacturers": [{"id": "mfr-telemetry", "name": "Acme Heat", "api_key": MANUFACTURER_KEY,
                       "redirect_urls": ["https://heat.acme.example/done"]}],
    "admin": {"api_key": ADMIN_KEY},
    "limits": {"requests_per_second_per_key": 0},
}


def call(base: str, method: str, path: str, headers: Dict[str, str],
         body: Optional[bytes] = None) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def start(binary: str, tmp: Path, log_format: str) -> Tuple[subprocess.Popen, str, str, Path]:
    config = tmp / "config.json"
    config.write_text(json.dumps(CONFIG))
    stdout = (tmp / f"stdout-{log_format}.txt").open("w")
    log_path = tmp / f"log-{log_format}.txt"
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
         "--config", str(config), "--store", f"sqlite:{tmp / ('store-' + log_format + '.db')}",
         "--log-format", log_format],
        stdout=stdout, stderr=log_path.open("w"), env=dict(os.environ, RUST_LOG="info"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        lines = (tmp / f"stdout-{log_format}.txt").read_text().splitlines()
        if len(lines) >= 2:
            return (process, lines[0].removeprefix("listening on "),
                    lines[1].removeprefix("admin listening on "), log_path)
        time.sleep(0.05)
    raise SystemExit(f"server did not start: {log_path.read_text()}")


def exercise(base: str, admin: str) -> Tuple[List[Tuple[str, str, int]], List[str], Dict[Tuple[str, str, int], int]]:
    """Sends a known mix; returns (request id, route, status) per request, the tokens seen
    and the expected count per (listener, route, status)."""
    sent: List[Tuple[str, str, int]] = []
    tokens: List[str] = []
    expected: Dict[Tuple[str, str, int], int] = {}

    def send(listener: str, base_url: str, method: str, path: str, route: str,
             headers: Dict[str, str], body: Optional[bytes], request_id: str) -> Tuple[int, bytes]:
        headers = dict(headers, **{"x-request-id": request_id})
        status, response_headers, payload = call(base_url, method, path, headers, body)
        assert response_headers.get("x-request-id") == request_id, (path, response_headers)
        sent.append((request_id, route, status))
        expected[(listener, route, status)] = expected.get((listener, route, status), 0) + 1
        return status, payload

    json_h = {"content-type": "application/json"}
    for i in range(5):
        body = json.dumps({"user_id": f"{SECRET_BODY_MARKER}-{i}",
                           "redirect_url": "https://acme.example/cb", "asset_type": "hp"}).encode()
        status, payload = send("public", base, "POST", "/v2/supplier/link-sessions",
                               "/v2/supplier/link-sessions", dict(json_h, **{"x-api-key": SUPPLIER_KEY}),
                               body, f"req-v2-{i}")
        assert status == 201, payload
        tokens.append(json.loads(payload)["link_token"])
    status, payload = send("public", base, "POST", "/v2/manufacturer/link-sessions",
                           "/v2/manufacturer/link-sessions",
                           dict(json_h, **{"x-api-key": MANUFACTURER_KEY}),
                           json.dumps({"user_id": SECRET_BODY_MARKER,
                                       "redirect_url": "https://heat.acme.example/done"}).encode(),
                           "req-mfr")
    assert status == 201, payload
    tokens.append(json.loads(payload)["link_token"])
    status, payload = send("public", base, "POST", f"/users/{SECRET_BODY_MARKER}/link",
                           "/users/{userId}/link", {"authorization": f"ApiKey {SUPPLIER_KEY}", **json_h},
                           json.dumps({"redirect_uri": "https://acme.example/cb"}).encode(), "req-v1")
    assert status == 201, payload
    tokens.append(json.loads(payload)["data"]["link_token"])
    status, _ = send("public", base, "POST", "/manufacturers/nox", "/manufacturers/nox",
                     dict(json_h, **{"x-api-key": MANUFACTURER_KEY}),
                     json.dumps({"manufacturer_user_id": SECRET_BODY_MARKER}).encode(), "req-connect")
    assert status == 201
    # Bad requests: wrong key, bad body, unknown route.
    status, _ = send("public", base, "POST", "/v2/supplier/link-sessions", "/v2/supplier/link-sessions",
                     dict(json_h, **{"x-api-key": "wrong-" + SUPPLIER_KEY}), b"{}", "req-bad-key")
    assert status == 401
    status, _ = send("public", base, "POST", "/v2/supplier/link-sessions", "/v2/supplier/link-sessions",
                     dict(json_h, **{"x-api-key": SUPPLIER_KEY}),
                     ('{"user_id": "' + SECRET_BODY_MARKER).encode(), "req-bad-json")
    assert status == 400
    status, _ = send("public", base, "GET", f"/nope/{SECRET_BODY_MARKER}", "unmatched", {}, None, "req-404")
    assert status == 404
    status, _ = send("public", base, "POST", "/v2/supplier/link-sessions", "/v2/supplier/link-sessions",
                     dict(json_h, **{"x-api-key": SUPPLIER_KEY}),
                     b" " * (70 * 1024), "req-413")
    assert status == 413
    # Admin: complete three, one twice, an unknown token, a missing key.
    for i, token in enumerate(tokens[:3]):
        status, _ = send("admin", admin, "POST", f"/admin/link-sessions/{token}/complete",
                         "/admin/link-sessions/{token}/complete", {"x-api-key": ADMIN_KEY}, b"", f"adm-c-{i}")
        assert status == 200
    status, _ = send("admin", admin, "POST", f"/admin/link-sessions/{tokens[0]}/complete",
                     "/admin/link-sessions/{token}/complete", {"x-api-key": ADMIN_KEY}, b"", "adm-again")
    assert status == 409
    status, _ = send("admin", admin, "GET", f"/admin/link-sessions/{tokens[4]}",
                     "/admin/link-sessions/{token}", {"x-api-key": ADMIN_KEY}, None, "adm-get")
    assert status == 200
    status, _ = send("admin", admin, "GET", f"/admin/link-sessions/{tokens[4]}",
                     "/admin/link-sessions/{token}", {}, None, "adm-nokey")
    assert status == 401
    # A client id that is not visible ASCII is replaced (and the new one echoed).
    status, headers, _ = call(base, "GET", "/health/alive", {"x-request-id": "a" * 129})
    assert status == 200 and len(headers["x-request-id"]) == 32, headers
    sent.append((headers["x-request-id"], "/health/alive", 200))
    expected[("public", "/health/alive", 200)] = 1
    return sent, tokens, expected


def check_logs(log_path: Path, sent: List[Tuple[str, str, int]], tokens: List[str], log_format: str) -> None:
    text = log_path.read_text()
    for secret in [SUPPLIER_KEY, MANUFACTURER_KEY, ADMIN_KEY, SECRET_BODY_MARKER, *tokens]:
        assert secret not in text, f"{log_format} log contains a secret: {secret[:12]}…"
    lines = text.splitlines()
    for request_id, route, status in sent:
        mine = [line for line in lines if request_id in line]
        assert len(mine) == 1, f"{request_id}: {len(mine)} lines: {mine}"
        line = mine[0]
        if log_format == "json":
            record = json.loads(line)
            assert record["request_id"] == request_id
            assert record["route"] == route, (record, route)
            assert record["status"] == status, (record, status)
            assert "latency_ms" in record and "method" in record and "timestamp" in record
            assert "caller" in record
        else:
            assert f"route={route}" in line or f'route="{route}"' in line, line
            assert f"status={status}" in line, line
    if log_format == "json":
        by_id = {json.loads(l).get("request_id"): json.loads(l) for l in lines if l.startswith("{")}
        assert by_id["req-v2-0"]["caller"] == "sup-telemetry"
        assert by_id["req-mfr"]["caller"] == "mfr-telemetry"
        started = [json.loads(l) for l in lines if l.startswith("{") and json.loads(l).get("message") == "started"]
        assert started and "store" in started[0] and "config" in started[0], lines[:3]


def check_metrics(admin: str, expected: Dict[Tuple[str, str, int], int]) -> None:
    status, _, payload = call(admin, "GET", "/metrics", {})
    assert status == 401, "metrics must need the admin key when one is configured"
    status, headers, payload = call(admin, "GET", "/metrics", {"x-api-key": ADMIN_KEY})
    assert status == 200
    families = {family.name: family for family in text_string_to_metric_families(payload.decode())}
    requests = families["nox_http_requests"]
    counted: Dict[Tuple[str, str, int], float] = {}
    for sample in requests.samples:
        if sample.name.endswith("_total"):
            key = (sample.labels["listener"].lower(), sample.labels["route"], int(sample.labels["status"]))
            counted[key] = sample.value
    # The first /metrics call (401) is counted too, once this response has been sent.
    for key, value in expected.items():
        assert counted.get(key) == value, f"{key}: expected {value}, got {counted.get(key)}"
    created = {s.labels["kind"]: s.value for s in families["nox_link_sessions_created"].samples
               if s.name.endswith("_total")}
    assert created == {"v2_supplier": 5, "v2_manufacturer": 1, "v1_supplier": 1}, created
    completed = [s.value for s in families["nox_link_sessions_completed"].samples if s.name.endswith("_total")]
    assert completed == [3], completed
    stored = {s.labels["state"]: s.value for s in families["nox_link_sessions_stored"].samples}
    assert stored == {"pending": 4, "completed": 3, "expired": 0}, stored
    assert [s.value for s in families["nox_v1_subscribers_stored"].samples] == [1]
    histogram = families["nox_http_request_duration_seconds"]
    counts = [s for s in histogram.samples if s.name.endswith("_count")
              and s.labels["route"] == "/v2/supplier/link-sessions"]
    assert counts and counts[0].value == 8, counts
    refused = {s.labels["reason"]: s.value for s in families["nox_requests_refused_by_limits"].samples
               if s.name.endswith("_total")}
    assert refused["body_too_large"] == 1 and refused["rate_limited"] == 0, refused
    open_connections = [s.value for s in families["nox_open_connections"].samples]
    assert open_connections and open_connections[0] >= 1, open_connections  # this very scrape


def main() -> None:
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for log_format in ["json", "text"]:
            process, base, admin, log_path = start(binary, tmp, log_format)
            try:
                base, admin = f"http://{base.removeprefix('http://')}", f"http://{admin.removeprefix('http://')}"
                sent, tokens, expected = exercise(base, admin)
                if log_format == "json":
                    check_metrics(admin, expected)
            finally:
                process.terminate()
                process.wait(timeout=30)
            check_logs(log_path, sent, tokens, log_format)
            print(f"telemetry ({log_format} logs): {len(sent)} requests, one line each, no secrets; metrics match")


if __name__ == "__main__":
    main()
