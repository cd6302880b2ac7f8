"""What a refusal says, and whom a principal reference lets through.

A default deny names who was refused (an anonymous caller, or the principal) and
the tool, whether the decision was worked out once per principal or per call.
A ``$principal`` path that runs through a value that is not a mapping resolves
to nothing, so a deny rule using it applies in doubt; an approve rule's
reference is resolved for the calling principal.
"""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Guard, PermissionDenied, Policy, PolicyError
from guardrail.policy.decision import Decision
from guardrail.testing import make_principal

ALICE = make_principal("alice", org="acme", roles=["support"], region="eu", team={"name": "x"})


def test_an_anonymous_default_deny_says_an_anonymous_caller() -> None:
    policy = Policy.from_yaml("rules: [{id: a, allow: [t], when: {roles: [support]}}]")
    assert policy.decide("t", None, {}) == Decision(
        False, None, "no rule allows an anonymous caller to call 't' (default deny)"
    )
    assert policy.decide("u", ALICE, {}) == Decision(
        False, None, "no rule allows alice (org acme) to call 'u' (default deny)"
    )


def test_an_invalid_tool_name_is_refused_with_its_reason() -> None:
    policy = Policy.from_yaml("rules: [{id: a, allow: ['*']}]")
    name = "t\u200bx"  # a zero-width space: not a tool name
    expected = Decision(False, None, f"{name!r} is not a valid tool name")
    assert policy.decide(name, ALICE, {}) == expected
    assert policy.decide(name, None, {}) == expected


@pytest.mark.parametrize(
    "ref",
    [
        "$principal.attributes.region.name",  # "eu" is a string: no field `name`
        "$principal.attributes.region.upper",  # nor a method read as a value
        "$principal.attributes.team.name.first",  # "x" has no `first`
    ],
)
@pytest.mark.parametrize("op", ["eq", "ne", "in", "not_in"])
def test_a_reference_through_a_non_mapping_leaves_a_deny_rule_applying(ref: str, op: str) -> None:
    policy = Policy.from_dict(
        {
            "rules": [
                {"id": "a", "allow": ["t"]},
                {"id": "d", "deny": ["t"], "args": {"x": {op: ref}}},
            ]
        }
    )
    for value in ["eu", "EU", "x", "", 0, None]:
        decision = policy.decide("t", ALICE, {"x": value})
        assert not decision.allowed, (op, value)
        assert decision.rule == "d"
        assert "cannot tell whether" in decision.reason


def test_a_reference_through_a_non_mapping_never_lets_an_allow_rule_hold() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: a, allow: [t], args: {x: {ne: $principal.attributes.region.name}}}]"
    )
    assert not any(policy.decide("t", ALICE, {"x": v}).allowed for v in ["eu", "y", None, 1])
    assert policy.visible_tools(ALICE, ["t"]) == []


APPROVE_OTHERS = Policy.from_yaml(
    "rules: [{id: a, allow: [refund]},"
    " {id: others, approve: [refund], approvers: {roles: [lead]},"
    "  args: {owner: {ne: $principal.subject}}}]"
)


@pytest.mark.parametrize(
    ("who", "args", "held"),
    [
        (ALICE, {"owner": "alice"}, False),  # her own record: no approval
        (ALICE, {"owner": "bob"}, True),
        (make_principal("bob"), {"owner": "bob"}, False),
        (make_principal("bob"), {"owner": "alice"}, True),
        (ALICE, {}, True),  # cannot be judged: held
    ],
)
def test_an_approve_rule_resolves_its_reference_for_the_caller(
    who: Any, args: dict[str, Any], held: bool
) -> None:
    decision = APPROVE_OTHERS.decide("refund", who, args)
    assert decision.approval is held
    assert decision.allowed is not held
    assert decision.rule == ("others" if held else "a")


def _skill_guard() -> tuple[Guard, list[str]]:
    """A skill whose step may touch only the caller's own records (a deny rule on others')."""
    guard = Guard(
        Policy.from_yaml(
            "rules: [{id: staff, allow: [close_case]},"
            " {id: not-yours, deny: [delete_record], args: {owner: {ne: $principal.subject}}}]"
        )
    )
    deleted: list[str] = []

    @guard.tool(expose="skill")
    def delete_record(owner: str) -> str:
        deleted.append(owner)
        return owner

    @guard.skill
    def close_case(owner: str) -> str:
        return delete_record(owner)

    return guard, deleted


def test_a_skill_steps_deny_rule_resolves_its_reference_for_the_caller() -> None:
    guard, deleted = _skill_guard()
    assert guard.call("close_case", {"owner": "alice"}, principal=ALICE) == "alice"
    with pytest.raises(PermissionDenied) as refused:
        guard.call("close_case", {"owner": "bob"}, principal=ALICE)
    assert refused.value.rule == "not-yours"
    assert deleted == ["alice"]


@pytest.mark.parametrize(
    "ref",
    [
        "$principal.attributes.region.",
        "$principal.attributes..region",
        "$principal.attributes.a..b",
    ],
)
def test_a_reference_with_an_empty_path_part_is_refused_when_the_policy_loads(ref: str) -> None:
    """Such a path resolves to nothing for every principal: a rule that reads as a check."""
    rule = {"id": "r", "deny": ["t"], "args": {"x": {"eq": ref}}}
    with pytest.raises(PolicyError, match="names no principal field"):
        Policy.from_dict({"rules": [rule]})


@pytest.mark.parametrize(
    ("rules", "who", "args"),
    [
        # a deny rule whose constraint fails, and no allow rule for the tool
        ("[{id: d, deny: [t], args: {x: {eq: 1}}}, {id: a, allow: [u]}]", ALICE, {"x": 2}),
        ("[{id: d, deny: [t], args: {x: {eq: 1}}, when: {anonymous: true}}]", None, {"x": 2}),
        # an approve rule whose constraint fails, and no allow rule for the tool
        (
            "[{id: ap, approve: [t], approvers: {roles: [lead]}, args: {x: {min: 10}}}]",
            ALICE,
            {"x": 2},
        ),
    ],
)
def test_no_allow_rule_after_the_deny_and_approve_rules_is_a_default_deny(
    rules: str, who: Any, args: dict[str, Any]
) -> None:
    name = "alice (org acme)" if who else "an anonymous caller"
    assert Policy.from_yaml(f"rules: {rules}").decide("t", who, args) == Decision(
        False, None, f"no rule allows {name} to call 't' (default deny)"
    )


def test_a_misspelt_reference_is_refused_naming_the_fields_it_may_use() -> None:
    rule = {"id": "r", "deny": ["t"], "args": {"x": {"eq": "$principal.subjet"}}}
    with pytest.raises(PolicyError) as refused:
        Policy.from_dict({"rules": [rule]})
    assert str(refused.value).endswith(
        "'$principal.subjet' names no principal field (use expires_at, issuer, org, roles, "
        "scopes, subject, teams or attributes.<name>)"
    )


@pytest.mark.parametrize("literal", ["$100", "$", "xprincipal.subject", "principality"])
def test_literals_that_merely_resemble_a_reference_load_as_literals(literal: str) -> None:
    rule = {"id": "r", "allow": ["t"], "args": {"x": {"eq": literal}}}
    policy = Policy.from_dict({"rules": [rule]})
    assert policy.decide("t", ALICE, {"x": literal}).allowed
