"""Schemathesis hooks for scripts/prove/conformance.sh.

Two things, each recorded in docs/conformance.md; nothing else is changed:

1. `map_case` steers *positive* (schema-valid) cases into the part of the schema that the
   documents' own prose and the product decisions (../shared/spec/README.md) allow, so that
   schema-valid requests can reach 201 and the 201 bodies get checked at all:
   - `redirect_url` / `redirect_uri` becomes a URL registered for the caller (v1 prose "Must
     be registered with your supplier account", decision 5: exact match);
   - ids (`user_id`, `userId`, `manufacturer_user_id`, `device_ids` items) that are empty,
     longer than 255 characters or contain control characters get a plain value (decision 4:
     an empty field is a 400; 255 characters and no control characters are the core's limits);
     at most 100 `device_ids` (the core's limit);
   - v2 supplier: `asset_type` follows a given `brand` (decision 1, and the document's own
     description "Must be a valid brand for the given `asset_type`");
   - v1 supplier: `language` outside nl, en, fr, es becomes `en` (the v1 document types it as a
     free string; we serve the four languages of the v2 documents).
   Negative cases are never touched.

2. `filter_failure` waives two kinds of failure only:
   - "undocumented status code" 415 when the request did not declare `Content-Type:
     application/json` (the documents declare only `application/json` bodies; what to answer to
     anything else is left open, and we answer 415);
   - "schema-valid request rejected" when the 400 names the core's id limits (empty, longer
     than 255 characters, control characters) for `userId`, `user_id`,
     `manufacturer_user_id` or `device_ids`: the documents type ids as any string; `map_case`
     steers body ids, but schemathesis also derives cases (for example from path parameters)
     that bypass it.
   Each waiver is appended to $PROVE_WAIVERS so the run reports how many there were.
"""

from __future__ import annotations

import json
import os
import zlib

import schemathesis
from schemathesis.generation import GenerationMode

SUPPLIER_URLS = [
    "https://your-app.com/callback",
    "https://your-app.com/callback?source=nox",
    "http://127.0.0.1/callback",
]
MANUFACTURER_URLS = ["https://your-app.com/callback", "https://heat.acme.example/nox/done"]
HP = {
    "alpha-innotec", "atlantic", "bosch", "buderus", "bulex", "ctc", "daikin", "dewarmte",
    "fujitsu", "hitachi", "ivt", "jaspi", "lg", "midea", "mitsubishi", "nibe", "panasonic",
    "samsung", "sanyo", "saunier-duval", "thermia", "thermor", "toshiba", "vaillant", "viessmann",
}
LANGUAGES = {"nl", "en", "fr", "es"}


def _pick(options: list[str], seed: object) -> str:
    return options[zlib.crc32(repr(seed).encode()) % len(options)]


def _id_ok(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 255
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)
    )


def _fix_id(value: object) -> object:
    if isinstance(value, str) and not _id_ok(value):
        return "user-" + str(zlib.crc32(value.encode("utf-8", "surrogatepass")))
    return value


@schemathesis.hook
def map_case(context, case):
    meta = getattr(case, "_meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return case
    path = case.operation.path
    body = case.body if isinstance(case.body, dict) else None
    if path.startswith("/users/"):
        user = case.path_parameters.get("userId")
        case.path_parameters["userId"] = _fix_id(user)
    if body is None:
        return case
    if "redirect_url" in body:
        urls = SUPPLIER_URLS if path.startswith("/supplier") else MANUFACTURER_URLS
        body["redirect_url"] = _pick(urls, body["redirect_url"])
    if "redirect_uri" in body:
        body["redirect_uri"] = _pick(SUPPLIER_URLS, body["redirect_uri"])
    for field in ("user_id", "manufacturer_user_id"):
        if field in body:
            body[field] = _fix_id(body[field])
    if isinstance(body.get("device_ids"), list):
        body["device_ids"] = [_fix_id(d) for d in body["device_ids"][:100]]
    if path == "/supplier/link-sessions" and isinstance(body.get("brand"), str):
        body["asset_type"] = "hp" if body["brand"] in HP else "pv"
    if path.startswith("/users/") and isinstance(body.get("language"), str):
        if body["language"].lower() not in LANGUAGES:
            body["language"] = "en"
    return case


ID_LIMIT_MESSAGES = ("must not be empty", "must be at most 255 characters",
                     "must not contain control characters")
ID_FIELDS = ("userId ", "user_id ", "manufacturer_user_id ", "device_ids[")


def _waive(record: dict) -> bool:
    path = os.environ.get("PROVE_WAIVERS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    return False


def _error_message(response) -> str:
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return ""
    return body.get("error", "") if isinstance(body, dict) else ""


@schemathesis.hook
def filter_failure(context, failure, case, response):
    code = getattr(failure, "code", None)
    if code == "ST103" and getattr(failure, "status_code", None) == 415:
        headers = {k.lower(): v for k, v in (response.request.headers or {}).items()}
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return _waive({"code": code, "status": 415, "content_type": headers.get("content-type")})
    if code == "ST202" and response.status_code == 400:
        message = _error_message(response)
        if message.startswith(ID_FIELDS) and message.endswith(ID_LIMIT_MESSAGES):
            return _waive({"code": code, "status": 400, "error": message})
    return True
