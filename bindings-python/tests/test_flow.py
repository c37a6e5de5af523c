"""The hosted link flow's rules from Python (spec decision 19): the page's view model
(``Authenticator.flow_view``) and the caller's reading of the return URL
(``parse_link_callback``), both the core's rules."""

from __future__ import annotations

import pickle
from typing import Any, Dict
from urllib.parse import parse_qsl, urlsplit

import pytest

from nox_authenticator import (
    AssetType,
    Authenticator,
    CallbackStatus,
    FlowChoice,
    FlowCounterpart,
    FlowStep,
    Language,
    LinkCallback,
    LinkCallbackError,
    NoxAuthenticatorError,
    PickField,
    SessionKind,
    SessionNotFoundError,
    parse_link_callback,
)

NOW = 1_703_123_456
TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"  # 43 URL-safe base64 characters
CONFIG: Dict[str, Any] = {
    "suppliers": [
        {"id": "s1", "name": "Acme Energy", "api_key": "k1",
         "redirect_urls": ["https://acme.example/cb?from=nox"]},
        {"id": "s2", "name": "Beta Power", "api_key": "k2"},
    ],
    "manufacturers": [
        {"id": "m1", "name": "Heat Co", "brand": "Heat Co Pumps", "api_key": "mk",
         "redirect_urls": ["https://heat.example/done"]},
    ],
    # Only Daikin (a heat-pump brand) and supplier s2 can sign in; nothing else is available.
    "connectors": {"daikin": {"type": "sandbox"}, "s2": {"type": "sandbox"}},
}


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator.from_config(CONFIG, seed=7)


def _supplier_session(auth: Authenticator, **extra: Any) -> str:
    return auth.create_supplier_link_session(
        api_key="k1", user_id="u1", redirect_url="https://acme.example/cb?from=nox",
        asset_type=AssetType.HEAT_PUMP, now=NOW, **extra).token


# --- the view model -------------------------------------------------------------------------

def test_a_supplier_session_without_a_brand_walks_every_step(auth: Authenticator) -> None:
    token = _supplier_session(auth, language="fr")
    first = auth.flow_view(token, now=NOW)
    assert first.step is FlowStep.WHO_AND_WHAT and first.language is Language.FR
    assert first.kind is SessionKind.V2_SUPPLIER and first.caller_name == "Acme Energy"
    assert first.asset_type is AssetType.HEAT_PUMP and first.device_brand is None
    assert first.pick_field is PickField.BRAND and first.choices == ()
    assert first.expires_at == NOW + 600 and first.seconds_left == 600

    pick = auth.flow_view(token, started=True, now=NOW + 100)
    assert pick.step is FlowStep.PICK and pick.seconds_left == 500
    by_value = {c.value: c for c in pick.choices}
    assert all(isinstance(c, FlowChoice) for c in pick.choices)
    assert "sma" not in by_value, "a PV brand is not offered for a heat pump"
    assert by_value["daikin"].available and by_value["daikin"].connector == "sandbox"
    assert by_value["daikin"].label == "Daikin"
    assert not by_value["alpha-innotec"].available and by_value["alpha-innotec"].connector is None
    assert auth.flow_view(token, started=True, picked="alpha-innotec", now=NOW).step \
        is FlowStep.PICK, "a brand without a connector cannot be picked"
    assert auth.flow_view(token, started=True, picked="sma", now=NOW).step is FlowStep.PICK

    consent = auth.flow_view(token, started=True, picked="daikin", now=NOW)
    assert consent.step is FlowStep.CONSENT and consent.choices == ()
    assert isinstance(consent.counterpart, FlowCounterpart)
    assert (consent.counterpart.value, consent.counterpart.label) == ("daikin", "Daikin")
    assert consent.device_brand == "Daikin" and consent.connector == "sandbox"
    assert consent.picked == "daikin"

    sign_in = auth.flow_view(token, started=True, picked="daikin", allowed=True, now=NOW)
    assert sign_in.step is FlowStep.SIGN_IN


