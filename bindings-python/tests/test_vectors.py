"""The shared conformance vectors (tests/vectors/*.json), run through the Python binding.

Same cases and expected outputs as the Rust runner; the format is tests/vectors/README.md.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List

import pytest

from conftest import VECTORS_DIR, load_vector
from nox_authenticator import (
    AssetType,
    Authenticator,
    Catalog,
    CatalogError,
    NoxAuthenticatorError,
    RedirectPolicy,
    RedirectRejectedError,
    ValidationError,
    WebhookEvent,
    WebhookVerificationError,
    language_from_locale,
    negotiate_language,
    parse_language,
    sign_webhook,
    verify_webhook,
)


def _cases(file: str, key: str) -> List[Any]:
    """Cases of a vector file for parametrisation (empty list if the file is missing: the
    `test_*_file_present` tests then report the skip)."""
    path = VECTORS_DIR / file
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = data.get(key, []) if isinstance(data, dict) else []
    def ident(index: int, case: Any) -> str:
        if isinstance(case, dict):
            for key in ("name", "code", "accept_language", "locale"):
                if key in case:
                    return repr(case[key]) if key != "name" else str(case[key])
        return str(index)

    return [pytest.param(c, id=ident(i, c)) for i, c in enumerate(cases)]


@pytest.mark.parametrize("file", ["config.json", "http.json", "catalog.json", "language.json",
                                  "redirect.json", "webhooks.json"])
def test_vector_file_present(file: str) -> None:
    load_vector(file)


def test_config_vector_builds() -> None:
    config = load_vector("config.json")
    auth = Authenticator.from_config(config)
    assert "suppliers=2" in repr(auth) and "manufacturers=3" in repr(auth)


# --- http.json ---------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([^}]+)\}")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _subst(value: Any, env: Dict[str, str]) -> Any:
    if isinstance(value, str):
        def repl(match: "re.Match[str]") -> str:
            name = match.group(1)
            assert name in env, f"variable ${{{name}}} used before it was captured"
            return env[name]

        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_subst(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, env) for k, v in value.items()}
    return value


def _pointer(document: Any, pointer: str) -> Any:
    if pointer == "":
        return document
    assert pointer.startswith("/"), pointer
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(document, list):
            document = document[int(token)]
        else:
            document = document[token]
    return document


def _strict_equal(actual: Any, expected: Any) -> bool:
    """JSON deep equality: `True` is not `1`, `1.0` equals `1` only as numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return actual == expected
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and actual.keys() == expected.keys()
                and all(_strict_equal(actual[k], expected[k]) for k in expected))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(_strict_equal(a, e) for a, e in zip(actual, expected)))
    return type(actual) is type(expected) and actual == expected


def _body_bytes(http: Dict[str, Any]) -> bytes:
    given = [k for k in ("json", "text", "hex") if k in http]
    assert len(given) <= 1, f"more than one body in {http}"
    if "json" in http:
        return json.dumps(http["json"]).encode("utf-8")
    if "text" in http:
        return http["text"].encode("utf-8")
    if "hex" in http:
        return bytes.fromhex(http["hex"])
    return b""


def _run_error_or_state(step: Dict[str, Any], run: Any, label: str) -> None:
    expect = step["expect"]
    if "error" in expect:
        with pytest.raises(NoxAuthenticatorError) as caught:
            run()
        assert caught.value.code == expect["error"]["code"], label
        assert caught.value.status == expect["error"]["status"], label
    else:
        session = run()
        assert session.state(step["now"]).value == expect["state"], label
        assert session.completed_at == expect["completed_at"], label


