"""Guard.narrowed_schema: the one listing path every adapter uses."""

from __future__ import annotations

from typing import Any

from guardrail import Guard, Policy
from guardrail.testing import make_principal

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
}
GUARD = Guard(
    Policy.from_dict(
        {
            "rules": [
                {
                    "id": "pay",
                    "allow": ["pay", "scoped"],
                    "when": {"roles": "support"},
                    "args": {"amount": {"max": 500}},
                },
                {"id": "no-gbp", "deny": ["pay"], "args": {"currency": {"eq": "GBP"}}},
                {"id": "impossible", "allow": ["other"], "args": {"amount": {"eq": "ten"}}},
            ]
        }
    )
)
SUPPORT = make_principal("alice", roles=["support"])


@GUARD.tool(name="scoped", scopes=["payments"])
def scoped(amount: float) -> None:
    """A tool the policy allows but that also needs an OAuth scope."""


def test_allow_regions_and_deny_exclusions_are_both_applied() -> None:
    """The allow rule bounds amount; the constrained deny rule is cut out with `not`."""
    shown = GUARD.narrowed_schema("pay", SCHEMA, SUPPORT)
    assert shown is not None
    assert shown["properties"]["amount"]["maximum"] == 500
    assert shown["properties"]["currency"]["not"] == {"enum": ["GBP"]}
    assert shown["required"] == ["amount"]  # an omitted currency is not denied
    assert SCHEMA["properties"]["amount"] == {"type": "number"}  # input untouched


def test_hidden_tools_give_none() -> None:
    """No applicable rule, a missing scope, or no argument the schema admits: hidden."""
    assert GUARD.narrowed_schema("pay", SCHEMA, make_principal("bob")) is None
    assert GUARD.narrowed_schema("scoped", SCHEMA, SUPPORT) is None
    assert GUARD.narrowed_schema("other", SCHEMA, SUPPORT) is None


def test_current_principal_and_aliases() -> None:
    """Without a principal the bound one is used; aliases rename policy arguments."""
    schema = {"type": "object", "properties": {"__arg1": {"type": "number"}}}
    with GUARD.acting_as(SUPPORT):
        shown = GUARD.narrowed_schema("pay", schema, aliases={"amount": "__arg1"})
    assert shown is not None and shown["properties"]["__arg1"]["maximum"] == 500