def test_the_return_url_keeps_the_query_and_reads_back(auth: Authenticator) -> None:
    token = _supplier_session(auth)
    view = auth.flow_view(token, started=True, now=NOW)
    assert view.return_url is not None
    parts = urlsplit(view.return_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "acme.example", "/cb")
    assert parse_qsl(parts.query) == [("from", "nox"), ("status", "denied"), ("link_token", token)]
    callback = parse_link_callback(view.return_url)
    assert callback.status is CallbackStatus.DENIED and callback.token == token

    done = auth.flow_view(token, step="done", now=NOW)
    assert done.step is FlowStep.DONE
    assert parse_link_callback(done.return_url or "").status is CallbackStatus.COMPLETED


def test_a_session_with_a_brand_skips_the_pick(auth: Authenticator) -> None:
    token = _supplier_session(auth, brand="alpha innotec")
    view = auth.flow_view(token, started=True, now=NOW)
    assert view.pick_field is None and view.choices == ()
    assert view.device_brand == "Alpha Innotec"
    # Alpha Innotec has no connector and there is no default: it cannot be linked yet.
    assert view.step is FlowStep.UNAVAILABLE


def test_a_manufacturer_session_picks_a_supplier(auth: Authenticator) -> None:
    token = auth.create_manufacturer_link_session(
        api_key="mk", user_id="u1", redirect_url="https://heat.example/done", now=NOW).token
    view = auth.flow_view(token, started=True, now=NOW)
    assert view.step is FlowStep.PICK and view.pick_field is PickField.SUPPLIER
    assert view.asset_type is None and view.device_brand == "Heat Co Pumps"
    assert [(c.value, c.label, c.available) for c in view.choices] == [
        ("s1", "Acme Energy", False), ("s2", "Beta Power", True)]
    consent = auth.flow_view(token, started=True, picked="s2", now=NOW)
    assert consent.step is FlowStep.CONSENT
    assert consent.device_brand == "Heat Co Pumps", "the pick is a supplier, not the brand"


def test_a_default_connector_makes_every_counterpart_available() -> None:
    auth = Authenticator.from_config({**CONFIG, "default_connector": "sandbox"})
    token = _supplier_session(auth, brand="alpha innotec")
    assert auth.flow_view(token, started=True, now=NOW).step is FlowStep.CONSENT


def test_page_language(auth: Authenticator) -> None:
    token = _supplier_session(auth, language="es")
    assert auth.flow_view(token, now=NOW).language is Language.ES
    assert auth.flow_view(token, language="EN", now=NOW).language is Language.EN
    assert auth.flow_view(token, language=Language.NL, now=NOW).language is Language.NL
    # Not one of ours: the session's language, as the page does.
    assert auth.flow_view(token, language="de", now=NOW).language is Language.ES


def test_expired_and_completed_sessions(auth: Authenticator) -> None:
    token = _supplier_session(auth)
    expired = auth.flow_view(token, started=True, picked="daikin", now=NOW + 600)
    assert expired.step is FlowStep.EXPIRED and expired.seconds_left == 0
    assert parse_link_callback(expired.return_url or "").status is CallbackStatus.EXPIRED
    auth.complete_session(token, now=NOW + 10)
    again = auth.flow_view(token, now=NOW + 5000)
    assert again.step is FlowStep.ALREADY_COMPLETED
    assert parse_link_callback(again.return_url or "").status is CallbackStatus.COMPLETED


