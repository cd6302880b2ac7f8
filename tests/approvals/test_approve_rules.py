"""The ``approve`` rule: how it is written, validated and decided."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Policy, PolicyError, Principal

AGENT = Principal(subject="alice", roles=frozenset({"agent"}))


def rules(*extra: dict[str, Any]) -> Policy:
    return Policy.from_dict(
        {
            "rules": [
                {"id": "ok", "allow": "refund", "when": {"roles": ["agent"]}},
                {
                    "id": "big",
                    "approve": "refund",
                    "args": {"amount": {"min": 100}},
                    "approvers": {"roles": ["finance-lead"]},
                    "ttl": "30m",
                },
                *extra,
            ]
        }
    )


def test_approve_rule_holds_matching_calls_and_allow_decides_the_rest() -> None:
    policy = rules()
    held = policy.decide("refund", AGENT, {"amount": 500})
    assert (held.allowed, held.approval, held.rule) == (False, True, "big")
    assert policy.decide("refund", AGENT, {"amount": 50}).allowed
    assert policy.rules[1].ttl == 1800 and policy.rules[1].effect == "approve"


def test_deny_beats_approve() -> None:
    policy = rules({"id": "no", "deny": "refund", "args": {"amount": {"min": 1000}}})
    decision = policy.decide("refund", AGENT, {"amount": 5000})
    assert (decision.allowed, decision.approval, decision.rule) == (False, False, "no")


def test_a_value_the_rule_cannot_judge_goes_to_a_human() -> None:
    """Like a deny rule, an approve rule applies when in doubt (never around the human)."""
    decision = rules().decide("refund", AGENT, {"amount": "lots"})
    assert decision.approval and decision.rule == "big"


def test_approve_rule_alone_makes_the_tool_visible() -> None:
    policy = Policy.from_dict(
        {"rules": [{"id": "a", "approve": "wire", "approvers": {"roles": ["cfo"]}}]}
    )
    assert policy.visible_tools(AGENT, ["wire", "other"]) == ["wire"]
    assert policy.decide("wire", AGENT, {}).approval


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"approve": "x"}, "needs 'approvers'"),
        ({"approve": "x", "approvers": {}}, "needs 'approvers'"),
        ({"allow": "x", "approvers": {"roles": ["a"]}}, "belong to 'approve' rules only"),
        ({"deny": "x", "ttl": "1h"}, "belong to 'approve' rules only"),
        ({"approve": "x", "allow": "x", "approvers": {"roles": ["a"]}}, "exactly one of"),
        ({"approve": "x", "approvers": {"roles": ["a"]}, "ttl": 0}, "above zero"),
        ({"approve": "x", "approvers": {"roles": ["a"]}, "ttl": "soon"}, "not a duration"),
        ({"approve": "x", "approvers": {"roles": []}}, "empty list"),
    ],
)
def test_malformed_approve_rules_are_located(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        Policy.from_dict({"rules": [{"id": "r", **rule}]}, source="p.yaml")
    assert "file p.yaml, rule 'r'" in str(caught.value)
