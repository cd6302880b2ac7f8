"""Listing with `$principal` bounds that resolve to something that is not a number (a string,
a bool, NaN, a list, null): no call can pass such a min/max/max_length, so an allow rule
built on one lists nothing, and a deny rule built on one hides the tool."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Policy
from guardrail.testing import make_principal

REF = "$principal.attributes.lim"
ODD_BOUNDS: list[Any] = ["5", True, False, float("nan"), [5], None, {"n": 5}]
VALUES: list[Any] = [-10, -1, 0, 1, 4, 5, 6, 100, 1.5, "", "a", "5", "abcdef", [], [1], {}, None]
OPS = ["min", "max", "max_length"]


def _policy(rules: list[dict[str, Any]]) -> Policy:
    return Policy.from_dict({"rules": rules})


def _listed(policy: Policy, lim: Any) -> bool:
    return policy.visible_tools(make_principal("p", lim=lim), ["t"]) == ["t"]


def _allowed(policy: Policy, lim: Any) -> list[Any]:
    who = make_principal("p", lim=lim)
    return [v for v in VALUES if policy.decide("t", who, {"x": v}).allowed]


@pytest.mark.parametrize("lim", ODD_BOUNDS, ids=repr)
@pytest.mark.parametrize("op", OPS)
def test_an_allow_rule_with_a_non_numeric_bound_lists_nothing(op: str, lim: Any) -> None:
    policy = _policy([{"id": "r", "allow": ["t"], "args": {"x": {op: REF}}}])
    assert _allowed(policy, lim) == []
    assert not _listed(policy, lim)


@pytest.mark.parametrize("lim", ODD_BOUNDS, ids=repr)
@pytest.mark.parametrize("op", ["min", "max"])
def test_one_non_numeric_bound_beside_a_good_one_still_lists_nothing(op: str, lim: Any) -> None:
    """`min: 0` alone admits plenty; paired with a bound that cannot be met, nothing."""
    other = "max" if op == "min" else "min"
    policy = _policy([{"id": "r", "allow": ["t"], "args": {"x": {op: REF, other: 0}}}])
    assert _allowed(policy, lim) == []
    assert not _listed(policy, lim)
    good = _policy([{"id": "r", "allow": ["t"], "args": {"x": {op: 0, other: 0}}}])
    assert _listed(good, lim) and _allowed(good, lim) == [0]


@pytest.mark.parametrize("lim", ODD_BOUNDS, ids=repr)
@pytest.mark.parametrize("op", OPS)
def test_a_deny_rule_with_a_non_numeric_bound_hides_the_tool(op: str, lim: Any) -> None:
    """The deny rule cannot be evaluated, so it applies to every call: nothing escapes it."""
    policy = _policy(
        [{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": {"x": {op: REF}}}]
    )
    assert _allowed(policy, lim) == []
    assert not _listed(policy, lim)


@pytest.mark.parametrize(("op", "lim"), [("min", 5), ("max", 5), ("max_length", 2)])
def test_numeric_bounds_from_the_principal_list_the_tool(op: str, lim: Any) -> None:
    policy = _policy([{"id": "r", "allow": ["t"], "args": {"x": {op: REF}}}])
    assert _allowed(policy, lim) and _listed(policy, lim)
    deny = _policy(
        [{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": {"x": {op: REF}}}]
    )
    assert _allowed(deny, lim) and _listed(deny, lim)


@pytest.mark.parametrize(
    ("op", "lim"),
    [
        ("in", "5"),
        ("in", 5),
        ("in", {"a": 1}),
        ("not_in", "5"),
        ("not_in", None),
        ("not_in", []),  # nothing is in the empty list: the rule holds for every value
        ("eq", float("nan")),
        ("ne", float("nan")),
    ],
    ids=repr,
)
def test_a_deny_rule_no_value_can_escape_hides_the_tool(op: str, lim: Any) -> None:
    policy = _policy(
        [{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": {"x": {op: REF}}}]
    )
    assert _allowed(policy, lim) == []
    assert not _listed(policy, lim)


@pytest.mark.parametrize(("op", "lim"), [("in", [5]), ("not_in", [5]), ("eq", "5"), ("ne", 5)])
def test_a_deny_rule_some_value_escapes_lists_the_tool(op: str, lim: Any) -> None:
    policy = _policy(
        [{"id": "all", "allow": ["t"]}, {"id": "no", "deny": ["t"], "args": {"x": {op: REF}}}]
    )
    assert _allowed(policy, lim) and _listed(policy, lim)


def test_a_deny_regex_lists_the_tool_when_some_string_escapes_it() -> None:
    policy = _policy(
        [
            {"id": "all", "allow": ["t"]},
            {"id": "no", "deny": ["t"], "args": {"x": {"regex": "a.*"}}},
        ]
    )
    assert _listed(policy, 1)
    assert _allowed(policy, 1) == ["", "5"]  # other strings: denied; other types: in doubt
