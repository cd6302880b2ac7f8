"""Policy decisions: default deny, deny beats allow, globs, every argument operator."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Policy, Principal
from guardrail.testing import make_principal

ALICE = make_principal("alice", roles=["support"], teams=["payments"], org="acme")
BOB = make_principal("bob", roles=["support"], employment="contractor", regions=["eu", "us"])


def policy(*rules: dict[str, Any]) -> Policy:
    return Policy.from_dict({"rules": list(rules)})


def test_default_deny() -> None:
    """With no rule for a tool, the call is denied and no rule is named."""
    decision = policy().decide("refund", ALICE, {})
    assert not decision.allowed
    assert decision.rule is None
    assert "default deny" in decision.reason


def test_deny_beats_allow_regardless_of_order() -> None:
    """A matching deny rule wins even when an allow rule comes first."""
    p = policy(
        {"id": "allow", "allow": "refund", "when": {"roles": "support"}},
        {
            "id": "no-contractors",
            "deny": "refund",
            "when": {"attributes": {"employment": "contractor"}},
        },
    )
    assert p.decide("refund", ALICE).allowed
    decision = p.decide("refund", BOB)
    assert (decision.allowed, decision.rule) == (False, "no-contractors")


@pytest.mark.parametrize(
    ("pattern", "tool", "allowed"),
    [
        ("lookup_*", "lookup_order", True),
        ("lookup_*", "lookup", False),
        ("crm/*", "crm/find", True),
        ("crm/*", "erp/find", False),
        ("get_?", "get_x", True),
        ("*", "anything", True),
    ],
)
def test_globs(pattern: str, tool: str, allowed: bool) -> None:
    """Tool globs follow fnmatch semantics on the whole name."""
    assert policy({"id": "r", "allow": pattern}).decide(tool, ALICE).allowed is allowed


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ({"eq": "A-1"}, "A-1", "A-2"),
        ({"ne": "root"}, "alice", "root"),
        ({"in": ["eu", "us"]}, "eu", "apac"),
        ({"not_in": ["prod"]}, "dev", "prod"),
        ({"min": 10}, 10, 9.99),
        ({"max": 100}, 100, 100.01),
        ({"regex": "[A-Z]-\\d+"}, "A-17", "A-17x"),
        ({"max_length": 3}, "abc", "abcd"),
    ],
)
def test_every_operator_both_outcomes(constraint: dict[str, Any], good: Any, bad: Any) -> None:
    """Each operator admits a passing value and refuses a failing one, naming the argument."""
    p = policy({"id": "r", "allow": "t", "args": {"x": constraint}})
    assert p.decide("t", ALICE, {"x": good}).allowed
    decision = p.decide("t", ALICE, {"x": bad})
    assert not decision.allowed
    assert decision.rule == "r"
    assert "'x'" in decision.reason


def test_missing_constrained_argument_is_denied() -> None:
    """A constraint on an argument the call does not carry fails closed."""
    p = policy({"id": "r", "allow": "t", "args": {"x": {"max": 1}}})
    assert not p.decide("t", ALICE, {}).allowed


def test_numeric_operators_refuse_non_numbers() -> None:
    """min/max never compare strings or booleans."""
    p = policy({"id": "r", "allow": "t", "args": {"x": {"max": 100}}})
    assert not p.decide("t", ALICE, {"x": "5"}).allowed
    assert not p.decide("t", ALICE, {"x": True}).allowed


def test_constraint_referencing_the_principal() -> None:
    """User A may read A's record, not B's ("only your own records")."""
    p = policy(
        {"id": "own", "allow": "get_order", "args": {"customer_id": {"eq": "$principal.subject"}}}
    )
    assert p.decide("get_order", ALICE, {"customer_id": "alice"}).allowed
    denied = p.decide("get_order", ALICE, {"customer_id": "bob"})
    assert not denied.allowed
    assert "bob" not in denied.reason  # reasons never echo argument values


def test_constraint_referencing_principal_attributes_list() -> None:
    """`in: principal.attributes.regions` resolves per caller; a missing attribute never passes."""
    p = policy(
        {"id": "r", "allow": "deploy", "args": {"region": {"in": "principal.attributes.regions"}}}
    )
    assert p.decide("deploy", BOB, {"region": "eu"}).allowed
    assert not p.decide("deploy", BOB, {"region": "apac"}).allowed
    assert not p.decide("deploy", ALICE, {"region": "eu"}).allowed


@pytest.mark.parametrize(
    ("when", "who", "matches"),
    [
        ({"roles": ["admin", "support"]}, ALICE, True),
        ({"roles": ["admin"]}, ALICE, False),
        ({"teams": "payments"}, ALICE, True),
        ({"org": "acme"}, ALICE, True),
        ({"org": "globex"}, ALICE, False),
        ({"scopes": ["a", "b"]}, make_principal("s", scopes=["a", "b", "c"]), True),
        ({"scopes": ["a", "b"]}, make_principal("s", scopes=["a"]), False),
        ({"subjects": ["bob"]}, BOB, True),
        ({"attributes": {"regions": "us"}}, BOB, True),
        ({"attributes": {"regions": ["apac"]}}, BOB, False),
    ],
)
def test_principal_conditions(when: dict[str, Any], who: Principal, matches: bool) -> None:
    """roles/teams/org any-of, scopes all-of, attributes equal or overlapping."""
    assert policy({"id": "r", "allow": "t", "when": when}).decide("t", who).allowed is matches


def test_anonymous_rules_apply_only_without_a_principal() -> None:
    """`anonymous: true` admits callers with no principal and nobody else."""
    p = policy({"id": "public", "allow": "status", "when": {"anonymous": True}})
    assert p.decide("status", None).allowed
    assert not p.decide("status", ALICE).allowed
    assert not policy({"id": "r", "allow": "status"}).decide("status", None).allowed


def test_visible_tools_and_regions() -> None:
    """A tool is visible when some allow rule applies and no unconditional deny does."""
    p = policy(
        {
            "id": "refunds",
            "allow": ["refund", "lookup_*"],
            "when": {"roles": "support"},
            "args": {"amount": {"max": 100}},
        },
        {"id": "impossible", "allow": "broken", "args": {"n": {"min": 5, "max": 1}}},
        {
            "id": "no-contractors",
            "deny": "refund",
            "when": {"attributes": {"employment": "contractor"}},
        },
    )
    names = ["refund", "lookup_order", "broken", "delete"]
    assert p.visible_tools(ALICE, names) == ["refund", "lookup_order"]
    assert p.visible_tools(BOB, names) == ["lookup_order"]
    [region] = p.regions("refund", ALICE)
    assert [(op.op, op.value) for op in region["amount"]] == [("max", 100)]


def test_many_rules_are_indexed_not_scanned() -> None:
    """Exact tool names resolve through the index; a 20,000-rule policy decides correctly."""
    rules = [
        {"id": f"r{i}", "allow": f"tool_{i}", "when": {"roles": f"role_{i % 7}"}}
        for i in range(20_000)
    ]
    p = policy(*rules)
    who = make_principal("u", roles=["role_3"])
    assert p.decide("tool_10", who).allowed
    assert not p.decide("tool_11", who).allowed
    assert len(p.evaluator.rules_for("tool_10").allow) == 1


def test_digest_identifies_the_policy() -> None:
    """Equal policies share a digest; any change gives a new one."""
    a = policy({"id": "r", "allow": "t"})
    assert a.digest == policy({"id": "r", "allow": "t"}).digest
    assert a.digest != policy({"id": "r", "allow": "u"}).digest


def test_globs_filed_by_prefix_still_match_in_policy_order() -> None:
    """Globs with different literal prefixes all match, and the first rule in the file wins."""
    p = policy(
        {"id": "narrow", "allow": "crm/lookup_*", "args": {"n": {"max": 1}}},
        {"id": "any", "allow": "*"},
        {"id": "crm", "allow": ["crm/*", "crm/[lx]ookup_?"]},
    )
    rules = p.evaluator.rules_for("crm/lookup_x")
    assert [c.id for c in rules.allow] == ["narrow", "any", "crm"]
    assert p.decide("crm/lookup_x", ALICE, {"n": 1}).rule == "narrow"
    assert p.decide("crm/lookup_x", ALICE, {"n": 5}).rule == "any"
    assert [c.id for c in p.evaluator.rules_for("erp/x").allow] == ["any"]
