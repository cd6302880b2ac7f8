"""The kind of an eq/ne/in/not_in operand against the parameter's declared type.

A rule comparing an argument with a value of another JSON kind can never hold
for an allow rule (the comparison cannot be judged), so registering the tool
reports it, naming the kinds the operator needs; a matching kind is no finding.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from guardrail import Guard, Policy, PolicyWarning
from guardrail.testing import make_principal


def _findings(ops: str, annotation: str) -> list[str]:
    guard = Guard(Policy.from_yaml(f"rules: [{{id: r, allow: [t], args: {{x: {ops}}}}}]"))
    namespace: dict[str, Any] = {}
    exec(f"def t(x: {annotation}) -> None:\n    '''A tool.'''\n", {}, namespace)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guard.tool(name="t")(namespace["t"])
    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


def _never(op: str, needs: str, kind: str) -> str:
    return (
        f"rule 'r', args.x.{op}, tool 't': {op} needs {needs} but argument 'x' is {kind}: "
        "the rule never allows 't'"
    )


@pytest.mark.parametrize(
    ("ops", "annotation", "op", "needs", "kind"),
    [
        ("{eq: [1]}", "str", "eq", "array", "string"),
        ("{ne: [1]}", "str", "ne", "array", "string"),
        ("{eq: {a: 1}}", "str", "eq", "object", "string"),
        ("{ne: {a: 1}}", "int", "ne", "object", "integer"),
        ("{ne: 1}", "str", "ne", "number/integer", "string"),
        ("{eq: 1}", "bool", "eq", "number/integer", "boolean"),
        ("{ne: true}", "str", "ne", "boolean", "string"),
        ("{ne: abc}", "int", "ne", "string", "integer"),
        ("{eq: abc}", "list[str]", "eq", "string", "array"),
        ("{eq: abc}", "dict[str, int]", "eq", "string", "object"),
        ("{in: [[1]]}", "str", "in", "array", "string"),
        ("{not_in: [{a: 1}]}", "str", "not_in", "object", "string"),
        ("{in: [true, 1]}", "str", "in", "boolean/number/integer", "string"),
    ],
)
def test_an_operand_of_another_kind_is_reported_with_the_kinds_it_needs(
    ops: str, annotation: str, op: str, needs: str, kind: str
) -> None:
    assert _findings(ops, annotation) == [_never(op, needs, kind)]


@pytest.mark.parametrize(
    ("ops", "annotation"),
    [
        ("{eq: [1]}", "list[int]"),
        ("{ne: [1]}", "list[int]"),
        ("{eq: {a: 1}}", "dict[str, int]"),
        ("{ne: {a: 1}}", "dict[str, int]"),
        ("{ne: 1}", "int"),
        ("{ne: 1.5}", "int"),  # an integer parameter meets a number operand
        ("{eq: true}", "bool"),
        ("{in: [[1], [2]]}", "list[int]"),
        ("{not_in: [{a: 1}]}", "dict[str, int]"),
    ],
)
def test_an_operand_of_the_parameters_kind_is_no_finding(ops: str, annotation: str) -> None:
    assert _findings(ops, annotation) == []


@pytest.mark.parametrize(
    ("operand", "value", "allowed"),
    [([1], [1], True), ([1], [2], False), ({"a": 1}, {"a": 1}, True), ({"a": 1}, {"a": 2}, False)],
)
def test_an_array_or_object_operand_is_compared_as_a_value(
    operand: Any, value: Any, allowed: bool
) -> None:
    rule = {"id": "r", "allow": ["t"], "args": {"x": {"eq": operand}}}
    policy = Policy.from_dict({"rules": [rule]})
    who = make_principal("p")
    assert policy.decide("t", who, {"x": value}).allowed is allowed
    assert policy.decide("t", who, {"x": "text"}).allowed is False


@pytest.mark.parametrize(
    ("value", "allowed"),
    [(3, True), (1, False), ("1", False), ("3", False), (True, False), ([1], False)],
)
def test_a_member_of_another_kind_cannot_be_judged_so_a_deny_rule_applies(
    value: Any, allowed: bool
) -> None:
    """`in: [1, 2]` cannot tell about "1" (a string) or true: in doubt the deny rule applies."""
    policy = Policy.from_yaml(
        "rules: [{id: a, allow: [t]}, {id: d, deny: [t], args: {x: {in: [1, 2]}}}]"
    )
    decision = policy.decide("t", make_principal("p"), {"x": value})
    assert decision.allowed is allowed
    if not allowed and value != 1:
        assert "cannot tell whether argument 'x' is one of (1, 2)" in decision.reason


@pytest.mark.parametrize(("value", "allowed"), [(3, True), (1, False), ("3", False), (None, False)])
def test_an_allow_rule_not_in_members_of_another_kind_does_not_hold(
    value: Any, allowed: bool
) -> None:
    policy = Policy.from_yaml("rules: [{id: a, allow: [t], args: {x: {not_in: [1, 2]}}}]")
    assert policy.decide("t", make_principal("p"), {"x": value}).allowed is allowed
