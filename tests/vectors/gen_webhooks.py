#!/usr/bin/env python3
"""Writes tests/vectors/webhooks.json: the Standard Webhooks signing and verification table.

Every expected signature in the file is computed here by the independent ``standardwebhooks``
package from PyPI (pinned in bindings-python/requirements-dev.txt), not by this library, so the
vectors are not self-referential. For each verification case the script also records whether
that package's own verifier accepts it (``standardwebhooks_pypi``), with its clock frozen at the
case's ``now``; the cases where it differs from ours are the stricter rules of spec decision 20
(secret length, canonical timestamps, the event body's shape). The file's format is described in
tests/vectors/README.md.

Run once after changing the table, and commit the output:

    bindings-python/.venv/bin/python tests/vectors/gen_webhooks.py
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import standardwebhooks.webhooks as sw
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

OUT = Path(__file__).with_name("webhooks.json")

# The Standard Webhooks specification's own example secret (24 bytes), and two more of 32 bytes.
PRIMARY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ROTATED = "whsec_" + base64.b64encode(hashlib.sha256(b"nox webhook vectors: rotated").digest()).decode()
WRONG = "whsec_" + base64.b64encode(hashlib.sha256(b"nox webhook vectors: wrong").digest()).decode()

SIGNED_AT = 1_796_165_477  # 2026-12-01T22:51:17Z
NOW = SIGNED_AT + 3


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The PyPI package's signature (its `sign` takes a datetime and floors it to seconds)."""
    return Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=timezone.utc), body)


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def rfc3339(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


TOKEN_S = "hK3v9WqZ0bXe7LmN2pRt5YuI8oAsDfGjKlZxCvBnM1Q"
TOKEN_M = "Qm1NnBvCxZlKjGfDsAo8IuY5tRp2NmL7eXb0ZqW9v3K"
TOKEN_1 = "v1TokenAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

SESSION_V2_SUPPLIER = {
    "link_url": f"https://auth.nox.energy/ui?token={TOKEN_S}&language=nl",
    "link_token": TOKEN_S,
    "brand": "alpha-innotec",
    "language": "nl",
    "asset_type": "hp",
    "redirect_url": "https://your-app.com/callback",
    "supplier": "Acme Energy",
    "supplier_user_id": "user-1",
    "completed_at": SIGNED_AT,
    "created_at": SIGNED_AT - 120,
    "expires_at": SIGNED_AT + 480,
}
SESSION_V2_MANUFACTURER = {
    "link_url": f"https://auth.nox.energy/ui?token={TOKEN_M}&language=fr",
    "link_token": TOKEN_M,
    "brand": "Acme Heat-Pumps",
    "language": "fr",
    "redirect_url": "https://acme-heatpumps.example/done",
    "manufacturer": "Acme Heat Pumps",
    "manufacturer_user_id": "Zoë-42",
    "completed_at": SIGNED_AT - 1,
    "created_at": SIGNED_AT - 30,
    "expires_at": SIGNED_AT + 570,
}
SESSION_V1_SUPPLIER = {
    "link_token": TOKEN_1,
    "link_url": f"https://auth.nox.energy/link?token={TOKEN_1}",
    "expires_at": SIGNED_AT - 40,
    "supplier_id": "supplier_123",
    "supplier_user_id": "legacy-7",
}


def event_body(event_type: str, timestamp: int, kind: str, state: str, session: dict) -> str:
    return compact(
        {
            "type": event_type,
            "timestamp": rfc3339(timestamp),
            "data": {"kind": kind, "state": state, "session": session},
        }
    )


BODY_S = event_body("link_session.completed", SIGNED_AT, "v2_supplier", "completed", SESSION_V2_SUPPLIER)
BODY_M = event_body(
    "link_session.completed", SIGNED_AT - 1, "v2_manufacturer", "completed", SESSION_V2_MANUFACTURER
)
BODY_1 = event_body("link_session.expired", SIGNED_AT - 20, "v1_supplier", "expired", SESSION_V1_SUPPLIER)
# Signed correctly, but not a completion event (the specification's example payload).
BODY_NOT_EVENT = '{"test": 2432232314}'


def expected_event(msg_id: str, body: str, signed_at: int = SIGNED_AT) -> dict:
    parsed = json.loads(body)
    data = parsed["data"]
    session = data["session"]
    user_key = "manufacturer_user_id" if data["kind"] == "v2_manufacturer" else "supplier_user_id"
    return {
        "id": msg_id,
        "signed_at": signed_at,
        "type": parsed["type"],
        "timestamp": int(datetime.strptime(parsed["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
                         .replace(tzinfo=timezone.utc).timestamp()),
        "kind": data["kind"],
        "state": data["state"],
        "token": session["link_token"],
        "user_id": session[user_key],
        "link_url": session["link_url"],
        "expires_at": session["expires_at"],
        "completed_at": session.get("completed_at"),
        "session": session,
    }


def headers(msg_id: Optional[str], timestamp: Optional[str], signature: Optional[str]) -> List[List[str]]:
    out = []
    for name, value in (("webhook-id", msg_id), ("webhook-timestamp", timestamp),
                        ("webhook-signature", signature)):
        if value is not None:
            out.append([name, value])
    return out


def pypi_accepts(secrets: List[str], hdrs: List[List[str]], body: str, now: int) -> bool:
    """Whether the PyPI package's verifier accepts the message under any of the secrets, with
    its clock frozen at `now`. Any exception is a refusal (it raises ValueError for some
    malformed signature lists)."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.fromtimestamp(now, tz=tz)

    real = sw.datetime
    sw.datetime = Frozen  # type: ignore[misc]
    try:
        for secret in secrets:
            try:
                Webhook(secret).verify(body, {k: v for k, v in hdrs}, json_parse=False)
                return True
            except Exception:
                continue
        return False
    finally:
        sw.datetime = real  # type: ignore[misc]


def main() -> None:
    sign_cases = [
        {"name": "specification example", "secret": PRIMARY, "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
         "timestamp": 1_614_265_330, "body": '{"test": 2432232314}'},
        {"name": "v2 supplier completed", "secret": PRIMARY, "id": "msg_2wbH8kzQeT0xvX6L",
         "timestamp": SIGNED_AT, "body": BODY_S},
        {"name": "v2 manufacturer completed, non-ASCII body", "secret": ROTATED,
         "id": "msg_3Kd91LmQ0pZ", "timestamp": SIGNED_AT, "body": BODY_M},
        {"name": "v1 supplier expired", "secret": ROTATED, "id": "msg_v1_expired_1",
         "timestamp": SIGNED_AT, "body": BODY_1},
        {"name": "empty body, epoch", "secret": WRONG, "id": "msg_0", "timestamp": 0, "body": ""},
    ]
    for case in sign_cases:
        case["signature"] = sign(case["secret"], case["id"], case["timestamp"], case["body"])

    ts = str(SIGNED_AT)
    sig_s = sign(PRIMARY, "msg_2wbH8kzQeT0xvX6L", SIGNED_AT, BODY_S)
    sig_m = sign(ROTATED, "msg_3Kd91LmQ0pZ", SIGNED_AT, BODY_M)
    sig_1 = sign(ROTATED, "msg_v1_expired_1", SIGNED_AT, BODY_1)
    sig_s_wrong = sign(WRONG, "msg_2wbH8kzQeT0xvX6L", SIGNED_AT, BODY_S)
    sig_s_rotated = sign(ROTATED, "msg_2wbH8kzQeT0xvX6L", SIGNED_AT, BODY_S)
    sig_not_event = sign(PRIMARY, "msg_not_event", SIGNED_AT, BODY_NOT_EVENT)
    raw_s = sig_s.split(",", 1)[1]
    ok_s = {"event": expected_event("msg_2wbH8kzQeT0xvX6L", BODY_S)}
    hdr_s = headers("msg_2wbH8kzQeT0xvX6L", ts, sig_s)

    def refused(code: str, field: Optional[str]) -> dict:
        return {"error": {"code": code, "field": field}}

    verify_cases: List[Dict[str, Any]] = [
        {"name": "v2 supplier completed", "secrets": [PRIMARY], "headers": hdr_s, "body": BODY_S,
         "now": NOW, "expect": ok_s},
        {"name": "v2 manufacturer completed, non-ASCII body", "secrets": [ROTATED],
         "headers": headers("msg_3Kd91LmQ0pZ", ts, sig_m), "body": BODY_M, "now": NOW,
         "expect": {"event": expected_event("msg_3Kd91LmQ0pZ", BODY_M)}},
        {"name": "v1 supplier expired (no completed_at in the v1 body)", "secrets": [ROTATED],
         "headers": headers("msg_v1_expired_1", ts, sig_1), "body": BODY_1, "now": NOW,
         "expect": {"event": expected_event("msg_v1_expired_1", BODY_1)}},
        {"name": "header names in any case", "secrets": [PRIMARY],
         "headers": [["Webhook-Id", "msg_2wbH8kzQeT0xvX6L"], ["WEBHOOK-TIMESTAMP", ts],
                     ["Webhook-Signature", sig_s]],
         "body": BODY_S, "now": NOW, "expect": ok_s},
        {"name": "timestamp exactly 5 minutes old", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S, "now": SIGNED_AT + 300, "expect": ok_s},
        {"name": "timestamp exactly 5 minutes ahead", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S, "now": SIGNED_AT - 300, "expect": ok_s},
        {"name": "rotation: two signatures in the header, the second valid", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, f"{sig_s_rotated} {sig_s}"),
         "body": BODY_S, "now": NOW, "expect": ok_s},
        {"name": "rotation: two signatures in the header, the first valid", "secrets": [ROTATED],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, f"{sig_s_rotated} {sig_s}"),
         "body": BODY_S, "now": NOW, "expect": ok_s},
        {"name": "rotation: the receiver holds the old and the new secret", "secrets": [WRONG, PRIMARY],
         "headers": hdr_s, "body": BODY_S, "now": NOW, "expect": ok_s},
        {"name": "unknown signature versions are ignored", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, f"v1a,{raw_s} v2,{raw_s} {sig_s}"),
         "body": BODY_S, "now": NOW, "expect": ok_s},
        {"name": "changed body", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S.replace('"user-1"', '"user-2"'), "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "body with a trailing newline", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S + "\n", "now": NOW, "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "changed timestamp", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", str(SIGNED_AT + 1), sig_s), "body": BODY_S,
         "now": NOW, "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "changed id", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6M", ts, sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "wrong secret", "secrets": [WRONG], "headers": hdr_s, "body": BODY_S, "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "signed by another secret", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, sig_s_wrong), "body": BODY_S, "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "old timestamp (5 minutes and 1 second)", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S, "now": SIGNED_AT + 301,
         "expect": refused("timestamp_too_old", "webhook-timestamp")},
        {"name": "future timestamp (5 minutes and 1 second)", "secrets": [PRIMARY], "headers": hdr_s,
         "body": BODY_S, "now": SIGNED_AT - 301,
         "expect": refused("timestamp_too_new", "webhook-timestamp")},
        {"name": "old timestamp with a bad signature: the time is checked first", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, sig_s_wrong), "body": BODY_S,
         "now": SIGNED_AT + 3600, "expect": refused("timestamp_too_old", "webhook-timestamp")},
        {"name": "missing webhook-id", "secrets": [PRIMARY], "headers": headers(None, ts, sig_s),
         "body": BODY_S, "now": NOW, "expect": refused("missing_header", "webhook-id")},
        {"name": "missing webhook-timestamp", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", None, sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("missing_header", "webhook-timestamp")},
        {"name": "missing webhook-signature", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, None), "body": BODY_S, "now": NOW,
         "expect": refused("missing_header", "webhook-signature")},
        {"name": "empty webhook-signature", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, ""), "body": BODY_S, "now": NOW,
         "expect": refused("missing_header", "webhook-signature")},
        {"name": "no headers at all: the id is named first", "secrets": [PRIMARY], "headers": [],
         "body": BODY_S, "now": NOW, "expect": refused("missing_header", "webhook-id")},
        {"name": "timestamp not a number", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", "yesterday", sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("invalid_timestamp", "webhook-timestamp")},
        {"name": "timestamp in milliseconds", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts + "000", sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("timestamp_too_new", "webhook-timestamp")},
        {"name": "timestamp with a sign", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", "+" + ts, sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("invalid_timestamp", "webhook-timestamp")},
        {"name": "timestamp with a fraction", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts + ".0", sig_s), "body": BODY_S, "now": NOW,
         "expect": refused("invalid_timestamp", "webhook-timestamp")},
        {"name": "malformed signature list: no version", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, raw_s), "body": BODY_S, "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "malformed signature list: not base64", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, "v1,***not-base64*** v1,"), "body": BODY_S,
         "now": NOW, "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "malformed signature list: comma-separated", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, f"{sig_s_wrong},{sig_s}"), "body": BODY_S,
         "now": NOW, "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "only an unknown version carries the right signature", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, f"v2,{raw_s}"), "body": BODY_S, "now": NOW,
         "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "truncated signature", "secrets": [PRIMARY],
         "headers": headers("msg_2wbH8kzQeT0xvX6L", ts, sig_s[:-8] + "="), "body": BODY_S,
         "now": NOW, "expect": refused("no_valid_signature", "webhook-signature")},
        {"name": "receiver's secret too short", "secrets": ["whsec_" + base64.b64encode(b"x" * 16).decode()],
         "headers": hdr_s, "body": BODY_S, "now": NOW, "expect": refused("invalid_secret", None)},
        {"name": "receiver's secret without whsec_", "secrets": [PRIMARY[len("whsec_"):]],
         "headers": hdr_s, "body": BODY_S, "now": NOW, "expect": refused("invalid_secret", None)},
        {"name": "receiver gives no secret", "secrets": [], "headers": hdr_s, "body": BODY_S,
         "now": NOW, "expect": refused("invalid_secret", None)},
        {"name": "signed, but not a completion event", "secrets": [PRIMARY],
         "headers": headers("msg_not_event", ts, sig_not_event), "body": BODY_NOT_EVENT, "now": NOW,
         "expect": refused("invalid_body", "type")},
    ]
    for case in verify_cases:
        case["standardwebhooks_pypi"] = pypi_accepts(case["secrets"], case["headers"], case["body"],
                                                     case["now"])
    # The package must agree with us wherever only the scheme is concerned, or the table is wrong.
    ours_stricter = {"receiver's secret too short", "receiver's secret without whsec_",
                     "signed, but not a completion event", "timestamp with a sign",
                     "timestamp with a fraction"}
    for case in verify_cases:
        ours = "event" in case["expect"]
        if case["name"] not in ours_stricter:
            assert case["standardwebhooks_pypi"] == ours, case["name"]

    secrets = [
        {"name": "specification example (24 bytes)", "secret": PRIMARY, "ok": True, "bytes": 24},
        {"name": "32 bytes", "secret": ROTATED, "ok": True, "bytes": 32},
        {"name": "64 bytes", "secret": "whsec_" + base64.b64encode(bytes(range(64))).decode(),
         "ok": True, "bytes": 64},
        {"name": "no prefix", "secret": PRIMARY[len("whsec_"):], "ok": False},
        {"name": "prefix in upper case", "secret": "WHSEC_" + PRIMARY[len("whsec_"):], "ok": False},
        {"name": "empty", "secret": "", "ok": False},
        {"name": "prefix only", "secret": "whsec_", "ok": False},
        {"name": "23 bytes", "secret": "whsec_" + base64.b64encode(b"y" * 23).decode(), "ok": False},
        {"name": "not base64", "secret": "whsec_this is not base64!", "ok": False},
        {"name": "URL-safe alphabet", "secret": "whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),
         "ok": False},
        {"name": "missing padding", "secret": "whsec_" + base64.b64encode(b"z" * 25).decode().rstrip("="),
         "ok": False},
        {"name": "trailing newline", "secret": PRIMARY + "\n", "ok": False},
    ]
    for case in secrets:
        if not case["ok"]:
            case["code"] = "invalid_secret"

    out = {
        "generated_by": "tests/vectors/gen_webhooks.py with standardwebhooks "
                        f"{__import__('importlib.metadata').metadata.version('standardwebhooks')} (PyPI)",
        "sign": sign_cases,
        "verify": verify_cases,
        "secrets": secrets,
    }
    OUT.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(sign_cases)} sign, {len(verify_cases)} verify, {len(secrets)} secret cases")


if __name__ == "__main__":
    main()
