"""The examples run: the Flask app serves all four endpoints over real HTTP on loopback, and
the create-and-complete script runs to its end."""

from __future__ import annotations

import json
import runpy
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, Tuple

import pytest
from werkzeug.serving import make_server

from conftest import EXAMPLES_DIR
from nox_authenticator import Authenticator


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from flask_app import create_app

    auth = Authenticator.from_json((EXAMPLES_DIR / "demo_config.json").read_text())
    server = make_server("127.0.0.1", 0, create_app(auth), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _call(url: str, method: str = "POST", body: Any = None,
          headers: Dict[str, str] | None = None) -> Tuple[int, Any, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


SUPPLIER = {"x-api-key": "demo-supplier-key", "content-type": "application/json"}
MANUFACTURER = {"x-api-key": "demo-manufacturer-key", "content-type": "application/json"}


def test_v2_supplier_over_http(base_url: str) -> None:
    status, headers, body = _call(f"{base_url}/v2/supplier/link-sessions", body={
        "user_id": "u1", "redirect_url": "https://your-app.com/callback", "asset_type": "hp",
        "brand": "alpha innotec"}, headers=SUPPLIER)
    assert status == 201 and body["brand"] == "alpha-innotec"
    assert headers["Cache-Control"] == "no-store"
    status, _, body = _call(f"{base_url}/v2/supplier/link-sessions", body={}, headers=SUPPLIER)
    assert (status, body) == (400, {"error": "Missing required fields: user_id, redirect_url, asset_type"})


def test_v2_manufacturer_over_http(base_url: str) -> None:
    status, _, body = _call(f"{base_url}/v2/manufacturer/link-sessions", body={
        "user_id": "m1", "redirect_url": "https://heat.acme.example/nox/done"},
        headers=MANUFACTURER)
    assert status == 201 and body["manufacturer"] == "Acme Manufacturing"


def test_v1_endpoints_over_http(base_url: str) -> None:
    status, _, body = _call(f"{base_url}/users/user%2042/link", body={
        "redirect_uri": "https://your-app.com/callback"}, headers=SUPPLIER)
    assert status == 201 and body["success"] is True
    assert body["data"]["supplier_user_id"] == "user 42"
    status, _, body = _call(f"{base_url}/manufacturers/nox", body={
        "manufacturer_user_id": "mu", "device_ids": ["d1"]}, headers=MANUFACTURER)
    assert status == 201 and body["data"]["device_ids"] == ["d1"]
    status, _, body = _call(f"{base_url}/manufacturers/nox", body={"manufacturer_user_id": "mu"})
    assert status == 401 and body["error_code"] == "missing_api_key"


def test_errors_over_http(base_url: str) -> None:
    status, headers, _ = _call(f"{base_url}/v2/supplier/link-sessions", method="GET")
    assert status == 405 and headers["Allow"] == "POST"
    status, _, _ = _call(f"{base_url}/nowhere", method="GET")
    assert status == 404
    status, _, _ = _call(f"{base_url}/", method="DELETE")
    assert status == 404


def test_create_and_complete_script(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES_DIR / "create_and_complete.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "completed at:" in out and "second completion refused: already_completed 409" in out