def test_to_dict_is_the_core_view_model(auth: Authenticator) -> None:
    token = _supplier_session(auth)
    data = auth.flow_view(token, started=True, picked="daikin", now=NOW).to_dict()
    assert list(data) == ["step", "language", "kind", "caller_name", "asset_type",
                          "device_brand", "pick_field", "choices", "picked", "counterpart",
                          "connector", "return_url", "expires_at", "seconds_left"]
    assert data["step"] == "consent" and data["asset_type"] == "hp"
    assert data["counterpart"] == {"value": "daikin", "label": "Daikin"}
    view = auth.flow_view(token, started=True, picked="daikin", now=NOW)
    assert view == auth.flow_view(token, started=True, picked="daikin", now=NOW)
    assert "consent" in repr(view) and token not in repr(view)


def test_flow_view_arguments(auth: Authenticator) -> None:
    token = _supplier_session(auth)
    with pytest.raises(SessionNotFoundError):
        auth.flow_view(TOKEN, now=NOW)
    with pytest.raises(ValueError, match="step must be one of who_and_what"):
        auth.flow_view(token, step="finished", now=NOW)
    with pytest.raises(TypeError, match="picked must be str, not int"):
        auth.flow_view(token, picked=5, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="token must be str"):
        auth.flow_view(None, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="now must be"):
        auth.flow_view(token, now=-1)


def test_connectors_are_checked_at_construction() -> None:
    from nox_authenticator import ConfigError
    with pytest.raises(ConfigError) as caught:
        Authenticator.from_config({**CONFIG, "connectors": {"daikin": {"type": "magic"}}})
    assert caught.value.field == "connectors.daikin.type"


# --- the return URL ---------------------------------------------------------------------------

@pytest.mark.parametrize("url, status", [
    (f"https://acme.example/cb?status=completed&link_token={TOKEN}", CallbackStatus.COMPLETED),
    (f"https://acme.example/cb?from=nox&link_token={TOKEN}&status=denied&x=1",
     CallbackStatus.DENIED),
    (f"myapp://callback?status=expired&link_token={TOKEN}", CallbackStatus.EXPIRED),
])
def test_parse_link_callback(url: str, status: CallbackStatus) -> None:
    callback = parse_link_callback(url)
    assert isinstance(callback, LinkCallback)
    assert callback.status is status and callback.token == TOKEN
    assert callback == parse_link_callback(url)
    assert TOKEN not in repr(callback)


@pytest.mark.parametrize("url, rule, field", [
    ("", "not_a_url", None),
    ("not a url", "not_a_url", None),
    ("/cb?status=completed", "not_a_url", None),
    ("https://acme.example/cb", "missing_status", "status"),
    (f"https://acme.example/cb?link_token={TOKEN}", "missing_status", "status"),
    (f"https://acme.example/cb?status=COMPLETED&link_token={TOKEN}", "unknown_status", "status"),
    (f"https://acme.example/cb?status=&link_token={TOKEN}", "unknown_status", "status"),
    ("https://acme.example/cb?status=completed", "missing_token", "link_token"),
    ("https://acme.example/cb?status=completed&link_token=short", "invalid_token", "link_token"),
    (f"https://acme.example/cb?status=completed&link_token={TOKEN}%00",
     "invalid_token", "link_token"),
    (f"https://acme.example/cb?status=completed&status=denied&link_token={TOKEN}",
     "duplicate_parameter", "status"),
    (f"https://acme.example/cb?status=completed&link_token={TOKEN}&link_token={TOKEN}",
     "duplicate_parameter", "link_token"),
])
def test_malformed_callbacks_name_the_rule(url: str, rule: str, field: str) -> None:
    with pytest.raises(LinkCallbackError) as caught:
        parse_link_callback(url)
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, NoxAuthenticatorError)
    assert error.rule == rule and error.code == rule and error.field == field
    assert error.status == 400 and error.fields == ((field,) if field else ())
    assert error.message and str(error) == error.message
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is LinkCallbackError and copy.__dict__ == error.__dict__


@pytest.mark.parametrize("bad", [None, b"https://x/?status=completed", 5])
def test_parse_link_callback_wants_a_str(bad: Any) -> None:
    with pytest.raises(TypeError, match="url must be str"):
        parse_link_callback(bad)
