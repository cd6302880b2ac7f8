"""A tool is listed exactly when some call could be allowed (and hidden exactly when an
applicable deny rule refuses every call): checked against a brute-force search."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from guardrail import Guard, Policy, PolicyError, PolicyWarning, Principal
from guardrail.testing import make_principal

# `make mutate` runs these once per mutant: it asks for fewer examples.
EXAMPLES = int(os.environ.get("GUARDRAIL_EXAMPLES", "200"))
REF = "$principal.attributes.lim"
SCALARS: list[Any] = [0, 1, 2, -1, 1.5, "a", "b", "", None, True, False]
NUMBERS: list[Any] = [0, 1, 2, -1, 1.5, REF]
WITH_LIM = make_principal("alice", lim=1)
WITHOUT_LIM = make_principal("bob")

scalar = st.sampled_from([*SCALARS, REF])
members = st.lists(scalar, max_size=3)
ops = st.fixed_dictionaries(
    {},
    optional={
        "eq": scalar,
        "ne": scalar,
        "in": members,
        "not_in": members,
        "min": st.sampled_from([*NUMBERS, "a"]),
        "max": st.sampled_from([*NUMBERS, "a"]),
        "max_length": st.sampled_from([0, 1, 2]),
    },
).filter(bool)


def candidates(constraints: dict[str, dict[str, Any]]) -> list[Any]:
    """Every value that could decide a rule over these operators: operands, their
    neighbours, sized values up to past every max_length, and one of each other kind."""
    found: list[Any] = [*SCALARS, 3, -2, 0.5, 2.5, "c", "zz", "aaa", [], [1], [1, 2, 3], {}]
    found += [{"k": 1}]
    for op in constraints.values():
        for operand in op.values():
            for value in operand if isinstance(operand, list) else [operand]:
                found.append(value)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found += [value - 1, value + 1, value - 0.5, value + 0.5]
    return found


def _policy(rules: list[dict[str, Any]]) -> Policy:
    try:
        return Policy.from_dict({"rules": rules})
    except PolicyError:
        reject()


def _some_value_passes(arg: str, constraint: dict[str, Any], who: Principal) -> bool:
    """Brute force over one argument (a rule's arguments are constrained independently)."""
    policy = _policy([{"id": "r", "allow": ["t"], "args": {arg: constraint}}])
    return any(policy.decide("t", who, {arg: v}).allowed for v in candidates({arg: constraint}))


def _exact(constraint: dict[str, Any]) -> bool:
    """The listing is exact for eq/in/min/max/max_length; `ne`/`not_in` are only weighed
    against eq/in candidates (elsewhere a value escaping them is assumed to exist)."""
    return "eq" in constraint or "in" in constraint or not {"ne", "not_in"} & set(constraint)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    x=ops,
    y=st.one_of(st.none(), ops),
    who=st.sampled_from([WITH_LIM, WITHOUT_LIM]),
)
def test_an_allow_rule_lists_a_tool_iff_some_call_is_allowed(
    x: dict[str, Any], y: dict[str, Any] | None, who: Principal
) -> None:
    constraints = {"x": x} if y is None else {"x": x, "y": y}
    policy = _policy([{"id": "r", "allow": ["t"], "args": constraints}])
    listed = policy.visible_tools(who, ["t"]) == ["t"]
    allowed = all(_some_value_passes(arg, c, who) for arg, c in constraints.items())
    if allowed or all(_exact(c) for c in constraints.values()):
        assert listed == allowed, constraints


