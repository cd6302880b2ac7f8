"""Budgets through the real Guard pipeline (decorated tools), on both ledgers."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from guardrail import BudgetExceeded, Guard, Policy, carry_principal, report_cost
from guardrail.budgets import Ledger
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice", teams=["payments"], org="acme")
BOB = make_principal("bob", teams=["payments", "risk"], org="acme")


def guard_with(ledger: Ledger, *limits: dict[str, Any]) -> Guard:
    policy = Policy.model_validate(
        {"rules": [{"id": "everyone", "allow": ["*"]}], "limits": list(limits)}
    )
    return Guard(policy, ledger=ledger)


def test_team_exhausted_denies_a_user_within_their_own_budget(ledger: Ledger) -> None:
    """Alice has user budget left, but team payments does not: denied, naming the team."""
    guard = guard_with(
        ledger,
        {"id": "user-spend", "per": "user", "cost": 100, "period": "day"},
        {"id": "team-spend", "per": "team", "cost": 10, "period": "day"},
    )

    @guard.tool(cost=4)
    def refund(order: str) -> str:
        return order

    with guard.acting_as(BOB):
        refund("a")
        refund("b")  # payments and risk: 8 of 10 each
    with guard.acting_as(ALICE), pytest.raises(BudgetExceeded) as caught:
        refund("c")
    err = caught.value
    assert (err.limit, err.level, err.key, err.used, err.maximum) == (
        "team-spend",
        "team",
        "payments",
        8,
        10,
    )
    assert err.retry_after is not None and err.retry_after > 0
    assert "team 'payments'" in str(err)
    assert [u.used for u in guard.usage(ALICE) if u.limit == "user-spend"] == [0]


def test_user_exhausted_is_denied_while_the_team_has_room(ledger: Ledger) -> None:
    """The reverse: the team has budget, Alice's own is spent: denied, naming the user."""
    guard = guard_with(
        ledger,
        {"id": "user-rate", "per": "user", "calls": "2/minute"},
        {"id": "team-rate", "per": "team", "calls": "100/minute"},
    )

    @guard.tool
    def lookup(order: str) -> str:
        return order

    with guard.acting_as(ALICE):
        lookup("a")
        lookup("b")
        with pytest.raises(BudgetExceeded) as caught:
            lookup("c")
    assert (caught.value.level, caught.value.key, caught.value.limit) == (
        "user",
        "alice",
        "user-rate",
    )
    team = {u.key: u.used for u in guard.usage(ALICE) if u.limit == "team-rate"}
    assert team == {"payments": 2}  # the denied call charged nothing


def test_every_team_of_a_principal_is_charged(ledger: Ledger) -> None:
    """A principal in two teams spends from both team budgets."""
    guard = guard_with(ledger, {"id": "team-spend", "per": "team", "cost": 10, "period": "month"})

    @guard.tool(cost=3)
    def pay() -> None:
        return None

    with guard.acting_as(BOB):
        pay()
    assert {u.key: u.used for u in guard.usage(BOB)} == {"payments": 3, "risk": 3}


def test_reported_cost_is_settled(ledger: Ledger) -> None:
    """Declared cost is reserved; the cost the tool reports is what stays charged."""
    guard = guard_with(ledger, {"id": "spend", "per": "user", "cost": 20, "window": "1h"})

    @guard.tool(cost=5)
    def llm(tokens: float) -> None:
        report_cost(tokens)

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        llm(2)
        llm(9)
    assert [u.used for u in guard.usage(ALICE)] == [11]
    outcomes = [e for e in events if e.phase == "outcome"]
    assert [(e.cost_reserved, e.cost_settled) for e in outcomes] == [(5, 2), (5, 9)]
    assert outcomes[-1].remaining == {"spend:alice": 9}


