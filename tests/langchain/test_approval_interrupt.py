"""LangChain v1 human-in-the-loop for guardrail approvals: a real ``create_agent`` with an
``InMemorySaver`` checkpointer and a scripted model. A refund over the limit pauses the run
(a LangGraph interrupt naming the approval request); an approver grants it through
``guard.approvals`` with a real JWT; ``Command(resume=...)`` runs the call once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from guardrail_langchain import GuardrailMiddleware
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import SecretStr
from scripted_model import ScriptedChatModel, call
from support.approval_fixtures import authenticator, jwks, signer, token
from support.approvals import Records, make_guard

from guardrail import Guard, JWTAuthenticator

__all__ = ["authenticator", "jwks", "signer", "token"]  # fixtures, used by name
Token = Callable[..., str]


@dataclass
class AppContext:
    guardrail_token: SecretStr


class Refunds:
    """A guarded agent with a refund tool, its checkpointer, and what really ran."""

    def __init__(
        self,
        tmp_path: Path,
        authenticator: JWTAuthenticator,
        alice: str,
        approvals: Literal["refuse", "interrupt"] = "interrupt",
    ) -> None:
        self.guard: Guard = make_guard(
            str(tmp_path / "approvals.db"), authenticator, tmp_path / "audit.jsonl"
        )
        self.records = Records(tmp_path / "audit.jsonl")
        self.ran: list[tuple[str, float]] = []
        self.context = AppContext(SecretStr(alice))
        self.config: Any = {"configurable": {"thread_id": "refund-1"}}

        @tool
        def refund(order: str, amount: float) -> str:
            """Refund an order."""
            self.ran.append((order, amount))
            return f"refunded {amount:g} on {order}"

        script = [
            AIMessage("", tool_calls=[call("refund", {"order": "A-1", "amount": 500}, "c1")]),
            AIMessage("done"),
        ]
        self.agent = create_agent(
            ScriptedChatModel(replies=script),
            tools=[refund],
            middleware=[GuardrailMiddleware(self.guard, approvals=approvals)],
            checkpointer=InMemorySaver(),
            context_schema=AppContext,
        )

    def start(self) -> dict[str, Any]:
        return self.resume_with({"messages": [HumanMessage("refund A-1 in full")]})

    def resume_with(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = self.agent.invoke(value, self.config, context=self.context)
        return out

    def pause(self) -> dict[str, Any]:
        """The value of the one pending interrupt."""
        (pending,) = self.agent.get_state(self.config).interrupts
        value: dict[str, Any] = pending.value
        return value


@pytest.fixture
def refunds(tmp_path: Path, authenticator: JWTAuthenticator, token: Token) -> Refunds:
    return Refunds(tmp_path, authenticator, token("alice", "agent"))


def result_of(out: dict[str, Any], call_id: str) -> ToolMessage:
    return next(
        m for m in out["messages"] if isinstance(m, ToolMessage) and m.tool_call_id == call_id
    )


def test_held_call_pauses_then_runs_once_on_resume(refunds: Refunds, token: Token) -> None:
    refunds.start()
    paused = refunds.pause()
    request_id = paused["request_id"]
    assert paused["type"] == "tool_approval"
    assert (paused["name"], paused["args"]) == ("refund", {"order": "A-1", "amount": 500})
    assert request_id in paused["description"]
    assert refunds.ran == []
    assert refunds.records.calls() == [("refusal", "approval_required")]

    granted = refunds.guard.approvals.approve(request_id, token=token("bob", "finance-lead"))
    out = refunds.resume_with(Command(resume={"type": "approve"}))

    assert refunds.ran == [("A-1", 500.0)]  # exactly once, the arguments the model asked for
    assert result_of(out, "c1").status == "success"
    assert out["messages"][-1].content == "done"
    assert refunds.agent.get_state(refunds.config).interrupts == ()
    assert refunds.guard.approvals.get(request_id).status == "consumed"
    assert refunds.records.approvals() == [
        ("approval.requested", None, granted.digest),
        ("approval.granted", "bob", granted.digest),
        ("approval.consumed", "bob", granted.digest),
    ]
    assert refunds.records.calls()[-2:] == [("intent", "allowed"), ("outcome", "allowed")]


def test_resuming_before_the_grant_pauses_again_on_the_same_request(
    refunds: Refunds, token: Token
) -> None:
    refunds.start()
    request_id = refunds.pause()["request_id"]
    refunds.resume_with(Command(resume={"type": "approve"}))  # nobody has approved yet
    assert refunds.pause()["request_id"] == request_id
    assert refunds.ran == []
    refunds.guard.approvals.approve(request_id, token=token("bob", "finance-lead"))
    refunds.resume_with(Command(resume={"type": "approve"}))
    assert refunds.ran == [("A-1", 500.0)]


def test_an_edited_resume_does_not_run_on_the_grant(refunds: Refunds, token: Token) -> None:
    """The approver granted 500; the resume edits the amount: the edit is a new request."""
    refunds.start()
    request_id = refunds.pause()["request_id"]
    refunds.guard.approvals.approve(request_id, token=token("bob", "finance-lead"))
    edit = {
        "type": "edit",
        "edited_action": {"name": "refund", "args": {"order": "A-1", "amount": 900}},
    }
    refunds.resume_with(Command(resume=edit))
    paused = refunds.pause()
    assert paused["request_id"] != request_id
    assert paused["args"] == {"order": "A-1", "amount": 900}
    assert refunds.ran == []
    assert refunds.guard.approvals.get(request_id).status == "granted"  # not used
    assert [event for event, _, _ in refunds.records.approvals()] == [
        "approval.requested",
        "approval.granted",
        "approval.requested",
    ]
    out = refunds.resume_with(Command(resume={"type": "reject", "message": "wrong amount"}))
    assert refunds.ran == []
    assert result_of(out, "c1").status == "error"
    assert "not executed" in str(result_of(out, "c1").content)
    assert refunds.agent.get_state(refunds.config).interrupts == ()


def test_the_requester_cannot_approve_by_resuming(refunds: Refunds, token: Token) -> None:
    """Resuming is not approving: the call stays held until an approver grants it."""
    refunds.start()
    request_id = refunds.pause()["request_id"]
    with pytest.raises(Exception, match="no self-approval"):
        refunds.guard.approvals.approve(request_id, token=token("alice", "finance-lead"))
    refunds.resume_with(Command(resume={"type": "approve"}))
    assert refunds.pause()["request_id"] == request_id
    assert refunds.ran == []


def test_async_run_pauses_and_resumes(refunds: Refunds, token: Token) -> None:
    async def run() -> dict[str, Any]:
        agent, config, context = refunds.agent, refunds.config, refunds.context
        await agent.ainvoke({"messages": [HumanMessage("refund")]}, config, context=context)
        request_id = refunds.pause()["request_id"]
        assert refunds.ran == []
        refunds.guard.approvals.approve(request_id, token=token("bob", "finance-lead"))
        out: dict[str, Any] = await agent.ainvoke(
            Command(resume={"type": "approve"}), config, context=context
        )
        return out

    out = asyncio.run(run())
    assert refunds.ran == [("A-1", 500.0)]
    assert result_of(out, "c1").status == "success"
    assert [e for e, _, _ in refunds.records.approvals()] == [
        "approval.requested",
        "approval.granted",
        "approval.consumed",
    ]


def test_without_interrupt_the_model_reads_the_refusal(
    tmp_path: Path, authenticator: JWTAuthenticator, token: Token
) -> None:
    """The default (approvals="refuse"): no pause, an error ToolMessage naming the request."""
    refunds = Refunds(tmp_path, authenticator, token("alice", "agent"), approvals="refuse")
    out = refunds.start()
    assert refunds.agent.get_state(refunds.config).interrupts == ()
    message = result_of(out, "c1")
    assert message.status == "error"
    assert message.artifact["guardrail"]["approval_request"] in str(message.content)
    assert refunds.ran == []
