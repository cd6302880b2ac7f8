"""Deny beats allow inside a skill too: a skill's step is refused by a deny rule that
covers it (its arguments and its `when` weighed for the caller), and runs otherwise."""

from __future__ import annotations

import pytest

from guardrail import Guard, PermissionDenied, Policy
from guardrail.testing import make_principal

RULES = [
    {"id": "hr-onboarding", "allow": ["onboard_employee"], "when": {"roles": ["hr"]}},
    {"id": "no-root", "deny": ["create_account"], "args": {"username": {"eq": "root"}}},
    {"id": "no-interns", "deny": ["create_account"], "when": {"attributes": {"intern": True}}},
]
HR = make_principal("hana", roles=["hr"])
INTERN = make_principal("ivo", roles=["hr"], intern=True)


def _guard() -> tuple[Guard, list[str]]:
    guard = Guard(Policy.from_dict({"rules": RULES}))
    created: list[str] = []

    @guard.tool(expose="skill")
    def create_account(username: str) -> str:
        created.append(username)
        return username

    @guard.skill
    def onboard_employee(name: str) -> str:
        return create_account(name)

    return guard, created


def test_a_step_runs_when_no_deny_rule_covers_it() -> None:
    guard, created = _guard()
    assert guard.call("onboard_employee", {"name": "zoe"}, principal=HR) == "zoe"
    assert created == ["zoe"]


def test_a_deny_rule_on_the_steps_arguments_refuses_the_step() -> None:
    guard, created = _guard()
    with pytest.raises(PermissionDenied) as refused:
        guard.call("onboard_employee", {"name": "root"}, principal=HR)
    assert refused.value.rule == "no-root"
    assert str(refused.value) == (
        f"{HR.describe()} may not call 'create_account': rule 'no-root' denies 'create_account'"
    )
    assert created == []


def test_a_deny_rule_whose_when_covers_the_caller_refuses_the_step() -> None:
    guard, created = _guard()
    with pytest.raises(PermissionDenied) as refused:
        guard.call("onboard_employee", {"name": "zoe"}, principal=INTERN)
    assert refused.value.rule == "no-interns" and created == []


@pytest.mark.parametrize(
    ("tool", "who", "args", "rule"),
    [
        ("create_account", HR, {"username": "root"}, "no-root"),
        ("create_account", HR, {"username": "zoe"}, None),
        ("create_account", INTERN, {"username": "zoe"}, "no-interns"),
        ("create_account", make_principal("ann"), {"username": "root"}, "no-root"),
        ("onboard_employee", HR, {}, None),
    ],
)
def test_the_evaluators_denial_is_the_first_matching_deny_rule(
    tool: str, who: object, args: dict[str, str], rule: str | None
) -> None:
    evaluator = Policy.from_dict({"rules": RULES}).evaluator
    denial = evaluator.denial(tool, who, args)  # type: ignore[arg-type]
    assert (denial.rule if denial is not None else None) == rule
    if denial is not None:
        assert not denial.allowed


def test_a_name_that_is_not_a_valid_tool_name_is_always_denied() -> None:
    evaluator = Policy.from_dict({"rules": RULES}).evaluator
    for name in ("create\u200baccount", "create account", ""):
        denial = evaluator.denial(name, HR, {})
        assert denial is not None and not denial.allowed and denial.rule is None
        assert "is not a valid tool name" in denial.reason
