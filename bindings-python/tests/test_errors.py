"""Every exception class: hierarchy, attributes, and the conversion of every core error."""

from __future__ import annotations

import pickle
from typing import Any, Type

import pytest

import nox_authenticator as nox
from conftest import DEMO_CONFIG, NOW
from nox_authenticator import (
    AuthenticationError,
    Authenticator,
    Catalog,
    CatalogError,
    ConfigError,
    InternalError,
    NoxAuthenticatorError,
    ProtocolError,
    RedirectPolicy,
    RedirectRejectedError,
    SessionAlreadyCompletedError,
    SessionExpiredError,
    SessionNotFoundError,
    ValidationError,
)
from nox_authenticator._native import _core_error_for_code

# Every stable code of the core's Error::code() (the core's Error::CODES, in its order), with
# the class and status it must become.
CORE_ERRORS = [
    ("missing_api_key", AuthenticationError, 401),
    ("invalid_api_key", AuthenticationError, 401),
    ("manufacturer_not_enabled", AuthenticationError, 401),
    ("validation_error", ValidationError, 400),
    ("not_found", SessionNotFoundError, 404),
    ("expired", SessionExpiredError, 410),
    ("already_completed", SessionAlreadyCompletedError, 409),
    ("route_not_found", ProtocolError, 404),
    ("method_not_allowed", ProtocolError, 405),
    ("payload_too_large", ProtocolError, 413),
    ("unsupported_media_type", ProtocolError, 415),
    ("invalid_config", ConfigError, 500),
    ("invalid_catalog", CatalogError, 500),
    ("store_error", InternalError, 503),
    ("internal_error", InternalError, 500),
    # Python raises ValueError for a bad `now` before the core sees it; the core's argument
    # error still converts, to the base class.
    ("invalid_argument", NoxAuthenticatorError, 400),
]


@pytest.mark.parametrize("code,cls,status", CORE_ERRORS)
def test_every_core_error_converts(code: str, cls: Type[NoxAuthenticatorError],
                                   status: int) -> None:
    error = _core_error_for_code(code)
    assert type(error) is cls
    assert isinstance(error, NoxAuthenticatorError)
    assert (error.code, error.status) == (code, status)
    assert isinstance(error.fields, tuple)
    assert str(error) == error.message and error.message
    assert code in repr(error) and cls.__name__ in repr(error)
    if status >= 500:
        assert error.public_message == ("Service unavailable" if code == "store_error"
                                        else "Internal server error")
    else:
        assert error.public_message == error.message
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and copy.__dict__ == error.__dict__


def test_variant_details_are_attributes() -> None:
    assert _core_error_for_code("expired").expires_at == 600
    assert _core_error_for_code("already_completed").completed_at == 60
    assert _core_error_for_code("payload_too_large").limit == 4096
    assert _core_error_for_code("store_error").reason == "database unreachable"
    config = _core_error_for_code("invalid_config")
    assert (config.field, config.reason) == ("suppliers[0].api_key", "must not be empty")
    catalog = _core_error_for_code("invalid_catalog")
    assert (catalog.field, catalog.reason) == ("version", "must not be empty")
    validation = _core_error_for_code("validation_error")
    assert validation.fields == ("user_id", "redirect_url")
    with pytest.raises(KeyError):
        _core_error_for_code("no_such_code")


def test_hierarchy() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(RedirectRejectedError, ValidationError)
    assert issubclass(ConfigError, ValueError) and issubclass(CatalogError, ValueError)
    assert issubclass(SessionNotFoundError, LookupError)
    for name in nox.errors.__all__:
        cls = getattr(nox, name)
        assert issubclass(cls, NoxAuthenticatorError) and issubclass(cls, Exception)


def _raises(cls: Type[BaseException], call: Any) -> Any:
    with pytest.raises(cls) as caught:
        call()
    return caught.value


def test_validation_error_from_a_call(auth: Authenticator) -> None:
    error = _raises(ValidationError, lambda: auth.create_supplier_link_session(
        api_key="supplier-key", user_id=None, redirect_url=None, asset_type=None))
    assert error.message == "Missing required fields: user_id, redirect_url, asset_type"
    assert error.fields == ("user_id", "redirect_url", "asset_type")
    assert (error.status, error.code) == (400, "validation_error")


@pytest.mark.parametrize("api_key,code", [(None, "missing_api_key"),
                                          ("wrong", "invalid_api_key"),
                                          ("disabled-key", "manufacturer_not_enabled")])
def test_authentication_errors(auth: Authenticator, api_key: Any, code: str) -> None:
    error = _raises(AuthenticationError, lambda: auth.create_manufacturer_link_session(
        api_key=api_key, user_id="u", redirect_url="https://sleepy.example/callback"))
    assert (error.status, error.code) == (401, code)


def test_session_errors(auth: Authenticator) -> None:
    _raises(SessionNotFoundError, lambda: auth.session("x" * 43))
    session = auth.create_supplier_link_session(
        api_key="supplier-key", user_id="u", redirect_url="https://your-app.com/callback",
        asset_type="hp", now=NOW)
    expired = _raises(SessionExpiredError,
                      lambda: auth.complete_session(session.token, now=NOW + 600))
    assert (expired.status, expired.code, expired.expires_at) == (410, "expired", NOW + 600)
    auth.complete_session(session.token, now=NOW + 599)
    done = _raises(SessionAlreadyCompletedError,
                   lambda: auth.complete_session(session.token, now=NOW + 599))
    assert (done.status, done.code, done.completed_at) == (409, "already_completed", NOW + 599)


def test_config_and_catalog_errors() -> None:
    bad = {"suppliers": [{**DEMO_CONFIG["suppliers"][0], "redirect_urls": ["https://A.example/"]}]}
    error = _raises(ConfigError, lambda: Authenticator.from_config(bad))
    assert error.field == "suppliers[0].redirect_urls[0]" and error.code == "invalid_config"
    assert _raises(ConfigError, lambda: Authenticator.from_json("[]")).field == "$"
    assert _raises(ConfigError, lambda: Authenticator.from_json("{")).code == "invalid_config"
    catalog_error = _raises(CatalogError, lambda: Catalog.from_json('{"version": "", "brands": []}'))
    assert catalog_error.field == "version"


def test_redirect_rejected_error() -> None:
    error = _raises(RedirectRejectedError,
                    lambda: RedirectPolicy(["https://ok.example/cb", "https://A.example/"]))
    assert (error.reason, error.index, error.canonical) == ("not_canonical", 1,
                                                            "https://a.example/")
    error = _raises(RedirectRejectedError,
                    lambda: RedirectPolicy(["https://ok.example/cb"]).check("https://evil/"))
    assert (error.reason, error.index, error.canonical) == ("not_registered", None, None)
    assert (error.status, error.code) == (400, "validation_error")
