"""guardrail.schema.narrow_schema (framework-free): policy regions -> JSON schema."""

from __future__ import annotations

import copy
from typing import Any

from guardrail import Guard, Policy
from guardrail.policy.constraints import MISSING, ResolvedOp
from guardrail.schema import narrow_schema
from guardrail.testing import make_principal

BASE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD", "GBP"]},
        "note": {"type": "string", "pattern": "^[a-z ]*$"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer", "default": 1},
        "anything": {},
    },
    "required": ["amount", "currency"],
}


def _op(op: str, value: Any) -> tuple[ResolvedOp, ...]:
    return (ResolvedOp(op, value),)


def test_no_region_hides_and_an_empty_region_shows_all() -> None:
    """[] -> None (hidden); [{}] -> the schema unchanged, as a copy; input untouched."""
    before = copy.deepcopy(BASE)
    assert narrow_schema(BASE, []) is None
    shown = narrow_schema(BASE, [{}, {"amount": _op("max", 5)}])
    assert shown == BASE and shown is not BASE
    assert before == BASE


def test_in_and_eq_become_enum_intersected_with_the_schema() -> None:
    """in/eq -> enum; values the schema already excludes are dropped."""
    shown = narrow_schema(BASE, [{"currency": _op("in", ("USD", "JPY", "EUR"))}])
    assert shown is not None
    assert shown["properties"]["currency"]["enum"] == ["EUR", "USD"]
    assert narrow_schema(BASE, [{"currency": _op("eq", "JPY")}]) is None
    assert narrow_schema(BASE, [{"amount": _op("in", ("ten", True))}]) is None


def test_bounds_become_minimum_and_maximum() -> None:
    """min/max -> minimum/maximum (tightest wins); an empty range hides the tool."""
    shown = narrow_schema(BASE, [{"amount": (ResolvedOp("min", -5), ResolvedOp("max", 100))}])
    assert shown is not None
    assert shown["properties"]["amount"] == {"type": "number", "minimum": 0, "maximum": 100}
    assert narrow_schema(BASE, [{"amount": _op("max", -1)}]) is None
    assert (
        narrow_schema(BASE, [{"count": (ResolvedOp("min", 1.2), ResolvedOp("max", 1.8))}]) is None
    )


def test_operators_imply_types() -> None:
    """A bound needs a number, a regex a string: incompatible types hide, missing ones are added."""
    assert narrow_schema(BASE, [{"note": _op("max", 3)}]) is None
    shown = narrow_schema(BASE, [{"anything": _op("max", 3)}])
    assert shown is not None
    assert shown["properties"]["anything"] == {"maximum": 3, "type": "number"}


def test_regex_and_max_length() -> None:
    """regex -> anchored pattern (an existing one kept under allOf); max_length per type."""
    shown = narrow_schema(BASE, [{"note": _op("regex", "[a-c]+"), "tags": _op("max_length", 2)}])
    assert shown is not None
    assert shown["properties"]["note"]["allOf"] == [{"pattern": "^(?:[a-c]+)$"}]
    assert shown["properties"]["tags"]["maxItems"] == 2
    assert "maxLength" not in shown["properties"]["tags"]


def test_ne_and_not_in() -> None:
    """ne/not_in -> not const / not enum."""
    shown = narrow_schema(BASE, [{"currency": _op("not_in", ("GBP",)), "count": _op("ne", 0)}])
    assert shown is not None
    assert shown["properties"]["currency"]["not"] == {"enum": ["GBP"]}
    assert shown["properties"]["count"]["not"] == {"const": 0}


def test_constrained_arguments_become_required_unless_the_default_passes() -> None:
    """The check needs the argument; a default that passes lets it be omitted."""
    passes = narrow_schema(BASE, [{"count": _op("max", 3)}])
    fails = narrow_schema(BASE, [{"count": _op("min", 2)}])
    assert passes is not None and fails is not None
    assert "count" not in passes["required"]
    assert "count" in fails["required"]


def test_undeclared_arguments() -> None:
    """A rule on an argument the schema lacks cannot be met, unless the schema is free-form."""
    assert narrow_schema(BASE, [{"missing": _op("eq", 1)}]) is None
    shown = narrow_schema({"type": "object"}, [{"free": _op("eq", 1)}])
    assert shown == {"type": "object", "properties": {"free": {"enum": [1]}}, "required": ["free"]}


