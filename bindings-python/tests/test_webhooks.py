"""Completion events (Standard Webhooks) through the Python binding: the API's shapes and
errors, and cross-verification with the independent ``standardwebhooks`` package from PyPI in
both directions (the shared table is in test_vectors.py)."""

from __future__ import annotations

import base64
import json
import os
import pickle
import time
from datetime import datetime, timezone
from typing import Dict

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError as PypiError

from conftest import load_vector
from nox_authenticator import (
    NoxAuthenticatorError,
    SessionKind,
    SessionState,
    WebhookEvent,
    WebhookEventType,
    WebhookVerificationError,
    sign_webhook,
    verify_webhook,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _bodies() -> Dict[str, str]:
    """The event bodies of the shared vectors, by case name."""
    return {case["name"]: case["body"] for case in load_vector("webhooks.json")["sign"]
            if case["body"].startswith('{"type"')}


def _random_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def _headers(msg_id: str, timestamp: int, signature: str) -> Dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature}


def test_event_types_mirror_the_core() -> None:
    assert [(t.name, t.value) for t in WebhookEventType] == [
        ("LINK_SESSION_COMPLETED", "link_session.completed"),
        ("LINK_SESSION_EXPIRED", "link_session.expired")]


# --- cross-verification with the PyPI package ---------------------------------------------

@pytest.mark.parametrize("name", sorted(_bodies()))
def test_library_signed_events_verify_with_the_pypi_package(name: str) -> None:
    body = _bodies()[name]
    secret = _random_secret()
    now = int(time.time())
    msg_id = "msg_" + base64.urlsafe_b64encode(os.urandom(12)).decode()
    headers = _headers(msg_id, now, sign_webhook(secret, msg_id, now, body.encode()))
    assert Webhook(secret).verify(body.encode(), headers) == json.loads(body)
    # And the package refuses what the library would refuse.
    with pytest.raises(PypiError):
        Webhook(secret).verify((body + " ").encode(), headers)
    with pytest.raises(PypiError):
        Webhook(_random_secret()).verify(body.encode(), headers)


@pytest.mark.parametrize("name", sorted(_bodies()))
def test_pypi_signed_events_verify_with_the_library(name: str) -> None:
    body = _bodies()[name]
    secret = _random_secret()
    now = datetime.now(tz=timezone.utc)
    signature = Webhook(secret).sign("msg_pypi_1", now, body)
    headers = _headers("msg_pypi_1", int(now.timestamp()), signature)
    event = verify_webhook(secret, headers, body.encode())  # the system clock
    assert event.id == "msg_pypi_1"
    assert event.session == json.loads(body)["data"]["session"]
    for changed in ({**headers, "webhook-id": "msg_pypi_2"},
                    {**headers, "webhook-timestamp": str(int(now.timestamp()) + 1)}):
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(secret, changed, body.encode())
        assert caught.value.code == "no_valid_signature"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(secret, headers, body.encode(), now=int(now.timestamp()) + 301)
    assert caught.value.code == "timestamp_too_old"


def test_rotation_across_packages() -> None:
    """The sender signs with the old and the new secret (PyPI), a receiver holding either
    passes; a receiver holding both passes a message signed by one."""
    body = _bodies()["v1 supplier expired"]
    old, new = _random_secret(), _random_secret()
    now = datetime.now(tz=timezone.utc)
    both = f"{Webhook(old).sign('msg_r', now, body)} {Webhook(new).sign('msg_r', now, body)}"
    headers = _headers("msg_r", int(now.timestamp()), both)
    assert verify_webhook(old, headers, body).id == "msg_r"
    assert verify_webhook(new, headers, body).id == "msg_r"
    only_new = _headers("msg_r", int(now.timestamp()), Webhook(new).sign("msg_r", now, body))
    assert verify_webhook([old, new], only_new, body).id == "msg_r"
    with pytest.raises(WebhookVerificationError):
        verify_webhook([old], only_new, body)


# --- the API ------------------------------------------------------------------------------

def _signed() -> tuple:
    body = _bodies()["v2 supplier completed"]
    now = 1_796_165_477
    return body, now, _headers("msg_1", now, sign_webhook(SECRET, "msg_1", now, body))


def test_the_event_is_typed() -> None:
    body, now, headers = _signed()
    event = verify_webhook(SECRET, headers, body, now=now)
    assert isinstance(event, WebhookEvent)
    assert event.type is WebhookEventType.LINK_SESSION_COMPLETED
    assert event.kind is SessionKind.V2_SUPPLIER and event.state is SessionState.COMPLETED
    assert (event.timestamp, event.signed_at, event.completed_at) == (now, now, now)
    assert event.session["supplier"] == "Acme Energy"
    assert event.user_id == "user-1"
    assert event == verify_webhook([SECRET], list(headers.items()), body.encode(), now=now)
    assert event.token not in repr(event) and "msg_1" in repr(event)


def test_headers_and_bodies_in_every_shape() -> None:
    body, now, headers = _signed()
    for given_body in (body, body.encode(), bytearray(body.encode()), memoryview(body.encode())):
        assert verify_webhook(SECRET, headers, given_body, now=now).id == "msg_1"
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify_webhook((SECRET,), upper.items(), body, now=now).id == "msg_1"


def test_refusals_are_webhook_verification_errors() -> None:
    body, now, headers = _signed()
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(SECRET, {k: v for k, v in headers.items() if k != "webhook-id"}, body,
                       now=now)
    error = caught.value
    assert isinstance(error, NoxAuthenticatorError) and isinstance(error, ValueError)
    assert (error.code, error.field, error.fields, error.status) == (
        "missing_header", "webhook-id", ("webhook-id",), 400)
    assert str(error) == "Missing webhook-id header"
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.code, copy.field) == (WebhookVerificationError, "missing_header",
                                                    "webhook-id")
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook("whsec_c2hvcnQ=", headers, body, now=now)
    assert (caught.value.code, caught.value.status, caught.value.field) == (
        "invalid_secret", 500, None)
    assert "c2hvcnQ" not in str(caught.value)


def test_wrong_argument_types_are_type_errors() -> None:
    body, now, headers = _signed()
    with pytest.raises(TypeError):
        verify_webhook(42, headers, body, now=now)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook([SECRET, 42], headers, body, now=now)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        verify_webhook(SECRET, "webhook-id: x", body, now=now)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_webhook(SECRET, headers, 42, now=now)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sign_webhook(SECRET, "msg", "now", body)  # type: ignore[arg-type]
