"""An ``approve`` rule on a skill step is enforced: the step is held (the skill stops with
the step's ``ApprovalRequired``), and after a grant the identical skill call runs the step
once. A skill is authorized as a whole, but a rule written about a step still applies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.approvals import Records, make_guard

from guardrail import ApprovalRequired, Guard, JWTAuthenticator

Token = Callable[..., str]
POLICY: dict[str, Any] = {
    "rules": [
        {"id": "pay", "allow": ["pay_invoice", "apay_invoice"], "when": {"roles": ["agent"]}},
        {
            "id": "large-transfers",
            "approve": "transfer",
            "when": {"roles": ["agent"]},
            "args": {"amount": {"min": 1000}},
            "approvers": {"roles": ["finance-lead"]},
        },
    ]
}


class Payments:
    def __init__(self, tmp_path: Path, authenticator: JWTAuthenticator) -> None:
        chain = tmp_path / "audit.jsonl"
        self.guard: Guard = make_guard(str(tmp_path / "a.db"), authenticator, chain, POLICY)
        self.records = Records(chain)
        self.moved: list[tuple[str, float]] = []
        guard = self.guard

        @guard.tool(expose="skill")
        def transfer(iban: str, amount: float) -> str:
            """Move money."""
            self.moved.append((iban, amount))
            return "sent"

        @guard.skill
        def pay_invoice(iban: str, amount: float) -> str:
            """Pay an invoice."""
            return transfer(iban, amount)  # type: ignore[no-any-return]

        @guard.skill
        async def apay_invoice(iban: str, amount: float) -> str:
            """Pay an invoice (async)."""
            return transfer(iban, amount)  # type: ignore[no-any-return]

        self.pay = pay_invoice
        self.apay = apay_invoice


@pytest.fixture
def payments(tmp_path: Path, authenticator: JWTAuthenticator) -> Payments:
    return Payments(tmp_path, authenticator)


def held(payments: Payments, who: str, amount: float) -> ApprovalRequired:
    with payments.guard.acting_as(who), pytest.raises(ApprovalRequired) as exc:
        payments.pay("DE01", amount)
    assert exc.value.request_id is not None and exc.value.tool == "transfer"
    return exc.value


def test_a_small_step_runs_without_approval(payments: Payments, token: Token) -> None:
    with payments.guard.acting_as(token("alice", "agent")):
        assert payments.pay("DE01", 10.0) == "sent"
    assert payments.moved == [("DE01", 10.0)]
    assert payments.records.approvals() == []


def test_a_held_step_stops_the_skill_then_runs_once_after_the_grant(
    payments: Payments, token: Token
) -> None:
    alice = token("alice", "agent")
    request = held(payments, alice, 5000.0)
    assert payments.moved == []
    assert payments.guard.approvals.get(str(request.request_id)).rule == "large-transfers"
    granted = payments.guard.approvals.approve(
        str(request.request_id), token=token("bob", "finance-lead")
    )
    held(payments, alice, 6000.0)  # an edited amount is another request; the grant stays
    assert payments.moved == []
    with payments.guard.acting_as(alice):
        assert payments.pay("DE01", 5000.0) == "sent"
    assert payments.moved == [("DE01", 5000.0)]
    assert held(payments, alice, 5000.0).request_id != request.request_id  # used up
    events = [(e, a) for e, a, d in payments.records.approvals() if d == granted.digest]
    assert events == [
        ("approval.requested", None),
        ("approval.granted", "bob"),
        ("approval.consumed", "bob"),
        ("approval.requested", None),  # the same call after the grant was used
    ]


def test_an_async_skill_holds_its_step_too(payments: Payments, token: Token) -> None:
    alice = token("alice", "agent")

    async def pay() -> str:
        with payments.guard.acting_as(alice):
            return await payments.apay("DE02", 2000.0)  # type: ignore[no-any-return]

    with pytest.raises(ApprovalRequired) as exc:
        asyncio.run(pay())
    payments.guard.approvals.approve(str(exc.value.request_id), token=token("bob", "finance-lead"))
    assert asyncio.run(pay()) == "sent"
    assert payments.moved == [("DE02", 2000.0)]
