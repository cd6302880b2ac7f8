"""LangChain: a held call reads as an error ToolMessage naming the approval request (and
telling the model to retry the identical call once approved); after the grant it runs once."""

from __future__ import annotations

from pathlib import Path

from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from support.approvals import POLICY

from guardrail import Guard, Policy, Principal

ALICE = Principal(subject="alice", roles=frozenset({"agent"}))
BOB = Principal(subject="bob", roles=frozenset({"finance-lead"}))


def test_held_langchain_call_names_the_request_then_runs_once(tmp_path: Path) -> None:
    ran: list[float] = []

    @tool
    def refund(order: str, amount: float) -> str:
        """Refund an order."""
        ran.append(amount)
        return "refunded"

    guard = Guard(Policy.from_dict(POLICY), approvals=tmp_path / "approvals.db")
    wrapped = guard.wrap(refund)
    call = {
        "type": "tool_call",
        "id": "c1",
        "name": "refund",
        "args": {"order": "A", "amount": 500},
    }
    with guard.acting_as(ALICE):
        held = wrapped.invoke(call)
        assert isinstance(held, ToolMessage) and held.status == "error"
        details = held.artifact["guardrail"]
        assert details["decision"] == "approval_required"
        request_id = details["approval_request"]
        assert f"waits for approval request {request_id}" in str(held.content)
        assert "make the identical call again" in str(held.content)
        guard.approvals.approve(request_id, approver=BOB)
        done = wrapped.invoke(call)
        assert isinstance(done, ToolMessage) and done.status == "success"
        assert wrapped.invoke(call).status == "error"  # the grant was used
    assert ran == [500.0]