@settings(max_examples=EXAMPLES, deadline=None)
@given(x=ops, who=st.sampled_from([WITH_LIM, WITHOUT_LIM]))
def test_a_deny_rule_hides_a_tool_iff_it_refuses_every_call(
    x: dict[str, Any], who: Principal
) -> None:
    policy = _policy([{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": {"x": x}}])
    listed = policy.visible_tools(who, ["t"]) == ["t"]
    escapes = [v for v in candidates({"x": x}) if policy.decide("t", who, {"x": v}).allowed]
    assert listed == bool(escapes), (x, escapes[:3])


def _typed_guard(rules: list[dict[str, Any]]) -> Guard:
    """A guard whose tool `t` takes one integer `x` (and nothing else)."""
    guard = Guard(Policy.from_dict({"rules": rules}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)  # the findings are the point here

        @guard.tool(name="t")
        def t(x: int) -> int:
            return x

    return guard


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        ({"x": {"min": 1}}, True),  # an integer parameter meets a number operator
        ({"x": {"eq": 3}}, True),
        ({"x": {"regex": "a"}}, False),  # a regex never judges an integer
        ({"x": {"eq": "a"}}, False),
        ({"y": {"eq": 1}}, False),  # the tool cannot be given `y`
        ({"x": {"min": 1}, "y": {"max": 5}}, False),
    ],
)
def test_an_allow_rule_is_weighed_against_the_tools_parameters(
    args: dict[str, Any], listed: bool
) -> None:
    guard = _typed_guard([{"id": "r", "allow": ["t"], "args": args}])
    assert (guard.visible_tools(WITH_LIM) == ["t"]) is listed
    assert Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": args}]}).visible_tools(
        WITH_LIM, ["t"]
    ) == ["t"]  # without the tool's parameters nothing rules a call out


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        ({"x": {"min": 5}}, True),  # x = 4 escapes
        ({"x": {"regex": "a"}}, False),  # cannot be judged on an integer: always applies
        ({"x": {"eq": "a"}}, False),
        ({"x": {"not_in": []}}, False),  # nothing is outside the empty list... never false
        ({"y": {"eq": 1}}, False),  # `y` is never given: cannot be checked, always applies
        ({"y": {"eq": 1}, "x": {"eq": 2}}, True),  # but x = 3 makes the rule not apply
        ({"x": {"min": REF}}, True),
        ({"x": {"eq": "$principal.attributes.missing"}}, False),
    ],
)
def test_a_deny_rule_is_weighed_against_the_tools_parameters(
    args: dict[str, Any], listed: bool
) -> None:
    guard = _typed_guard([{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": args}])
    assert (guard.visible_tools(WITH_LIM) == ["t"]) is listed
    reachable = [v for v in range(-3, 8) if guard.check("t", {"x": v}, WITH_LIM).allowed]
    assert bool(reachable) is listed


def test_a_later_allow_rule_lists_the_tool_when_an_earlier_one_does_not_apply() -> None:
    policy = _policy(
        [
            {"id": "admins", "allow": ["t"], "when": {"roles": ["admin"]}},
            {"id": "unsatisfiable", "allow": ["t"], "args": {"x": {"min": 5, "max": 1}}},
            {"id": "everyone", "allow": ["t"], "args": {"x": {"max": REF}}},
        ]
    )
    assert policy.visible_tools(WITH_LIM, ["t"]) == ["t"]
    assert [r for r in policy.regions("t", WITH_LIM) if r] and policy.visible_tools(
        WITHOUT_LIM, ["t"]
    ) == []


def test_deny_exclusions_are_resolved_for_the_principal_and_only_where_they_apply() -> None:
    """Schema narrowing shows each applicable constrained deny rule, its `$principal`
    operands resolved; a deny rule whose `when` excludes the principal is not shown."""
    policy = _policy(
        [
            {"id": "all", "allow": ["t"]},
            {"id": "cap", "deny": ["t"], "args": {"x": {"min": REF}}},
            {"id": "admins", "deny": ["t"], "when": {"roles": ["admin"]}, "args": {"x": {"eq": 0}}},
        ]
    )
    (only,) = policy.exclusions("t", WITH_LIM)
    ((op,),) = only.values()
    assert (op.op, op.value) == ("min", 1)


@pytest.mark.parametrize(
    ("ops", "listed"),
    [
        ({"min": 1, "max": 1}, True),  # one value left
        ({"min": 2, "max": 1}, False),
        ({"max_length": 0}, True),  # the empty string
        ({"in": [1, 2], "max": 1}, True),
        ({"in": [2, 3], "max": 1}, False),
    ],
)
def test_listing_edges(ops: dict[str, Any], listed: bool) -> None:
    policy = Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": {"x": ops}}]})
    assert (policy.visible_tools(WITH_LIM, ["t"]) == ["t"]) is listed