@pytest.mark.parametrize("case", _cases("http.json", "cases"))
def test_http_vector(case: Dict[str, Any]) -> None:
    auth = Authenticator.from_json((VECTORS_DIR / "config.json").read_text(encoding="utf-8"))
    env: Dict[str, str] = {}
    for index, raw_step in enumerate(case["steps"]):
        label = f"{case['name']} step {index}"
        now = raw_step["now"]
        if "http" in raw_step:
            http = _subst(raw_step["http"], env)
            headers = [tuple(pair) for pair in http.get("headers", [])]
            response = auth.handle_http(http["method"], http["path"], headers,
                                        _body_bytes(http), now=now)
            expect = raw_step.get("expect", {})
            assert response.status == expect["status"], (label, response.body)
            for key in ("rule", "field", "did_you_mean"):
                if key in expect:
                    assert getattr(response, key) == expect[key], (label, key, response.body)
            for name, value in expect.get("headers", {}).items():
                assert response.header(name) == value, (label, name, response.headers)
            names = [n for n, _ in response.headers]
            assert all(n == n.lower() for n in names), names
            body = json.loads(response.body) if response.body else None
            for capture in raw_step.get("capture", []):
                value = _pointer(body, capture["pointer"])
                pattern = {"token": _TOKEN, "uuid": _UUID}[capture["kind"]]
                assert isinstance(value, str) and pattern.match(value), (label, capture, value)
                env[capture["name"]] = value
            if "body" in expect:
                wanted = _subst(expect["body"], env)
                assert _strict_equal(body, wanted), (label, body, wanted)
        elif "complete" in raw_step:
            token = _subst(raw_step["complete"], env)
            _run_error_or_state(raw_step, lambda: auth.complete_session(token, now=now), label)
        elif "session" in raw_step:
            token = _subst(raw_step["session"], env)
            _run_error_or_state(raw_step, lambda: auth.session(token), label)
        else:
            pytest.fail(f"{label}: no action in {raw_step}")


# --- catalog.json ------------------------------------------------------------------------

def test_catalog_version_brands_and_display_names() -> None:
    data = load_vector("catalog.json")
    catalog = Catalog.builtin()
    assert catalog.version == data["version"]
    for asset_type, slugs in data["brands"].items():
        assert [b.slug for b in catalog.brands(asset_type)] == slugs
        assert [b.slug for b in catalog.brands(AssetType(asset_type))] == slugs
    for slug, display_name in data["display_names"].items():
        brand = catalog.find(slug)
        assert brand is not None and brand.display_name == display_name


def _check_brand_error(caught: "pytest.ExceptionInfo[ValidationError]", message: str) -> None:
    error = caught.value
    assert error.message == message
    assert (error.status, error.code, error.fields) == (400, "validation_error", ("brand",))
    assert error.field == "brand"
    assert error.rule in ("brand_unknown", "brand_wrong_asset_type")


@pytest.mark.parametrize("case", _cases("catalog.json", "resolve"))
def test_catalog_resolve(case: Dict[str, Any]) -> None:
    catalog = Catalog.builtin()
    if "error" in case:
        with pytest.raises(ValidationError) as caught:
            catalog.resolve(case["asset_type"], case["spelling"])
        _check_brand_error(caught, case["error"])
    else:
        assert catalog.resolve(case["asset_type"], case["spelling"]).slug == case["slug"]


@pytest.mark.parametrize("case", _cases("catalog.json", "resolve_v1"))
def test_catalog_resolve_v1(case: Dict[str, Any]) -> None:
    catalog = Catalog.builtin()
    if "error" in case:
        with pytest.raises(ValidationError) as caught:
            catalog.resolve_v1(case["spelling"])
        _check_brand_error(caught, case["error"])
    else:
        assert catalog.resolve_v1(case["spelling"]) == case["slug"]


@pytest.mark.parametrize("case", _cases("catalog.json", "load"))
def test_catalog_load(case: Dict[str, Any]) -> None:
    if "error_field" in case:
        with pytest.raises(CatalogError) as caught:
            Catalog.from_json(case["json"])
        assert caught.value.field == case["error_field"]
        assert caught.value.code == "invalid_catalog"
    else:
        catalog = Catalog.from_json(case["json"])
        assert catalog.version == case["version"]
        for asset_type, slugs in case["brands"].items():
            assert [b.slug for b in catalog.brands(asset_type)] == slugs


# --- language.json -----------------------------------------------------------------------

def _value(language: Any) -> Any:
    return None if language is None else language.value


