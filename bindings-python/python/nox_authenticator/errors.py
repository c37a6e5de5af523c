"""The exception hierarchy. Every failure of the library raises a subclass of
:class:`NoxAuthenticatorError`, carrying the core's HTTP ``status``, stable ``code`` (the v1
``error_code`` for the documented cases), ``message`` and offending ``fields``. Match on the class
or on ``code``, never on the message text.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Type

__all__ = [
    "AuthenticationError",
    "CatalogError",
    "ConfigError",
    "InternalError",
    "LinkCallbackError",
    "NoxAuthenticatorError",
    "ProtocolError",
    "RedirectRejectedError",
    "SessionAlreadyCompletedError",
    "SessionExpiredError",
    "SessionNotFoundError",
    "ValidationError",
    "WebhookVerificationError",
]


def _restore(
    cls: Type[NoxAuthenticatorError], message: str, state: Dict[str, Any]
) -> NoxAuthenticatorError:
    # Unpickling: the keyword-only constructor arguments are restored as attributes.
    error = cls.__new__(cls, message)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class NoxAuthenticatorError(Exception):
    """The base class of every error of this package."""

    message: str
    """The core's message (the wire message for 4xx errors)."""
    public_message: str
    """The message safe to send to an API client (internal details are not leaked)."""
    status: int
    """The HTTP status this error is answered with."""
    code: str
    """The stable machine-readable code (``validation_error``, ``not_found``, ...)."""
    fields: Tuple[str, ...]
    """The request fields the error is about (empty when not about a field)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        fields: Sequence[str] = (),
        public_message: Optional[str] = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.public_message = message if public_message is None else public_message
        self.status = status
        self.code = code
        self.fields = tuple(fields)
        for name, value in details.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status}, "
            f"code={self.code!r}, fields={self.fields!r})"
        )

    def __reduce__(self) -> Any:
        return (_restore, (type(self), self.message, dict(self.__dict__)))


class ValidationError(NoxAuthenticatorError, ValueError):
    """400 ``validation_error``: a request refused by one of its endpoint's rules (a missing,
    mistyped, empty, oversized or invalid field, or a body that is not a JSON object). Branch on
    ``rule``, never on the message."""

    rule: str
    """The stable code of the rule the request broke (spec decision 17): ``missing_field``,
    ``wrong_type``, ``empty``, ``too_long``, ``invalid_id``, ``too_many_device_ids``,
    ``asset_type_unknown``, ``brand_unknown``, ``brand_wrong_asset_type``,
    ``language_unsupported``, ``redirect_not_registered``, ``redirect_not_https``,
    ``redirect_has_fragment``, ``redirect_has_user_info``, ``redirect_not_absolute``,
    ``redirect_not_canonical``, ``redirect_whitespace_or_control``, ``redirect_none_registered``, ``body_not_object``,
    ``invalid_json``, ``duplicate_key``, ``body_unreadable``, ``link_url_invalid``,
    ``token_invalid``; the list only grows."""
    field: Optional[str]
    """The (first) request field concerned (``user_id``, ``brand``...), or ``None`` when the
    body as a whole is wrong."""
    did_you_mean: Optional[str]
    """For ``brand_unknown``: the canonical slug of a brand of the requested asset type whose
    spelling is close to the one given, or ``None``."""


class RedirectRejectedError(ValidationError):
    """A redirect URL refused by :class:`RedirectPolicy`."""

    reason: str
    """The rejection code: ``empty``, ``too_long``, ``whitespace_or_control``,
    ``not_absolute``, ``scheme_not_allowed``, ``user_info``, ``fragment``, ``not_canonical``,
    ``not_registered`` or ``none_registered``."""
    canonical: Optional[str]
    """For ``not_canonical``: the canonical spelling of the URL."""
    index: Optional[int]
    """When registering several URLs: the index of the refused one."""


class AuthenticationError(NoxAuthenticatorError):
    """401: ``missing_api_key``, ``invalid_api_key`` or ``manufacturer_not_enabled``."""


class SessionNotFoundError(NoxAuthenticatorError, LookupError):
    """404 ``not_found``: no link session has this token (or it was evicted)."""


class SessionExpiredError(NoxAuthenticatorError):
    """410 ``expired``: the link session expired before it was completed."""

    expires_at: int
    """When it expired (Unix seconds)."""


class SessionAlreadyCompletedError(NoxAuthenticatorError):
    """409 ``already_completed``: a link session completes once only."""

    completed_at: int
    """When it was completed (Unix seconds)."""


class ConfigError(NoxAuthenticatorError, ValueError):
    """``invalid_config``: the configuration is invalid at ``field``."""

    field: str
    """Where in the configuration, for example ``suppliers[0].redirect_urls[1]``."""
    reason: str
    """What is wrong with it."""


class CatalogError(NoxAuthenticatorError, ValueError):
    """``invalid_catalog``: a brand catalog is invalid at ``field``."""

    field: str
    """Where in the catalog, for example ``brands[3].slug``."""
    reason: str
    """What is wrong with it."""


class ProtocolError(NoxAuthenticatorError):
    """An HTTP-level refusal (``route_not_found``, ``method_not_allowed``,
    ``payload_too_large``, ``unsupported_media_type``). ``handle_http`` answers these as
    responses; the class exists so that every core error has one."""

    limit: int
    """For ``payload_too_large``: the body limit in bytes."""


class InternalError(NoxAuthenticatorError):
    """500: a session store failed (``store_error``) or no secure randomness
    (``internal_error``)."""

    reason: str
    """For ``store_error``: the store's description of the failure."""


class WebhookVerificationError(NoxAuthenticatorError, ValueError):
    """A completion event (webhook) refused by :func:`verify_webhook`, or a webhook secret that
    does not parse. ``code`` names the rule: ``missing_header``, ``invalid_timestamp``,
    ``timestamp_too_old``, ``timestamp_too_new``, ``no_valid_signature``, ``invalid_secret`` or
    ``invalid_body``. ``status`` is what a receiver answers the sender: 400, or 500 for
    ``invalid_secret`` (the receiver's own configuration)."""

    field: Optional[str]
    """The header (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) or body field
    (``type``, ``data.session.link_token``, ...) concerned, or ``None``."""


class LinkCallbackError(NoxAuthenticatorError, ValueError):
    """A return URL refused by :func:`parse_link_callback` (spec decisions 17 and 19). ``code``
    and ``rule`` name the rule: ``not_a_url``, ``missing_status``, ``unknown_status``,
    ``missing_token``, ``invalid_token`` or ``duplicate_parameter``; ``status`` is 400."""

    rule: str
    """The rule the URL broke (the same as ``code``)."""
    field: Optional[str]
    """The query parameter concerned (``status``, ``link_token``), or ``None`` when the URL as
    a whole is wrong."""
