"""The type stub matches the built module (mypy.stubtest), and typed usage checks with mypy."""

from __future__ import annotations

import subprocess
import sys

from conftest import BINDING_DIR, EXAMPLES_DIR


def test_stubtest() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "nox_authenticator",
         "--allowlist", str(BINDING_DIR / "stubtest-allowlist.txt")],
        capture_output=True, text=True, cwd="/",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_examples_type_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         str(EXAMPLES_DIR / "create_and_complete.py"), str(EXAMPLES_DIR / "flask_app.py")],
        capture_output=True, text=True, cwd="/",
    )
    assert result.returncode == 0, result.stdout + result.stderr