@pytest.mark.parametrize("case", _cases("language.json", "parse"))
def test_language_parse(case: Dict[str, Any]) -> None:
    assert _value(parse_language(case["code"])) == case["expected"]


@pytest.mark.parametrize("case", _cases("language.json", "negotiate"))
def test_language_negotiate(case: Dict[str, Any]) -> None:
    assert negotiate_language(case["accept_language"], case["default"]).value == case["expected"]


@pytest.mark.parametrize("case", _cases("language.json", "locale"))
def test_language_locale(case: Dict[str, Any]) -> None:
    assert _value(language_from_locale(case["locale"])) == case["expected"]


# --- redirect.json -----------------------------------------------------------------------

@pytest.mark.parametrize("case", _cases("redirect.json", "check"))
def test_redirect_check(case: Dict[str, Any]) -> None:
    policy = RedirectPolicy(load_vector("redirect.json")["registered"])
    if case["ok"]:
        policy.check(case["url"])
        assert policy.allows(case["url"])
    else:
        with pytest.raises(RedirectRejectedError) as caught:
            policy.check(case["url"])
        assert caught.value.reason == case["reason"]
        assert not policy.allows(case["url"])


@pytest.mark.parametrize("case", _cases("redirect.json", "register"))
def test_redirect_register(case: Dict[str, Any]) -> None:
    if case["ok"]:
        assert RedirectPolicy([case["url"]]).urls == (case["url"],)
    else:
        with pytest.raises(RedirectRejectedError) as caught:
            RedirectPolicy([case["url"]])
        assert caught.value.reason == case["reason"]
        assert caught.value.index == 0
        if "canonical" in case:
            assert caught.value.canonical == case["canonical"]


def test_redirect_none_registered() -> None:
    given = load_vector("redirect.json")["none_registered"]
    urls = given if isinstance(given, list) else [given]
    for url in urls:
        url = url["url"] if isinstance(url, dict) else url
        with pytest.raises(RedirectRejectedError) as caught:
            RedirectPolicy([]).check(url)
        assert caught.value.reason == "none_registered"


# --- webhooks.json (signatures computed by the PyPI standardwebhooks package) ----------------

@pytest.mark.parametrize("case", _cases("webhooks.json", "sign"))
def test_webhook_sign(case: Dict[str, Any]) -> None:
    signature = sign_webhook(case["secret"], case["id"], case["timestamp"],
                             case["body"].encode("utf-8"))
    assert signature == case["signature"]


def _event_dict(event: WebhookEvent) -> Dict[str, Any]:
    return {
        "id": event.id, "signed_at": event.signed_at, "type": event.type.value,
        "timestamp": event.timestamp, "kind": event.kind.value, "state": event.state.value,
        "token": event.token, "user_id": event.user_id, "link_url": event.link_url,
        "expires_at": event.expires_at, "completed_at": event.completed_at,
        "session": event.session,
    }


@pytest.mark.parametrize("case", _cases("webhooks.json", "verify"))
def test_webhook_verify(case: Dict[str, Any]) -> None:
    headers = [(name, value) for name, value in case["headers"]]
    body = case["body"].encode("utf-8")
    if "event" in case["expect"]:
        event = verify_webhook(case["secrets"], headers, body, now=case["now"])
        assert _event_dict(event) == case["expect"]["event"]
        # The session dict keeps the wire's key order.
        assert list(event.session) == list(case["expect"]["event"]["session"])
    else:
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(case["secrets"], headers, body, now=case["now"])
        expected = case["expect"]["error"]
        assert (caught.value.code, caught.value.field) == (expected["code"], expected["field"])
        assert caught.value.status == (500 if expected["code"] == "invalid_secret" else 400)


@pytest.mark.parametrize("case", _cases("webhooks.json", "secrets"))
def test_webhook_secret(case: Dict[str, Any]) -> None:
    if case["ok"]:
        assert sign_webhook(case["secret"], "msg", 0, b"").startswith("v1,")
    else:
        with pytest.raises(WebhookVerificationError) as caught:
            sign_webhook(case["secret"], "msg", 0, b"")
        assert caught.value.code == case["code"]
