"""Spec decisions 16 to 18 and the argument defects of issue 13: rule codes on every request
refusal, ``now`` as whole seconds from 0 to the end of 9999, ``TypeError``s naming the argument,
configuration errors by field path."""

from __future__ import annotations

import pickle
from typing import Any, Dict

import pytest

from conftest import DEMO_CONFIG, NOW
from nox_authenticator import Authenticator, ConfigError, Language, ValidationError

CALLBACK = "https://your-app.com/callback"


@pytest.fixture(name="auth")
def _auth() -> Authenticator:
    return Authenticator.from_config(DEMO_CONFIG)


def _supplier(auth: Authenticator, **overrides: Any) -> Any:
    args: Dict[str, Any] = dict(api_key="supplier-key", user_id="u1",
                                redirect_url=CALLBACK, asset_type="hp", now=NOW)
    args.update(overrides)
    return auth.create_supplier_link_session(**args)


@pytest.mark.parametrize("overrides,rule,field,did_you_mean", [
    ({"user_id": ""}, "empty", "user_id", None),
    ({"user_id": "a\nb"}, "invalid_id", "user_id", None),
    ({"user_id": "x" * 256}, "too_long", "user_id", None),
    ({"user_id": None}, "missing_field", "user_id", None),
    ({"asset_type": "xx"}, "asset_type_unknown", "asset_type", None),
    ({"brand": "sma"}, "brand_wrong_asset_type", "brand", None),
    ({"brand": "vailant"}, "brand_unknown", "brand", "vaillant"),
    ({"brand": "acme"}, "brand_unknown", "brand", None),
    ({"language": "de"}, "language_unsupported", "language", None),
    ({"redirect_url": "https://your-app.com/other"}, "redirect_not_registered", "redirect_url",
     None),
    ({"redirect_url": "http://your-app.com/callback"}, "redirect_not_https", "redirect_url", None),
    ({"redirect_url": CALLBACK + "#x"}, "redirect_has_fragment", "redirect_url", None),
])
def test_refusals_carry_rule_field_and_did_you_mean(auth: Authenticator, overrides: Dict[str, Any],
                                                    rule: str, field: str,
                                                    did_you_mean: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        _supplier(auth, **overrides)
    error = caught.value
    assert (error.code, error.status) == ("validation_error", 400)
    assert (error.rule, error.field, error.did_you_mean) == (rule, field, did_you_mean)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.rule, copy.field, copy.did_you_mean) == (rule, field, did_you_mean)


def test_http_responses_name_the_rule_but_the_body_does_not(auth: Authenticator) -> None:
    response = auth.handle_http(
        "POST", "/v2/supplier/link-sessions",
        {"x-api-key": "supplier-key", "content-type": "application/json"},
        b'{"user_id": "u1", "user_id": "u2"}', now=NOW)
    assert response.status == 400
    assert (response.rule, response.field, response.did_you_mean) == ("duplicate_key", None, None)
    assert b"duplicate_key" not in response.body


def test_v1_language_is_any_string(auth: Authenticator) -> None:
    for given, expected in [("de", Language.EN), ("FR", Language.FR), ("", Language.EN)]:
        session = auth.create_v1_supplier_link(api_key="supplier-key", user_id="u1",
                                               redirect_uri=CALLBACK, language=given, now=NOW)
        assert session.language == expected


@pytest.mark.parametrize("bad", [-1, -5, 253402300800, 2**63, 2**70])
def test_now_out_of_range_is_a_value_error_naming_now(auth: Authenticator, bad: int) -> None:
    with pytest.raises(ValueError, match="^now must be a whole number of seconds from 0 to "
                                         "253402300799") as caught:
        _supplier(auth, now=bad)
    assert not isinstance(caught.value, ValidationError)
    with pytest.raises(ValueError, match="^now "):
        auth.complete_session("x" * 43, now=bad)
    with pytest.raises(ValueError, match="^now "):
        auth.handle_http("GET", "/", now=bad)
    with pytest.raises(ValueError, match="^now "):
        auth.evict_expired(now=bad)


@pytest.mark.parametrize("bad", ["x", 1.5, True, 1703123456.0])
def test_now_of_another_type_is_a_type_error_naming_now(auth: Authenticator, bad: Any) -> None:
    with pytest.raises(TypeError, match="^now must be int, not "):
        _supplier(auth, now=bad)
    session = _supplier(auth)
    with pytest.raises(TypeError, match="^now must be int"):
        session.state(bad)


