"""Shared fixtures: where the repository, the shared vectors and the examples are."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

BINDING_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BINDING_DIR.parent
VECTORS_DIR = Path(os.environ.get("NOX_VECTORS_DIR", REPO_DIR / "tests" / "vectors"))
EXAMPLES_DIR = BINDING_DIR / "examples"

# The examples are plain scripts, imported by the tests that run them.
sys.path.insert(0, str(EXAMPLES_DIR))

# Demo configuration of the README quick start and most API tests.
DEMO_CONFIG: dict[str, Any] = {
    "suppliers": [
        {
            "id": "supplier_123",
            "name": "Acme Energy",
            "api_key": "supplier-key",
            "redirect_urls": ["https://your-app.com/callback", "http://127.0.0.1/callback"],
        },
        {"id": "supplier_empty", "name": "Empty Energy", "api_key": "empty-key"},
    ],
    "manufacturers": [
        {
            "id": "manufacturer_acme",
            "name": "Acme Manufacturing",
            "brand": "acme heat-pumps",
            "api_key": "manufacturer-key",
            "redirect_urls": ["https://heat.acme.example/nox/done"],
        },
        {
            "id": "manufacturer_sleepy",
            "name": "Sleepy Solar",
            "enabled": False,
            "api_key": "disabled-key",
            "redirect_urls": ["https://sleepy.example/callback"],
        },
    ],
}

NOW = 1_703_123_456


def load_vector(name: str) -> Any:
    """A vector file, or a skip (with the reason) while it is not written yet."""
    path = VECTORS_DIR / name
    if not path.exists():
        pytest.skip(f"vector file {path} is not there yet")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def auth() -> Any:
    from nox_authenticator import Authenticator

    return Authenticator.from_config(DEMO_CONFIG, seed=1)