def test_a_failing_tool_is_refunded_but_still_counted_as_a_call(ledger: Ledger) -> None:
    """refund_on_error gives the cost back; a calls limit still counts the attempt."""
    guard = guard_with(
        ledger,
        {"id": "spend", "per": "user", "cost": 10, "period": "day"},
        {"id": "kept", "per": "user", "cost": 10, "period": "day", "refund_on_error": False},
        {"id": "rate", "per": "user", "calls": 10, "window": "1m"},
    )

    @guard.tool(cost=4)
    def flaky() -> None:
        raise RuntimeError("boom")

    with guard.acting_as(ALICE), pytest.raises(RuntimeError):
        flaky()
    assert {u.limit: u.used for u in guard.usage(ALICE)} == {"spend": 0, "kept": 4, "rate": 1}


async def test_a_cancelled_tool_releases_cost_and_slot(ledger: Ledger) -> None:
    """asyncio cancellation releases the cost reservation and the concurrent slot."""
    guard = guard_with(
        ledger,
        {"id": "spend", "per": "user", "cost": 10, "period": "day"},
        {"id": "one-at-a-time", "per": "user", "concurrent": 1},
    )
    started = asyncio.Event()

    @guard.tool(cost=4)
    async def slow() -> None:
        started.set()
        await asyncio.sleep(30)

    async with guard.acting_as(ALICE):
        task = asyncio.create_task(slow())
        await started.wait()
        with pytest.raises(BudgetExceeded) as caught:
            await slow()
        assert caught.value.limit == "one-at-a-time"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert {u.limit: u.used for u in guard.usage(ALICE)} == {"spend": 0, "one-at-a-time": 0}


def test_100_threads_through_the_guard_admit_exactly_5(ledger: Ledger) -> None:
    """100 threads calling a decorated tool against a limit of 5: exactly 5 run."""
    guard = guard_with(ledger, {"id": "global", "per": "global", "calls": "5/hour"})
    ran = []

    @guard.tool
    def act(i: int) -> None:
        ran.append(i)

    barrier = threading.Barrier(100)

    def one(i: int) -> bool:
        barrier.wait(timeout=30)
        try:
            act(i)
        except BudgetExceeded:
            return False
        return True

    with guard.acting_as(ALICE), ThreadPoolExecutor(max_workers=100) as pool:
        admitted = sum(pool.map(carry_principal(one), range(100)))
    assert admitted == 5
    assert len(ran) == 5


async def test_1000_async_tasks_through_the_guard_admit_exactly_5(ledger: Ledger) -> None:
    """1,000 asyncio tasks calling an async tool against a limit of 5: exactly 5 run."""
    guard = guard_with(ledger, {"id": "global", "per": "global", "calls": 5})

    @guard.tool
    async def act() -> None:
        await asyncio.sleep(0)

    async def one() -> bool:
        await asyncio.sleep(0)
        try:
            await act()
        except BudgetExceeded:
            return False
        return True

    async with guard.acting_as(ALICE):
        results = await asyncio.gather(*(one() for _ in range(1000)))
    assert sum(results) == 5


def test_the_refusal_is_audited_with_the_budget_fields(ledger: Ledger) -> None:
    """The refusal record carries limit, level, key, retry_after and remaining."""
    guard = guard_with(ledger, {"id": "team-spend", "per": "team", "cost": 5, "period": "day"})

    @guard.tool(cost=3)
    def pay() -> None:
        return None

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        pay()
        with pytest.raises(BudgetExceeded):
            pay()
    refusal = events[-1]
    assert refusal.phase == "refusal"
    assert refusal.decision == "budget_exceeded"
    assert (refusal.limit, refusal.level, refusal.limit_key) == ("team-spend", "team", "payments")
    assert refusal.retry_after is not None and refusal.retry_after > 0
    assert refusal.remaining == {"team-spend:payments": 2}
    assert "team 'payments' has used 3 of 5 cost today (UTC)" in (refusal.reason or "")


def test_limits_are_scoped_by_tool_globs_and_conditions(ledger: Ledger) -> None:
    """A limit counts only tools matching ``tools`` and principals matching ``when``."""
    guard = guard_with(
        ledger,
        {"id": "refunds", "per": "user", "calls": 1, "tools": "refund*"},
        {"id": "interns", "per": "user", "calls": 1, "when": {"roles": ["intern"]}},
    )

    @guard.tool
    def refund_order() -> None:
        return None

    @guard.tool
    def lookup() -> None:
        return None

    intern = make_principal("ivy", roles=["intern"])
    with guard.acting_as(ALICE):
        refund_order()
        lookup()
        lookup()  # neither limit applies
        with pytest.raises(BudgetExceeded):
            refund_order()
    with guard.acting_as(intern):
        lookup()
        with pytest.raises(BudgetExceeded) as caught:
            lookup()
    assert caught.value.limit == "interns"