def test_several_regions() -> None:
    """Regions on one argument -> anyOf on the property; on several -> anyOf at the root."""
    one = narrow_schema(BASE, [{"amount": _op("max", 10)}, {"amount": _op("min", 50)}])
    assert one is not None
    assert one["properties"]["amount"]["anyOf"] == [{"maximum": 10}, {"minimum": 50}]
    two = narrow_schema(BASE, [{"amount": _op("max", 10)}, {"currency": _op("eq", "EUR")}])
    assert two is not None
    assert two["anyOf"] == [
        {"properties": {"amount": {"maximum": 10}}, "required": ["amount"]},
        {"properties": {"currency": {"enum": ["EUR"]}}, "required": ["currency"]},
    ]
    assert narrow_schema(BASE, [{"amount": _op("max", -1)}, {"amount": _op("max", 5)}]) == (
        narrow_schema(BASE, [{"amount": _op("max", 5)}])
    )


def test_unresolved_principal_reference_hides() -> None:
    """A reference to something the caller lacks never passes, so nothing is shown."""
    assert narrow_schema(BASE, [{"currency": _op("in", MISSING)}]) is None


def test_principal_references_are_resolved_per_user() -> None:
    """`in: $principal.attributes.currencies` narrows to each user's own list."""
    guard = Guard(
        Policy.model_validate(
            {
                "rules": [
                    {
                        "id": "own-currencies",
                        "allow": ["pay"],
                        "args": {"currency": {"in": "$principal.attributes.currencies"}},
                    }
                ]
            }
        )
    )
    eu = make_principal("eu", currencies=["EUR"])
    nobody = make_principal("none")
    shown = narrow_schema(BASE, guard.regions("pay", eu))
    assert shown is not None and shown["properties"]["currency"]["enum"] == ["EUR"]
    assert narrow_schema(BASE, guard.regions("pay", nobody)) is None


def test_satisfiable_knows_operators_need_different_types() -> None:
    """The evaluator hides a tool whose rule needs a number and a string at once (core fix)."""
    from guardrail.policy.evaluator import satisfiable

    assert not satisfiable([ResolvedOp("min", 1), ResolvedOp("regex", "a+")])
    assert not satisfiable([ResolvedOp("max", 1), ResolvedOp("max_length", 3)])
    assert not satisfiable([ResolvedOp("min", True)])
    assert not satisfiable([ResolvedOp("max", float("nan"))])
    assert not satisfiable([ResolvedOp("max_length", True)])
    assert satisfiable([ResolvedOp("min", 1), ResolvedOp("max", 1)])
    assert satisfiable([ResolvedOp("regex", "a+"), ResolvedOp("max_length", 3)])


def test_deny_rules_with_constraints_become_not() -> None:
    """Evaluator.exclusions + narrow_schema: a constrained deny rule is cut out with `not`."""
    guard = Guard(
        Policy.model_validate(
            {
                "rules": [
                    {"id": "pay", "allow": ["pay"], "args": {"amount": {"max": 500}}},
                    {"id": "no-gbp", "deny": ["pay"], "args": {"currency": {"eq": "GBP"}}},
                ]
            }
        )
    )
    who = make_principal("u")
    exclusions = guard.policy.evaluator.exclusions("pay", who)
    shown = narrow_schema(BASE, guard.regions("pay", who), exclusions)
    assert shown is not None
    assert "allOf" not in shown
    assert shown["properties"]["currency"]["not"] == {"enum": ["GBP"]}
    assert narrow_schema(BASE, [{}], [{}]) is None
    both = {"amount": _op("min", 50), "currency": _op("eq", "USD")}
    assert narrow_schema(BASE, [{}], [both])["allOf"] == [  # type: ignore[index]
        {
            "not": {
                "properties": {"amount": {"minimum": 50}, "currency": {"enum": ["USD"]}},
                "required": ["amount", "currency"],
            }
        }
    ]


def test_flat_never_writes_root_combinators() -> None:
    """flat=True (for APIs that reject root anyOf/allOf) shows a subset, never more."""
    regions = [{"amount": _op("max", 10)}, {"currency": _op("eq", "EUR")}]
    both = {"amount": _op("min", 50), "currency": _op("eq", "USD")}
    shown = narrow_schema(BASE, regions, [both], flat=True)
    assert shown is not None and "anyOf" not in shown and "allOf" not in shown
    assert shown["properties"]["amount"] == {
        "type": "number",
        "minimum": 0,
        "maximum": 10,
        "not": {"minimum": 50},
    }
