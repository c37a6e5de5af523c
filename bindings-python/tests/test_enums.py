"""The enumerations come from one table, the core's own lists (``_native._ENUMS``): the stub that
type checkers read must list exactly those members, and the classes built from the table keep
the behaviour of hand-written ``str`` enums (value, ``str()``, format, JSON, pickling, identity)."""

from __future__ import annotations

import ast
import enum
import json
import pickle
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

import nox_authenticator
from nox_authenticator import _native, _types

STUB = Path(_types.__file__).with_suffix(".pyi")


def _stub_members() -> Dict[str, List[Tuple[str, str]]]:
    """Each ``enum.Enum`` class of ``_types.pyi``, with its ``NAME = "value"``s."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    out: Dict[str, List[Tuple[str, str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Attribute) and b.attr == "Enum" for b in node.bases
        ):
            members = []
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    (target,) = item.targets
                    assert isinstance(target, ast.Name)
                    members.append((target.id, item.value.value))
            out[node.name] = members
    return out


def test_the_stub_lists_exactly_the_core_table() -> None:
    table = {name: [tuple(m) for m in members] for name, members in _native._ENUMS.items()}
    assert _stub_members() == table


def test_every_table_class_is_public() -> None:
    assert sorted(_native._ENUMS) == sorted(_types.__all__)
    for name in _native._ENUMS:
        assert getattr(nox_authenticator, name) is getattr(_types, name)
        assert name in nox_authenticator.__all__


def test_known_members_keep_their_names_and_values() -> None:
    from nox_authenticator import (AssetType, CallbackStatus, FlowStep, Language, PickField,
                                   SessionKind, SessionState)
    assert AssetType.HEAT_PUMP.value == "hp" and AssetType.PV_INVERTER.value == "pv"
    assert [m.value for m in Language] == ["nl", "en", "fr", "es"]
    assert [m.name for m in SessionState] == ["PENDING", "COMPLETED", "EXPIRED"]
    assert [m.value for m in SessionKind] == ["v2_supplier", "v2_manufacturer", "v1_supplier"]
    assert FlowStep.WHO_AND_WHAT == "who_and_what" and FlowStep.ALREADY_COMPLETED == "already_completed"
    assert PickField.SUPPLIER == "supplier" and CallbackStatus.DENIED == "denied"


@pytest.mark.parametrize("name", sorted(_native._ENUMS))
def test_str_enum_behaviour(name: str) -> None:
    cls = getattr(nox_authenticator, name)
    assert issubclass(cls, str) and issubclass(cls, enum.Enum)
    assert cls.__module__ == "nox_authenticator._types" and cls.__qualname__ == name
    assert cls.__doc__ and "An enumeration" not in cls.__doc__
    for member in cls:
        value = member.value
        assert isinstance(value, str)
        assert member == value and cls(value) is member and cls[member.name] is member
        assert str(member) == value and f"{member}" == value and "%s" % member == value
        assert json.dumps({"k": member}) == json.dumps({"k": value})
        assert hash(member) == hash(value)
        assert pickle.loads(pickle.dumps(member)) is member
    with pytest.raises(ValueError):
        cls("no such value")


def test_the_documented_rule_codes_are_the_core_list() -> None:
    """``ValidationError.rule``'s documentation lists every rule code of the core, no other."""
    import re

    from nox_authenticator import errors

    source = Path(errors.__file__).read_text(encoding="utf-8")
    doc = source[source.index("    rule: str\n"):source.index("    field: Optional[str]")]
    assert sorted(set(re.findall(r"``([a-z_]+)``", doc))) == sorted(_native._RULES)
