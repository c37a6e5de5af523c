# The enumerations as type checkers see them. At run time _types.py builds them from the core's
# table (_native._ENUMS); tests/test_stubs.py checks that these members equal that table.
import enum

__all__ = [
    "AssetType",
    "CallbackStatus",
    "FlowStep",
    "Language",
    "PickField",
    "SessionKind",
    "SessionState",
    "WebhookEventType",
]

class AssetType(str, enum.Enum):
    HEAT_PUMP = "hp"
    PV_INVERTER = "pv"

class Language(str, enum.Enum):
    NL = "nl"
    EN = "en"
    FR = "fr"
    ES = "es"

class SessionState(str, enum.Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"

class SessionKind(str, enum.Enum):
    V2_SUPPLIER = "v2_supplier"
    V2_MANUFACTURER = "v2_manufacturer"
    V1_SUPPLIER = "v1_supplier"

class WebhookEventType(str, enum.Enum):
    LINK_SESSION_COMPLETED = "link_session.completed"
    LINK_SESSION_EXPIRED = "link_session.expired"

class FlowStep(str, enum.Enum):
    WHO_AND_WHAT = "who_and_what"
    PICK = "pick"
    CONSENT = "consent"
    SIGN_IN = "sign_in"
    UNAVAILABLE = "unavailable"
    DONE = "done"
    EXPIRED = "expired"
    ALREADY_COMPLETED = "already_completed"

class PickField(str, enum.Enum):
    BRAND = "brand"
    SUPPLIER = "supplier"

class CallbackStatus(str, enum.Enum):
    COMPLETED = "completed"
    DENIED = "denied"
    EXPIRED = "expired"
