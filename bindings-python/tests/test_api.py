"""Every public function and class of the package, through the binding."""

from __future__ import annotations

import json
from typing import Any

import pytest

import nox_authenticator as nox
from conftest import DEMO_CONFIG, NOW
from nox_authenticator import (
    AssetType,
    Authenticator,
    Brand,
    Catalog,
    HttpResponse,
    Language,
    LinkSession,
    SessionKind,
    SessionState,
    Subscriber,
    ValidationError,
)

CALLBACK = "https://your-app.com/callback"


def test_constants_mirror_the_core() -> None:
    assert nox.LINK_SESSION_TTL_SECONDS == 600
    assert nox.MAX_ID_CHARS == 255 and nox.MAX_DEVICE_IDS == 100
    assert nox.MAX_REDIRECT_URL_LEN == 2048
    assert len(nox.V1_BRANDS) == 13 and "alpha-innotec" in nox.V1_BRANDS
    assert nox.V2_DEFAULT_LANGUAGE == "nl" and nox.V1_DEFAULT_LANGUAGE == "en"
    assert [a.value for a in AssetType] == ["hp", "pv"]
    assert [lang.name for lang in Language] == ["NL", "EN", "FR", "ES"]
    assert AssetType.HEAT_PUMP == "hp" and str(AssetType.PV_INVERTER) == "pv"
    assert nox.__version__
    assert sorted(nox.__all__) == sorted(set(nox.__all__))
    for name in nox.__all__:
        assert hasattr(nox, name), name


def test_catalog(auth: Authenticator) -> None:
    catalog = Catalog.builtin()
    assert catalog == auth.catalog and len(catalog) == 56
    assert repr(catalog) == f"Catalog(version='{catalog.version}', hp=25, pv=31)"
    hp = catalog.brands(AssetType.HEAT_PUMP)
    assert len(hp) == 25 and all(isinstance(b, Brand) for b in hp)
    assert len(catalog.all_brands()) == 56
    brand = catalog.resolve("hp", "Alpha Innotec")
    assert (brand.slug, brand.display_name, brand.asset_type) == (
        "alpha-innotec", "Alpha Innotec", AssetType.HEAT_PUMP)
    assert brand == catalog.find("alpha_innotec") and hash(brand) == hash(catalog.find("alpha-innotec"))
    assert isinstance(brand.aliases, tuple)
    assert brand.to_dict()["slug"] == "alpha-innotec" and brand.to_dict()["asset_type"] == "hp"
    assert repr(brand).startswith("Brand(slug='alpha-innotec'")
    assert catalog.find("no such brand") is None
    assert catalog.resolve_v1("Saunier Duval") == "saunier-duval"
    with pytest.raises(ValidationError) as caught:
        catalog.resolve("pv", "daikin")
    assert caught.value.fields == ("brand",)
    with pytest.raises(ValidationError) as caught:
        catalog.brands("heat pump")
    assert caught.value.fields == ("asset_type",)
    assert Catalog.from_json(catalog.to_json()) == catalog


def test_set_catalog(auth: Authenticator) -> None:
    newer = Catalog.from_json(json.dumps({"version": "2099.1", "brands": [
        {"slug": "newbrand", "display_name": "New Brand", "asset_type": "pv", "aliases": ["nb"]}]}))
    before = auth.create_supplier_link_session(api_key="supplier-key", user_id="u",
                                               redirect_url=CALLBACK, asset_type="hp",
                                               brand="daikin", now=NOW)
    previous = auth.set_catalog(newer)
    assert previous == Catalog.builtin() and auth.catalog.version == "2099.1"
    session = auth.create_supplier_link_session(api_key="supplier-key", user_id="u",
                                                redirect_url=CALLBACK, asset_type="pv",
                                                brand="NB", now=NOW)
    assert session.brand == "newbrand"
    assert auth.session(before.token).brand == "daikin"
    with pytest.raises(ValidationError):
        auth.create_supplier_link_session(api_key="supplier-key", user_id="u",
                                          redirect_url=CALLBACK, asset_type="hp",
                                          brand="daikin", now=NOW)
    custom = Authenticator.from_config(DEMO_CONFIG, catalog=newer)
    assert custom.catalog.version == "2099.1"
    assert Authenticator.from_json(json.dumps(DEMO_CONFIG), catalog=newer).catalog == newer


