"""Constraints no value can meet, as ``Guard(strict=True)`` refuses them: located by file,
rule and argument; constraints that read a ``$principal`` field are known only at call
time and are never reported."""

from __future__ import annotations

import pytest

from guardrail import Guard, Policy, PolicyError


def test_a_strict_guard_refuses_a_constraint_no_value_meets_saying_where() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: r, allow: [t], args: {x: {min: 10, max: 5}}},"
        " {id: s, deny: [t], args: {y: {in: []}}}]",
        source="p.yaml",
    )
    with pytest.raises(PolicyError) as refused:
        Guard(policy, strict=True)
    assert str(refused.value) == (
        "p.yaml: rule 'r', args.x, tool '*': no value meets all of {'min': 10, 'max': 5}: "
        "the rule never applies; "
        "p.yaml: rule 's', args.y, tool '*': no value meets all of {'in': ()}: "
        "the rule never applies"
    )


@pytest.mark.parametrize(
    "ops",
    [
        "{min: 1, max: $principal.attributes.limit}",
        "{in: $principal.attributes.regions}",
        "{not_in: $principal.teams, eq: a}",
        "{max_length: $principal.attributes.size}",
    ],
)
def test_a_constraint_on_a_principal_field_is_judged_at_call_time(ops: str) -> None:
    policy = Policy.from_yaml(f"rules: [{{id: r, allow: [t], args: {{x: {ops}}}}}]")
    assert Guard(policy, strict=True).policy is policy
