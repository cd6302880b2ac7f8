"""Runaway control: per-session call limits and identical-call detection."""

from __future__ import annotations

import pytest

from guardrail import BudgetExceeded, Guard, Policy
from guardrail.budgets import Ledger, Limit
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice")


def guard_with(ledger: Ledger, *limits: dict[str, object]) -> Guard:
    policy = Policy.model_validate(
        {"rules": [{"id": "everyone", "allow": ["*"]}], "limits": list(limits)}
    )
    return Guard(policy, ledger=ledger)


def test_a_session_limit_caps_calls_per_agent_run(ledger: Ledger) -> None:
    """3 calls per session: the 4th in a run is denied, a new run starts afresh."""
    guard = guard_with(ledger, {"id": "run-steps", "per": "session", "calls": 3})

    @guard.tool
    def step(n: int) -> int:
        return n

    with guard.acting_as(ALICE):
        with guard.session("run-1") as run, capture_audit(guard) as events:
            assert run == "run-1"
            for n in range(3):
                step(n)
            with pytest.raises(BudgetExceeded) as caught:
                step(3)
        assert (caught.value.level, caught.value.key) == ("session", "run-1")
        assert {e.session for e in events} == {"run-1"}
        with guard.session() as other:
            assert other != "run-1"
            step(0)
        for n in range(5):
            step(n)  # outside any session: not counted
    assert [u.used for u in guard.usage(ALICE, session="run-1")] == [3]


async def test_sessions_follow_asyncio_tasks(ledger: Ledger) -> None:
    """A session bound with ``async with`` counts calls made in tasks started inside it."""
    guard = guard_with(ledger, {"id": "run-steps", "per": "session", "calls": 2})

    @guard.tool
    async def step() -> None:
        return None

    async with guard.acting_as(ALICE), guard.session("async-run"):
        await step()
        await step()
        with pytest.raises(BudgetExceeded):
            await step()


def test_identical_calls_are_detected(ledger: Ledger) -> None:
    """The same tool with the same arguments a 4th time is denied with a readable reason."""
    guard = guard_with(
        ledger, {"id": "loop", "per": "session", "calls": "3/minute", "identical": True}
    )

    @guard.tool
    def search(query: str, page: int = 1) -> str:
        return query

    with guard.acting_as(ALICE), guard.session("run"):
        for _ in range(3):
            search("refund policy")
        search("refund policy", page=2)  # different arguments: a different count
        search(page=1, query="other")
        with pytest.raises(BudgetExceeded) as caught:
            search(query="refund policy", page=1)  # same as the first three
    message = str(caught.value)
    assert "already called 3 times with these exact arguments" in message
    assert "Change the arguments or stop calling it" in message
    assert caught.value.limit == "loop"


def test_identical_needs_a_calls_limit() -> None:
    """``identical`` only makes sense on a calls limit."""
    with pytest.raises(ValueError, match="identical"):
        Limit.model_validate({"id": "x", "cost": 5, "identical": True})
