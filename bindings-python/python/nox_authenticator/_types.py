"""The package's enumerations: the core's asset types, languages, session states and kinds,
webhook event types, and the hosted flow's steps, pick fields and return statuses.

Each member's value is the wire string, and each class mixes in ``str``, so a member can be
passed wherever the API takes the wire string and compares equal to it. The members are not
written here: they come from the core's own lists (``_native._ENUMS``), so a value added to the
core is a member here too; ``_types.pyi`` spells them out for type checkers (the suite checks it
against the table).
"""

from __future__ import annotations

import enum
from typing import Dict, Type

from ._native import _ENUMS

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


class _WireEnum(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)


_DOCS: Dict[str, str] = {
    "AssetType": "The device category of a link session.",
    "Language": "A language of the Authenticator UI.",
    "SessionState": "The state of a link session at some moment.",
    "SessionKind": "Which endpoint created a link session.",
    "WebhookEventType": "The type of a completion event (a signed webhook).",
    "FlowStep": "A step of the hosted link flow (the page a link_url opens).",
    "PickField": "The form field a pick is made in: a brand slug or a supplier id.",
    "CallbackStatus": "The outcome a return URL reports to the caller.",
}


def _enum(name: str) -> Type[_WireEnum]:
    # module and qualname make the members pickle by reference, as class-statement enums do.
    cls: Type[_WireEnum] = _WireEnum(
        name, _ENUMS[name], module=__name__, qualname=name
    )
    cls.__doc__ = _DOCS[name]
    return cls


AssetType = _enum("AssetType")
Language = _enum("Language")
SessionState = _enum("SessionState")
SessionKind = _enum("SessionKind")
WebhookEventType = _enum("WebhookEventType")
FlowStep = _enum("FlowStep")
PickField = _enum("PickField")
CallbackStatus = _enum("CallbackStatus")
