"""pydantic-ai deferred tools for guardrail approvals: a real ``Agent`` driven by a scripted
``FunctionModel``. A held call ends the run with ``DeferredToolRequests`` (pydantic-ai's own
``ApprovalRequired``, the guardrail request in its metadata); an approver grants it through
``guard.approvals`` with a real JWT; the next run with ``DeferredToolResults`` runs it once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pa_support import Script, answers
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, FunctionToolset
from pydantic_ai.tools import ToolApproved
from support.approval_fixtures import authenticator, jwks, signer, token
from support.approvals import Records, make_guard

from guardrail import ConfigurationError, Guard, JWTAuthenticator

__all__ = ["authenticator", "jwks", "signer", "token"]  # fixtures, used by name
Token = Callable[..., str]
Output = str | DeferredToolRequests


class Refunds:
    def __init__(self, tmp_path: Path, authenticator: JWTAuthenticator, alice: str) -> None:
        chain = tmp_path / "audit.jsonl"
        self.guard: Guard = make_guard(str(tmp_path / "approvals.db"), authenticator, chain)
        self.records = Records(chain)
        self.ran: list[tuple[str, float]] = []
        self.deps = {"guardrail_token": alice}
        toolset: FunctionToolset[Any] = FunctionToolset()

        @toolset.tool_plain
        def refund(order: str, amount: float) -> str:
            """Refund an order."""
            self.ran.append((order, amount))
            return f"refunded {amount:g} on {order}"

        self.agent: Agent[dict[str, str], Output] = Agent(
            Script([("refund", {"order": "A-1", "amount": 500})]).model(),
            deps_type=dict,
            output_type=[str, DeferredToolRequests],  # type: ignore[arg-type]
            toolsets=[self.guard.wrap(toolset, approvals="defer")],
        )

    async def start(self) -> tuple[DeferredToolRequests, Any]:
        result = await self.agent.run("refund A-1", deps=self.deps)
        assert isinstance(result.output, DeferredToolRequests)
        return result.output, result.all_messages()

    async def resume(self, history: Any, answer: Any) -> str:
        results = DeferredToolResults(approvals={"call_1": answer})
        result = await self.agent.run(
            message_history=history, deferred_tool_results=results, deps=self.deps
        )
        assert isinstance(result.output, str)
        return result.output


@pytest.fixture
def refunds(tmp_path: Path, authenticator: JWTAuthenticator, token: Token) -> Refunds:
    return Refunds(tmp_path, authenticator, token("alice", "agent"))


def request_id(deferred: DeferredToolRequests) -> str:
    (call,) = deferred.approvals
    assert (call.tool_name, call.tool_call_id) == ("refund", "call_1")
    return str(deferred.metadata["call_1"]["guardrail"]["request_id"])


async def test_held_call_is_deferred_then_runs_once(refunds: Refunds, token: Token) -> None:
    deferred, history = await refunds.start()
    held = request_id(deferred)
    assert refunds.ran == []
    assert refunds.records.calls() == [("refusal", "approval_required")]
    granted = refunds.guard.approvals.approve(held, token=token("bob", "finance-lead"))
    output = await refunds.resume(history, True)
    assert refunds.ran == [("A-1", 500.0)]
    assert answers(output) == {"call_1": "refunded 500 on A-1"}
    assert refunds.guard.approvals.get(held).status == "consumed"
    assert refunds.records.approvals() == [
        ("approval.requested", None, granted.digest),
        ("approval.granted", "bob", granted.digest),
        ("approval.consumed", "bob", granted.digest),
    ]
    assert refunds.records.calls()[-2:] == [("intent", "allowed"), ("outcome", "allowed")]


async def test_approving_the_deferred_call_without_a_grant_does_not_run(
    refunds: Refunds,
) -> None:
    deferred, history = await refunds.start()
    held = request_id(deferred)
    output = await refunds.resume(history, True)
    assert refunds.ran == []
    assert held in answers(output)["call_1"]
    assert refunds.guard.approvals.get(held).status == "pending"


async def test_edited_arguments_on_resume_are_a_new_request(refunds: Refunds, token: Token) -> None:
    deferred, history = await refunds.start()
    held = request_id(deferred)
    refunds.guard.approvals.approve(held, token=token("bob", "finance-lead"))
    edited = ToolApproved(override_args={"order": "A-1", "amount": 900})
    output = await refunds.resume(history, edited)
    assert refunds.ran == []
    said = answers(output)["call_1"]
    assert "waits for approval request" in said and held not in said
    assert refunds.guard.approvals.get(held).status == "granted"  # unused
    events = [event for event, _, _ in refunds.records.approvals()]
    assert events == ["approval.requested", "approval.granted", "approval.requested"]


def test_approvals_option_is_checked(refunds: Refunds) -> None:
    with pytest.raises(ConfigurationError, match="no option"):
        refunds.guard.wrap(FunctionToolset(), pause=True)
