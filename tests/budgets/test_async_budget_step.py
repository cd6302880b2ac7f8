"""The budget step on the async driver awaits the ledger's async twins (``areserve`` /
``asettle``): an async guarded call never makes a sync ledger round trip on the loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from guardrail import BudgetExceeded, Guard, Policy, report_cost
from guardrail.budgets import Charge, Ledger, MemoryLedger, Refusal, Reservation
from guardrail.testing import make_principal

ALICE = make_principal("alice", teams=["payments"], org="acme")


class AsyncOnlyLedger(MemoryLedger):
    """The real memory ledger, refusing its sync entry points while a loop runs in this
    thread: any sync reserve/settle from an async call fails the test."""

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        _not_on_a_loop("reserve")
        return super().reserve(charges, rid=rid)

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        _not_on_a_loop("settle")
        return super().settle(reservation, amounts)

    async def areserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        self.reserved = getattr(self, "reserved", 0) + 1
        return super().reserve(charges, rid=rid)

    async def asettle(
        self, reservation: Reservation, amounts: Sequence[float]
    ) -> tuple[float, ...]:
        self.settled = getattr(self, "settled", 0) + 1
        return super().settle(reservation, amounts)


def _not_on_a_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise AssertionError(f"sync ledger {what} on the event loop ({threading.current_thread()})")


def guard_with(ledger: Ledger, *limits: dict[str, Any]) -> Guard:
    policy = Policy.model_validate(
        {"rules": [{"id": "everyone", "allow": ["*"]}], "limits": list(limits)}
    )
    return Guard(policy, ledger=ledger)


async def test_async_calls_reserve_and_settle_through_the_async_twins() -> None:
    ledger = AsyncOnlyLedger()
    guard = guard_with(
        ledger,
        {"id": "calls", "per": "user", "calls": 3, "window": "1m"},
        {"id": "spend", "per": "team", "cost": 100, "period": "day"},
    )

    @guard.tool(cost=10)
    async def charge(order: str) -> str:
        report_cost(4)  # a reported cost is settled (asettle)
        return order

    with guard.acting_as(ALICE):
        assert await asyncio.gather(*(charge(f"o{i}") for i in range(3))) == ["o0", "o1", "o2"]
        with pytest.raises(BudgetExceeded):
            await charge("o3")
    assert (ledger.reserved, ledger.settled) == (4, 3)
    used = {u.limit: u.used for u in guard.usage(ALICE)}
    assert used == {"calls": 3, "spend": 12}


async def test_a_sync_tool_called_async_still_settles_on_the_async_path() -> None:
    ledger = AsyncOnlyLedger()
    guard = guard_with(ledger, {"id": "busy", "per": "user", "concurrent": 1})

    @guard.tool
    def slow(order: str) -> str:
        return order

    with guard.acting_as(ALICE):
        assert await guard.acall("slow", {"order": "x"}) == "x"
        assert await guard.acall("slow", {"order": "y"}) == "y"  # the slot was given back
    assert (ledger.reserved, ledger.settled) == (2, 2)