def test_supplier_session(auth: Authenticator) -> None:
    session = auth.create_supplier_link_session(
        api_key="supplier-key", user_id="customer-42", redirect_url=CALLBACK,
        asset_type=AssetType.PV_INVERTER, brand="SMA", language=Language.FR, now=NOW)
    assert isinstance(session, LinkSession)
    assert session.kind is SessionKind.V2_SUPPLIER
    assert (session.owner_id, session.owner_name, session.user_id) == (
        "supplier_123", "Acme Energy", "customer-42")
    assert session.language is Language.FR and session.asset_type is AssetType.PV_INVERTER
    assert session.brand == "sma" and session.redirect_url == CALLBACK
    assert session.link_url == f"https://auth.nox.energy/ui?token={session.token}&language=fr"
    assert (session.created_at, session.expires_at, session.completed_at) == (NOW, NOW + 600, None)
    assert session.state(NOW) is SessionState.PENDING
    assert session.state(NOW + 600) is SessionState.EXPIRED
    assert session.is_expired(NOW + 600) and not session.is_expired(NOW)
    assert session.seconds_left(NOW + 100) == 500 and session.seconds_left(NOW + 900) == 0
    # now=None is the system clock, long after NOW.
    assert session.state() is SessionState.EXPIRED and session.seconds_left() == 0
    wire = session.to_dict()
    assert list(wire) == ["link_url", "link_token", "brand", "language", "asset_type",
                          "redirect_url", "supplier", "supplier_user_id", "completed_at",
                          "created_at", "expires_at"]
    assert wire["link_token"] == session.token and wire["supplier"] == "Acme Energy"
    assert json.loads(session.to_json()) == wire and list(json.loads(session.to_json())) == list(wire)
    assert session == auth.session(session.token)
    assert session.token not in repr(session) and session.token[:6] in repr(session)
    with pytest.raises(AttributeError):
        session.user_id = "other"  # type: ignore[misc]
    # Defaults come from the core (v2: nl).
    plain = auth.create_supplier_link_session(api_key="supplier-key", user_id="u",
                                              redirect_url=CALLBACK, asset_type="hp")
    assert plain.language is Language.NL and plain.brand is None
    assert plain.created_at > NOW  # system clock


def test_manufacturer_session(auth: Authenticator) -> None:
    session = auth.create_manufacturer_link_session(
        api_key="manufacturer-key", user_id="m-user", redirect_url="https://heat.acme.example/nox/done",
        language="es", now=NOW)
    assert session.kind is SessionKind.V2_MANUFACTURER
    assert session.brand == "Acme Heat-Pumps" and session.asset_type is None
    wire = session.to_dict()
    assert wire["manufacturer"] == "Acme Manufacturing" and wire["manufacturer_user_id"] == "m-user"
    assert "asset_type" not in wire
    # to_dict is built in the binding: its keys and their order are the core's JSON body's.
    assert list(json.loads(session.to_json()).items()) == list(wire.items())
    with pytest.raises(ValidationError) as caught:
        auth.create_manufacturer_link_session(api_key="manufacturer-key", user_id=None,
                                              redirect_url=None)
    assert caught.value.message == "user_id is required"


def test_v1_supplier_link(auth: Authenticator) -> None:
    session = auth.create_v1_supplier_link(api_key="supplier-key", user_id="u 1",
                                           redirect_uri=CALLBACK, brand="alpha innotec", now=NOW)
    assert session.kind is SessionKind.V1_SUPPLIER and session.language is Language.EN
    assert session.link_url == f"https://link.nox.com/connect?token={session.token}"
    assert session.to_dict() == {"link_token": session.token, "link_url": session.link_url,
                                 "expires_at": NOW + 600, "supplier_id": "supplier_123",
                                 "supplier_user_id": "u 1", "brand": "alpha-innotec"}
    assert list(json.loads(session.to_json()).items()) == list(session.to_dict().items())
    with pytest.raises(ValidationError) as caught:
        auth.create_v1_supplier_link(api_key="supplier-key", user_id="u", redirect_uri=CALLBACK,
                                     brand="sma")
    assert caught.value.fields == ("brand",)


def test_v1_connect(auth: Authenticator) -> None:
    first = auth.connect_v1_manufacturer(api_key="manufacturer-key", manufacturer_user_id="mu",
                                         device_ids=["d1", "d2"])
    again = auth.connect_v1_manufacturer(api_key="manufacturer-key", manufacturer_user_id="mu",
                                         device_ids=("d3", "d1"))
    none = auth.connect_v1_manufacturer(api_key="manufacturer-key", manufacturer_user_id="mu")
    assert isinstance(first, Subscriber)
    assert first.nox_user_id == again.nox_user_id == none.nox_user_id
    assert none.device_ids == ("d1", "d2", "d3")
    assert none.manufacturer_id == "manufacturer_acme" and none.manufacturer_user_id == "mu"
    assert none.to_dict() == {"manufacturer_user_id": "mu", "nox_user_id": none.nox_user_id,
                              "device_ids": ["d1", "d2", "d3"]}
    assert list(none.to_dict()) == ["manufacturer_user_id", "nox_user_id", "device_ids"]
    assert json.loads(none.to_json()) == none.to_dict()
    assert "Subscriber(manufacturer_id='manufacturer_acme'" in repr(none)
    assert none == auth.connect_v1_manufacturer(api_key="manufacturer-key",
                                                manufacturer_user_id="mu")