def test_per_tool_and_user_tool_keys(ledger: Ledger) -> None:
    """``tool`` and ``user+tool`` keys; usage() reports them per registered tool."""
    guard = guard_with(
        ledger,
        {"id": "per-tool", "per": "tool", "calls": 3},
        {"id": "mine", "per": "user+tool", "calls": 1},
    )

    @guard.tool
    def a() -> None:
        return None

    @guard.tool
    def b() -> None:
        return None

    with guard.acting_as(ALICE):
        a()
        b()
        with pytest.raises(BudgetExceeded) as caught:
            a()
    assert (caught.value.limit, caught.value.key) == ("mine", "alice/a")
    with guard.acting_as(BOB):
        a()
    rows = {(u.limit, u.key): u.used for u in guard.usage(ALICE)}
    assert rows == {("per-tool", "a"): 2, ("per-tool", "b"): 1, ("mine", "alice/a"): 1,
                    ("mine", "alice/b"): 1}  # fmt: skip


class _Refuser:
    """A later pipeline step that refuses every call."""

    def enter(self, call: Any) -> None:
        from guardrail import PermissionDenied

        raise PermissionDenied("refused by a later step", tool=call.tool.name)

    def exit(self, call: Any) -> None:
        return None


def test_a_call_refused_by_a_later_step_is_not_charged(ledger: Ledger) -> None:
    """Budget reserved, then a later step refuses: the tool never ran, nothing stays charged."""
    from guardrail import PermissionDenied

    guard = guard_with(
        ledger,
        {"id": "rate", "per": "user", "calls": 5, "window": "1m"},
        {"id": "spend", "per": "user", "cost": 10, "period": "day"},
    )
    guard.add_step(_Refuser())

    @guard.tool(cost=3)
    def act() -> None:
        return None

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        act()
    assert {u.limit: u.used for u in guard.usage(ALICE)} == {"rate": 0, "spend": 0}


def test_a_team_listed_twice_is_charged_once(ledger: Ledger) -> None:
    """Duplicate team claims do not double-charge (or double-count) the team key."""
    guard = guard_with(ledger, {"id": "team-calls", "per": "team", "calls": 2})

    @guard.tool
    def act() -> None:
        return None

    twice = make_principal("tess", teams=["ops", "ops"])
    with guard.acting_as(twice):
        act()
        act()
        with pytest.raises(BudgetExceeded):
            act()
    assert [(u.key, u.used) for u in guard.usage(twice)] == [("ops", 2)]


def test_exactly_at_the_cap_passes_and_a_cost_above_the_cap_charges_nothing(
    ledger: Ledger,
) -> None:
    """Spending up to exactly the cap is allowed; a single call costing more than the
    whole cap is refused at once (no retry time) and charges no limit at all."""
    guard = guard_with(
        ledger,
        {"id": "spend", "per": "user", "cost": 10, "period": "day"},
        {"id": "rate", "per": "user", "calls": 100, "window": "1h"},
    )

    @guard.tool(cost=5)
    def half() -> None:
        return None

    @guard.tool(cost=11)
    def huge() -> None:
        return None

    with guard.acting_as(BOB):
        with pytest.raises(BudgetExceeded) as caught:
            huge()
        assert caught.value.retry_after is None
        assert "more than the whole limit" in str(caught.value)
        assert {u.limit: u.used for u in guard.usage(BOB)} == {"spend": 0, "rate": 0}
        half()
        half()  # 10 of 10: exactly at the cap
        with pytest.raises(BudgetExceeded):
            half()
    assert {u.limit: u.used for u in guard.usage(BOB)} == {"spend": 10, "rate": 2}