def test_now_bounds_are_accepted(auth: Authenticator) -> None:
    assert _supplier(auth, now=0).created_at == 0
    assert _supplier(auth, user_id="u2", now=253402300799).created_at == 253402300799


@pytest.mark.parametrize("argument", ["api_key", "user_id", "redirect_url", "asset_type",
                                      "brand", "language"])
def test_type_errors_name_the_argument(auth: Authenticator, argument: str) -> None:
    with pytest.raises(TypeError, match=f"^{argument} must be str, not int$"):
        _supplier(auth, **{argument: 5})


def test_other_type_errors_name_the_argument(auth: Authenticator) -> None:
    with pytest.raises(TypeError, match="^token must be str, not int$"):
        auth.complete_session(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^token must be str"):
        auth.session(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^path must be str, not int$"):
        auth.handle_http("POST", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^device_ids\[1\] must be str, not int$"):
        auth.connect_v1_manufacturer(api_key="k", manufacturer_user_id="m",
                                     device_ids=["a", 2])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="^device_ids must be a list of str, not str$"):
        auth.connect_v1_manufacturer(api_key="k", manufacturer_user_id="m",
                                     device_ids="abc")


def test_from_config_wants_a_mapping() -> None:
    for bad in ["not a mapping", ["suppliers"], 5, None]:
        with pytest.raises(TypeError, match="^config must be a mapping, not "):
            Authenticator.from_config(bad)  # type: ignore[arg-type]


def test_config_errors_name_the_field_path_not_a_line_and_column() -> None:
    config = {"suppliers": [{"id": "s", "name": "S", "api_key": "k",
                             "redirect_urls": [CALLBACK], "enabled": "yes"}]}
    with pytest.raises(ConfigError) as caught:
        Authenticator.from_config(config)
    assert caught.value.field == "suppliers[0].enabled"
    assert "line" not in str(caught.value) and "column" not in str(caught.value)
    config = {"manufacturers": [{"id": "m", "name": "M", "brand": "b", "api_key": "k",
                                 "redirect_urls": [], "enabled": "no"}]}
    with pytest.raises(ConfigError) as caught:
        Authenticator.from_config(config)
    assert caught.value.field == "manufacturers[0].enabled"
    assert "column" not in caught.value.reason


def test_every_export_names_the_argument_of_the_wrong_type() -> None:
    from nox_authenticator import (Catalog, RedirectPolicy, language_from_locale,
                                   negotiate_language, parse_language, parse_link_url)
    catalog = Catalog.builtin()
    cases = [
        (lambda: catalog.resolve(5, "daikin"), "asset_type must be str, not int"),
        (lambda: catalog.resolve("hp", None), "spelling must be str, not NoneType"),
        (lambda: catalog.resolve_v1(b"daikin"), "spelling must be str, not bytes"),
        (lambda: catalog.find(1.5), "spelling must be str, not float"),
        (lambda: catalog.brands(3), "asset_type must be str, not int"),
        (lambda: Catalog.from_json({}), "json must be str, not dict"),
        (lambda: Authenticator.from_json(b"{}"), "json must be str, not bytes"),
        (lambda: RedirectPolicy([CALLBACK, 5]), r"urls\[1\] must be str, not int"),
        (lambda: RedirectPolicy([CALLBACK]).check(5), "url must be str, not int"),
        (lambda: RedirectPolicy([CALLBACK]).allows(None), "url must be str, not NoneType"),
        (lambda: parse_link_url(5), "link_url must be str, not int"),
        (lambda: parse_language(5), "code must be str, not int"),
        (lambda: language_from_locale(5), "locale must be str, not int"),
        (lambda: negotiate_language(5), "accept_language must be str, not int"),
        (lambda: negotiate_language("fr", 5), "default must be str, not int"),
    ]
    for call, message in cases:
        with pytest.raises(TypeError, match=f"^{message}$"):
            call()
    assert catalog.resolve(nox_asset_type_hp(), "daikin").slug == "daikin"


def nox_asset_type_hp() -> Any:
    from nox_authenticator import AssetType
    return AssetType.HEAT_PUMP


def test_lone_surrogates_are_refused() -> None:
    auth = Authenticator.from_config(DEMO_CONFIG)
    with pytest.raises(UnicodeEncodeError):
        _supplier(auth, user_id="a\ud800b")