def test_seed_makes_tokens_reproducible() -> None:
    tokens = []
    for _ in range(2):
        auth = Authenticator.from_config(DEMO_CONFIG, seed=42)
        tokens.append(auth.create_supplier_link_session(
            api_key="supplier-key", user_id="u", redirect_url=CALLBACK, asset_type="hp",
            now=NOW).token)
    assert tokens[0] == tokens[1]
    unseeded = Authenticator.from_config(DEMO_CONFIG).create_supplier_link_session(
        api_key="supplier-key", user_id="u", redirect_url=CALLBACK, asset_type="hp", now=NOW)
    assert unseeded.token != tokens[0]


def test_session_lookup_completion_eviction(auth: Authenticator) -> None:
    session = auth.create_supplier_link_session(api_key="supplier-key", user_id="u",
                                                redirect_url=CALLBACK, asset_type="hp", now=NOW)
    assert auth.session_count() == 1
    completed = auth.complete_session(session.token, now=NOW + 10)
    assert completed.completed_at == NOW + 10 and completed.state(NOW + 10_000) is SessionState.COMPLETED
    assert auth.session(session.token).completed_at == NOW + 10
    assert session.completed_at is None  # results are snapshots
    assert auth.evict_expired(now=NOW + 10) == 0
    assert auth.evict_expired(now=NOW + 10_000_000) == 1 and auth.session_count() == 0
    assert auth.evict_expired() == 0


def test_handle_http(auth: Authenticator) -> None:
    body = {"user_id": "u1", "redirect_url": CALLBACK, "asset_type": "hp", "brand": "alpha innotec"}
    headers = {"X-Api-Key": "supplier-key", "Content-Type": "application/json"}
    for given_headers, given_body in [(headers, json.dumps(body)),
                                      (list(headers.items()), json.dumps(body).encode()),
                                      (tuple(headers.items()), bytearray(json.dumps(body).encode())),
                                      (headers, memoryview(json.dumps(body).encode()))]:
        response = auth.handle_http("POST", "/v2/supplier/link-sessions", given_headers,
                                    given_body, now=NOW)
        assert isinstance(response, HttpResponse) and response.status == 201, response.body
        assert response.header("CONTENT-TYPE") == "application/json"
        assert ("cache-control", "no-store") in response.headers
        assert isinstance(response.body, bytes)
        assert response.json()["brand"] == "alpha-innotec"
        assert list(response.json())[0] == "link_url"
        assert "status=201" in repr(response)
    missing = auth.handle_http("GET", "/nowhere", now=NOW)
    assert missing.status == 404 and missing.header("allow") is None
    wrong_method = auth.handle_http("GET", "/v2/supplier/link-sessions", None, None)
    assert wrong_method.status == 405 and wrong_method.header("allow") == "POST"
    assert wrong_method == auth.handle_http("GET", "/v2/supplier/link-sessions", now=NOW)


def test_redirect_policy_and_link_urls() -> None:
    policy = nox.RedirectPolicy(["https://app.example.com/callback", "http://127.0.0.1/cb"])
    assert policy.urls == ("https://app.example.com/callback", "http://127.0.0.1/cb")
    assert policy.check("http://127.0.0.1:53682/cb") is None
    assert policy.allows("https://app.example.com/callback")
    assert not policy.allows("https://APP.example.com/callback")
    assert repr(policy) == "RedirectPolicy(['https://app.example.com/callback', 'http://127.0.0.1/cb'])"
    token = "A" * 43
    parts = nox.parse_link_url(f"https://auth.nox.energy/ui?token={token}&language=fr")
    assert (parts.token, parts.language) == (token, Language.FR)
    assert nox.parse_link_url(f"https://link.nox.com/connect?token={token}").language is None
    assert parts == nox.parse_link_url(f"https://auth.nox.energy/ui?language=fr&token={token}")
    assert "AAAAAA…" in repr(parts) and token not in repr(parts)
    with pytest.raises(ValidationError) as caught:
        nox.parse_link_url("not a url")
    assert caught.value.fields == ("link_url",)


def test_languages() -> None:
    assert nox.parse_language("EN") is Language.EN and nox.parse_language("de") is None
    assert nox.language_from_locale("nl_BE.UTF-8") is Language.NL
    assert nox.language_from_locale("de_DE") is None
    assert nox.negotiate_language("de-DE, fr;q=0.8, en;q=0.5") is Language.FR
    assert nox.negotiate_language("de") is Language.NL
    assert nox.negotiate_language("de", Language.ES) is Language.ES
    assert nox.negotiate_language("de", "en") is Language.EN
    with pytest.raises(ValidationError):
        nox.negotiate_language("de", "de")


def test_authenticator_has_no_public_constructor() -> None:
    with pytest.raises(TypeError):
        Authenticator()  # type: ignore[call-arg]
    assert repr(Authenticator.from_config(DEMO_CONFIG)).startswith(
        "Authenticator(suppliers=2, manufacturers=2, catalog=")


def test_package_doctest() -> None:
    import doctest

    failures, tried = doctest.testmod(nox, verbose=False)
    assert tried > 0 and failures == 0
