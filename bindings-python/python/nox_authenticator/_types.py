"""The package's enumerations: the core's asset types, languages, session states and kinds, and
webhook event types.

Each member's value is the wire string, and each class mixes in ``str``, so a member can be
passed wherever the API takes the wire string and compares equal to it.
"""

from __future__ import annotations

import enum

__all__ = ["AssetType", "Language", "SessionKind", "SessionState", "WebhookEventType"]


class _WireEnum(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)


class AssetType(_WireEnum):
    """The device category of a link session."""

    HEAT_PUMP = "hp"
    PV_INVERTER = "pv"


class Language(_WireEnum):
    """A language of the Authenticator UI."""

    NL = "nl"
    EN = "en"
    FR = "fr"
    ES = "es"


class SessionState(_WireEnum):
    """The state of a link session at some moment."""

    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"


class SessionKind(_WireEnum):
    """Which endpoint created a link session."""

    V2_SUPPLIER = "v2_supplier"
    V2_MANUFACTURER = "v2_manufacturer"
    V1_SUPPLIER = "v1_supplier"


class WebhookEventType(_WireEnum):
    """The type of a completion event (a signed webhook)."""

    LINK_SESSION_COMPLETED = "link_session.completed"
    LINK_SESSION_EXPIRED = "link_session.expired"
