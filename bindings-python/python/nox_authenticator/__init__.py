"""The NOX Authenticator API as a Python library.

Energy suppliers and heat-pump / PV-inverter manufacturers create *link sessions*: short-lived
tokens and URLs that send one end-user through the hosted flow. Every rule lives in the Rust
core (``nox_authenticator._native`` wraps it); this package adds the Python idiom: enums,
an exception hierarchy, immutable result objects and type stubs.

>>> from nox_authenticator import Authenticator, AssetType
>>> auth = Authenticator.from_config({"suppliers": [{"id": "s1", "name": "Acme Energy",
...     "api_key": "k1", "redirect_urls": ["https://acme.example/cb"]}]})
>>> session = auth.create_supplier_link_session(api_key="k1", user_id="u1",
...     redirect_url="https://acme.example/cb", asset_type=AssetType.HEAT_PUMP,
...     brand="alpha innotec", now=1_703_123_456)
>>> session.brand, session.expires_at
('alpha-innotec', 1703124056)
"""

from __future__ import annotations

from ._native import (
    LINK_SESSION_TTL_SECONDS,
    MAX_DEVICE_IDS,
    MAX_ID_CHARS,
    MAX_REDIRECT_URL_LEN,
    V1_BRANDS,
    V1_DEFAULT_LANGUAGE,
    V2_DEFAULT_LANGUAGE,
    Authenticator,
    Brand,
    Catalog,
    HttpResponse,
    LinkSession,
    LinkUrlParts,
    RedirectPolicy,
    Subscriber,
    __version__,
    language_from_locale,
    WebhookEvent,
    negotiate_language,
    parse_language,
    parse_link_url,
    sign_webhook,
    verify_webhook,
)
from ._types import AssetType, Language, SessionKind, SessionState, WebhookEventType
from .errors import (
    AuthenticationError,
    CatalogError,
    ConfigError,
    InternalError,
    NoxAuthenticatorError,
    ProtocolError,
    RedirectRejectedError,
    SessionAlreadyCompletedError,
    SessionExpiredError,
    SessionNotFoundError,
    ValidationError,
    WebhookVerificationError,
)

__all__ = [
    "LINK_SESSION_TTL_SECONDS",
    "MAX_DEVICE_IDS",
    "MAX_ID_CHARS",
    "MAX_REDIRECT_URL_LEN",
    "V1_BRANDS",
    "V1_DEFAULT_LANGUAGE",
    "V2_DEFAULT_LANGUAGE",
    "AssetType",
    "AuthenticationError",
    "Authenticator",
    "Brand",
    "Catalog",
    "CatalogError",
    "ConfigError",
    "HttpResponse",
    "InternalError",
    "Language",
    "LinkSession",
    "LinkUrlParts",
    "NoxAuthenticatorError",
    "ProtocolError",
    "RedirectPolicy",
    "RedirectRejectedError",
    "SessionAlreadyCompletedError",
    "SessionExpiredError",
    "SessionKind",
    "SessionNotFoundError",
    "SessionState",
    "Subscriber",
    "ValidationError",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookVerificationError",
    "__version__",
    "language_from_locale",
    "negotiate_language",
    "parse_language",
    "parse_link_url",
    "sign_webhook",
    "verify_webhook",
]
