"""Two deny rules that each restrict an argument's type: the narrowed schema keeps both."""

from __future__ import annotations

from guardrail import Guard, Policy
from guardrail.testing import make_principal

WHO = make_principal("u", region="eu")
SCHEMA = {"type": "object", "properties": {"x": {}}}


def _guard(*denies: object) -> Guard:
    deny = [{"id": f"d{i}", "deny": ["t"], "args": {"x": {"eq": v}}} for i, v in enumerate(denies)]
    return Guard(Policy.model_validate({"rules": [{"id": "a", "allow": ["t"]}, *deny]}))


def test_number_and_string_doubts_admit_no_value_and_the_check_agrees() -> None:
    """`eq 0` doubts strings, `eq "eu"` doubts numbers: no x passes, and none is shown."""
    guard = _guard(0, "$principal.attributes.region")
    for value in ("a", 5, "eu", 0):
        assert not guard.check("t", {"x": value}, WHO).allowed
    shown = guard.narrowed_schema("t", SCHEMA, WHO)
    assert shown is not None
    assert shown["properties"]["x"].get("type") is None
    assert {"not": {}} in shown["properties"]["x"]["allOf"]


def test_integer_and_number_conjoin_to_integer() -> None:
    guard = _guard(0, 1.5)
    shown = guard.narrowed_schema("t", SCHEMA, WHO)
    assert shown is not None
    assert shown["properties"]["x"]["type"] == ["integer", "number"]
    assert guard.check("t", {"x": 2}, WHO).allowed
