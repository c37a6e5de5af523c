"""Several worker processes share one state (spec decision 11): the Flask example under
gunicorn with 4 workers on one SQLite file; a session created through one worker is completed
through another, and a v1 user keeps one ``nox_user_id`` whichever worker answers."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

from conftest import EXAMPLES_DIR

ADMIN = {"x-api-key": "admin-key-for-workers"}
SUPPLIER = {"x-api-key": "demo-supplier-key", "content-type": "application/json"}
MANUFACTURER = {"x-api-key": "demo-manufacturer-key", "content-type": "application/json"}


def _call(url: str, method: str = "POST", body: Any = None,
          headers: Dict[str, str] | None = None) -> Tuple[int, Any, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["x-worker-pid"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers["x-worker-pid"]


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("workers")
    config = json.loads((EXAMPLES_DIR / "demo_config.json").read_text())
    config["store"] = f"sqlite:{tmp / 'shared.db'}"
    config["admin"] = {"api_key": ADMIN["x-api-key"]}
    config_path = tmp / "config.json"
    config_path.write_text(json.dumps(config))
    env = dict(os.environ, NOX_CONFIG=str(config_path), NOX_SERVE_ADMIN="1",
               PYTHONPATH=os.pathsep.join([str(EXAMPLES_DIR), str(Path(__file__).parent)]))
    log = (tmp / "gunicorn.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "4", "--bind", "127.0.0.1:0",
         "--log-level", "info", "workers_app:app"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        deadline = time.monotonic() + 30
        port = None
        while time.monotonic() < deadline:
            text = (tmp / "gunicorn.log").read_text()
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", text)
            if found and text.count("Booting worker") >= 4:
                port = found.group(1)
                break
            if process.poll() is not None:
                break
            time.sleep(0.1)
        assert port, (tmp / "gunicorn.log").read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _concurrently(calls: int, work: Callable[[int], Tuple[int, Any, str]]) -> List[Tuple[int, Any, str]]:
    """Runs `work(i)` for every i from as many threads at once: a sync worker serves one
    request at a time, so simultaneous requests are spread over several workers."""
    barrier = threading.Barrier(calls)

    def run(i: int) -> Tuple[int, Any, str]:
        barrier.wait()
        return work(i)

    with concurrent.futures.ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(run, range(calls)))


def test_a_session_created_by_one_worker_is_completed_by_another(gunicorn: str) -> None:
    created = _concurrently(16, lambda i: _call(f"{gunicorn}/v2/supplier/link-sessions", body={
        "user_id": f"worker-user-{i}", "redirect_url": "https://your-app.com/callback",
        "asset_type": "hp"}, headers=SUPPLIER))
    for status, body, _ in created:
        assert status == 201, body
    tokens = [(body["link_token"], pid) for _, body, pid in created]
    completed = _concurrently(16, lambda i: _call(
        f"{gunicorn}/admin/link-sessions/{tokens[i][0]}/complete", headers=ADMIN))
    across = 0
    for (token, creator), (status, body, completer) in zip(tokens, completed):
        assert status == 200, body
        assert body["state"] == "completed"
        across += completer != creator
        status, body, _ = _call(f"{gunicorn}/admin/link-sessions/{token}/complete",
                                headers=ADMIN)
        assert (status, body["code"]) == (409, "already_completed")
    # Every completion found its session, whichever worker created it; simultaneous requests
    # were answered by several workers, so some sessions crossed from one to another.
    pids = {pid for _, _, pid in created} | {pid for _, _, pid in completed}
    assert len(pids) >= 2, f"only one worker answered: {pids}"
    assert across >= 1, "no session was completed by another worker than its creator"


def test_a_v1_user_keeps_one_id_across_workers(gunicorn: str) -> None:
    ids = set()
    devices = []
    for i in range(16):
        devices.append(f"dev-{i}")
        status, body, _ = _call(f"{gunicorn}/manufacturers/nox", body={
            "manufacturer_user_id": "shared-user", "device_ids": [f"dev-{i}"]},
            headers=MANUFACTURER)
        assert status == 201, body
        ids.add(body["data"]["nox_user_id"])
    assert len(ids) == 1
    status, body, _ = _call(f"{gunicorn}/manufacturers/nox", body={
        "manufacturer_user_id": "shared-user"}, headers=MANUFACTURER)
    assert body["data"]["device_ids"] == devices
