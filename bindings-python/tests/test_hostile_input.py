"""Wrong types, None, huge strings and bytes that are not UTF-8: clear exceptions, no crash."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from conftest import NOW
from nox_authenticator import Authenticator, NoxAuthenticatorError, ValidationError

CALLBACK = "https://your-app.com/callback"
HUGE = "x" * 5_000_000


def _supplier(auth: Authenticator, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = dict(api_key="supplier-key", user_id="u", redirect_url=CALLBACK,
                                  asset_type="hp", now=NOW)
    kwargs.update(overrides)
    return auth.create_supplier_link_session(**kwargs)


@pytest.mark.parametrize("field,value", [
    ("user_id", 42), ("user_id", b"bytes"), ("redirect_url", ["list"]), ("asset_type", 1.5),
    ("brand", object()), ("language", 3), ("api_key", 7), ("now", 1.5), ("now", "soon"),
])
def test_wrong_types_raise_type_error(auth: Authenticator, field: str, value: Any) -> None:
    with pytest.raises(TypeError):
        _supplier(auth, **{field: value})


def test_lone_surrogates_are_refused(auth: Authenticator) -> None:
    with pytest.raises(UnicodeEncodeError):
        _supplier(auth, user_id="\udcff")
    with pytest.raises(UnicodeEncodeError):
        auth.handle_http("POST", "/v2/supplier/link-sessions", {"x-api-key": "supplier-key"},
                         "\udcff")


@pytest.mark.parametrize("field", ["user_id", "redirect_url", "asset_type", "brand", "language"])
def test_huge_strings_are_validation_errors(auth: Authenticator, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _supplier(auth, **{field: HUGE})
    assert len(caught.value.message) < 1000


def test_huge_and_odd_values_elsewhere(auth: Authenticator) -> None:
    from nox_authenticator import (Catalog, RedirectPolicy, language_from_locale,
                                   negotiate_language, parse_language, parse_link_url)

    assert parse_language(HUGE) is None and language_from_locale(HUGE) is None
    assert negotiate_language(",".join(["de"] * 100_000)).value == "nl"
    with pytest.raises(ValidationError):
        parse_link_url(HUGE)
    with pytest.raises(ValidationError):
        RedirectPolicy([CALLBACK]).check(HUGE)
    with pytest.raises(NoxAuthenticatorError):
        Catalog.from_json(HUGE)
    with pytest.raises(NoxAuthenticatorError):
        auth.session(HUGE)
    with pytest.raises(NoxAuthenticatorError):
        auth.complete_session(HUGE)
    with pytest.raises(TypeError):
        RedirectPolicy("https://not-a-list.example/")  # a str is not a list of URLs
    # now (spec decision 18): whole seconds from 0 to the end of year 9999, else ValueError.
    for now in (2**80, 2**63 - 1, -1):
        with pytest.raises(ValueError, match="^now must be a whole number of seconds"):
            _supplier(auth, now=now)
    with pytest.raises(OverflowError):
        Authenticator.from_config({}, seed=-1)
    extreme = _supplier(auth, now=253402300799)
    assert extreme.expires_at == 253402300799 + 600


@pytest.mark.parametrize("call", [
    lambda a: a.handle_http("POST", "/v2/supplier/link-sessions", "x-api-key: k", b""),
    lambda a: a.handle_http("POST", "/v2/supplier/link-sessions", [("only-name",)], b""),
    lambda a: a.handle_http("POST", "/v2/supplier/link-sessions", [("n", 1)], b""),
    lambda a: a.handle_http("POST", "/v2/supplier/link-sessions", 42, b""),
    lambda a: a.handle_http("POST", "/v2/supplier/link-sessions", {}, 42),
    lambda a: a.handle_http(None, "/v2/supplier/link-sessions"),
    lambda a: a.handle_http("POST", None),
    lambda a: Authenticator.from_config({"suppliers": object()}),
    lambda a: Authenticator.from_json(None),
])
def test_bad_shapes_raise_type_error(auth: Authenticator, call: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError):
        call(auth)


def test_http_adapter_answers_garbage(auth: Authenticator) -> None:
    headers = {"x-api-key": "supplier-key", "content-type": "application/json"}
    for body in [b"\xff\xfe\x00", b"{" * 5000, b"[]", b"null", HUGE.encode(), b""]:
        response = auth.handle_http("POST", "/v2/supplier/link-sessions", headers, body, now=NOW)
        assert response.status in (400, 413), (body[:10], response.status)
        assert "error" in response.json()
    weird = auth.handle_http("POST", "/users/%FF%FE/link", headers, b"{}", now=NOW)
    assert weird.status == 400 and weird.json()["success"] is False
    assert auth.handle_http("POST", HUGE, headers, b"{}", now=NOW).status == 404
    assert auth.handle_http(HUGE, "/v2/supplier/link-sessions", headers, b"{}").status == 405
    assert auth.handle_http("POST", "/v2/supplier/link-sessions", {"x-api-key": HUGE},
                            b"{}").status == 401
