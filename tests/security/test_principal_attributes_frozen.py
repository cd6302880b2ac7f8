"""A principal's attributes cannot change in place: decisions and budget plans are
memoised per principal object, so a principal changed behind the memo's back would be
judged by what it was. A changed principal is a new one, decided afresh."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import orjson
import pytest

from guardrail import Guard, PermissionDenied, Policy, Principal

POLICY = {
    "rules": [
        {"id": "support", "allow": ["refund"], "when": {"roles": ["support"]}},
        {
            "id": "no-contractors",
            "deny": ["refund"],
            "when": {"attributes": {"employment": "contractor"}},
        },
    ]
}
NESTED: dict[str, Any] = {"employment": "staff", "regions": ["eu"], "meta": {"tags": ["a"]}}


def _alice(attributes: dict[str, Any]) -> Principal:
    return Principal(subject="alice", roles=frozenset({"support"}), attributes=attributes)


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.__setitem__("employment", "contractor"),
        lambda a: a.update(employment="contractor"),
        lambda a: a.setdefault("new", 1),
        lambda a: a.pop("employment"),
        lambda a: a.popitem(),
        lambda a: a.clear(),
        lambda a: a.__delitem__("employment"),
        lambda a: a.__ior__({"employment": "contractor"}),
        lambda a: a["regions"].append("us"),
        lambda a: a["regions"].__setitem__(0, "us"),
        lambda a: a["regions"].extend(["us"]),
        lambda a: a["regions"].__iadd__(["us"]),
        lambda a: a["meta"].__setitem__("tags", []),
        lambda a: a["meta"]["tags"].insert(0, "b"),
    ],
)
def test_attributes_refuse_every_change_in_place(change: Any) -> None:
    """Top level and nested: every mutation raises and nothing changes."""
    principal = _alice(NESTED)
    with pytest.raises(TypeError):
        change(principal.attributes)
    assert principal.attributes == NESTED


def test_the_callers_dict_is_copied() -> None:
    """Changing the dict a principal was built from does not change the principal."""
    source = {"employment": "staff", "regions": ["eu"]}
    principal = _alice(source)
    source["employment"] = "contractor"
    source["regions"].append("us")  # type: ignore[attr-defined]
    assert principal.attributes == {"employment": "staff", "regions": ["eu"]}


def test_frozen_attributes_still_read_and_serialize_as_plain_data() -> None:
    """Equal to plain dicts and lists; json, orjson, pydantic, copy and pickle keep them."""
    principal = _alice(NESTED)
    attributes = principal.attributes
    assert isinstance(attributes, dict) and isinstance(attributes["regions"], list)
    assert json.loads(json.dumps(attributes)) == NESTED
    assert orjson.loads(orjson.dumps(attributes)) == NESTED
    assert Principal.model_validate_json(principal.model_dump_json()) == principal
    for clone in (
        copy.copy(principal),
        copy.deepcopy(principal),
        pickle.loads(pickle.dumps(principal)),
    ):
        assert clone.attributes == NESTED
    assert dict(attributes) | {"x": 1} == {**NESTED, "x": 1}  # a copy is an ordinary dict


def test_a_changed_principal_is_decided_afresh() -> None:
    """The memo is per principal object: a contractor made from a staff member with
    ``model_copy`` is denied though the staff member was just allowed."""
    guard = Guard(Policy.model_validate(POLICY))

    @guard.tool
    def refund(order_id: str) -> str:
        return order_id

    staff = _alice({"employment": "staff"})
    with guard.acting_as(staff):
        assert refund("A-1") == "A-1"
    contractor = staff.model_copy(update={"attributes": {"employment": "contractor"}})
    with guard.acting_as(contractor), pytest.raises(PermissionDenied):
        refund("A-1")
    with guard.acting_as(staff):
        assert refund("A-2") == "A-2"
