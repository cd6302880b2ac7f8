"""Approve rules as the policy decides them (held for a human when their constraints hold
or cannot be judged), regex exclusions shown as their pattern text, membership operands."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from guardrail import Guard, Policy, PolicyWarning
from guardrail.policy.decision import Decision
from guardrail.testing import make_principal

WHO = make_principal("p", lim="ab")
APPROVE = Policy.from_yaml(
    "rules: [{id: a, allow: [t]},"
    " {id: ap, approve: [t], approvers: {roles: [lead]}, args: {x: {eq: big}}}]"
)
HELD = "rule 'ap' requires a human approval for this call of 't'"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"x": "big"}, Decision(False, "ap", HELD, approval=True)),
        ({"x": 3}, Decision(False, "ap", HELD, approval=True)),  # cannot be judged: held
        ({}, Decision(False, "ap", HELD, approval=True)),  # absent: held
        ({"x": "small"}, Decision(True, "a", "allowed by rule 'a'", approval=False)),
    ],
)
def test_an_approve_rule_holds_every_call_it_may_cover(
    args: dict[str, Any], expected: Decision
) -> None:
    assert APPROVE.decide("t", WHO, args) == expected


def test_exclusions_show_a_deny_regex_as_its_pattern_text() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: a, allow: [t]}, {id: r, deny: [t], args: {x: {regex: 'a.*'}}}]"
    )
    ((op,),) = [ops for region in policy.exclusions("t", WHO) for ops in region.values()]
    assert (op.op, op.value) == ("regex", "a.*")


def _findings(ops: str) -> list[str]:
    guard = Guard(Policy.from_yaml(f"rules: [{{id: r, allow: [t], args: {{x: {ops}}}}}]"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


@pytest.mark.parametrize("ops", ["{in: [null, 1]}", "{in: []}", "{not_in: [null, 1]}"])
def test_members_with_null_or_none_judge_every_type(ops: str) -> None:
    assert _findings(ops) == []


def test_members_that_are_all_numbers_do_not_judge_a_string() -> None:
    (finding,) = _findings("{in: [1, 2]}")
    assert "in needs number/integer but argument 'x' is string" in finding


@pytest.mark.parametrize("op", ["in", "not_in"])
def test_an_allow_rule_on_members_that_are_not_a_list_lists_nothing(op: str) -> None:
    """`$principal.attributes.lim` is the string "ab": not a list of members."""
    policy = Policy.from_dict(
        {"rules": [{"id": "r", "allow": ["t"], "args": {"x": {op: "$principal.attributes.lim"}}}]}
    )
    assert policy.visible_tools(WHO, ["t"]) == []
    assert not any(policy.decide("t", WHO, {"x": v}).allowed for v in ["a", "b", "ab", "c", 1])
