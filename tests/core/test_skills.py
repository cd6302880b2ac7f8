"""Skills: playbooks authorized as a whole, with steps the agent cannot call directly."""

from __future__ import annotations

import pytest

from guardrail import Guard, PermissionDenied, Policy, current_principal
from guardrail.testing import capture_audit, make_principal

POLICY = Policy.from_dict(
    {"rules": [{"id": "hr-onboarding", "allow": "onboard_employee", "when": {"roles": "hr"}}]}
)
HR = make_principal("hana", roles=["hr"])


def test_skill_steps_run_inside_the_skill_and_nowhere_else() -> None:
    """An expose="skill" tool runs as a step of a skill, is refused directly and is hidden."""
    guard = Guard(POLICY)
    created: list[str] = []

    @guard.tool(expose="skill")
    def create_account(username: str) -> str:
        who = current_principal()
        assert who is not None
        created.append(f"{username} by {who.subject}")
        return username

    @guard.skill
    def onboard_employee(name: str) -> str:
        """Create the accounts a new employee needs."""
        return create_account(name.lower())

    with capture_audit(guard) as events, guard.acting_as(HR):
        assert onboard_employee("Zoe") == "zoe"
        with pytest.raises(PermissionDenied, match="only be called from inside a skill"):
            create_account("eve")
    assert created == ["zoe by hana"]
    assert guard.visible_tools(HR) == ["onboard_employee"]
    intents = [(e.tool, e.rule) for e in events if e.phase == "intent"]
    assert intents == [("onboard_employee", "hr-onboarding"), ("create_account", "hr-onboarding")]
    assert events[-1].phase == "refusal" and events[-1].tool == "create_account"


def test_a_skill_is_authorized_like_any_tool() -> None:
    """Without a rule for the skill, the skill (and so its steps) is denied."""
    guard = Guard(POLICY)

    @guard.tool(expose="skill")
    def create_account(username: str) -> str:
        raise AssertionError("must not run")

    @guard.skill(name="onboard_employee")
    def onboard(name: str) -> str:
        return create_account(name)

    with guard.acting_as(make_principal("bob", roles=["sales"])), pytest.raises(PermissionDenied):
        onboard("Zoe")
