"""OpenAI Agents SDK: a call an ``approve`` rule holds pauses a real ``Runner`` run with the
SDK's own tool approval (``result.interruptions``), driven by a scripted ``Model``. An approver
grants the guardrail request through ``guard.approvals`` with a real JWT; the application
approves the SDK item and resumes from the run state; the tool runs once. A run state whose
arguments were edited before resuming is a new request and does not run."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, ModelBehaviorError, RunConfig, Runner, RunState, function_tool
from guardrail_openai_agents import approval_request, run_config
from oa_support import ScriptedModel, answers
from support.approval_fixtures import authenticator, jwks, signer, token
from support.approvals import Records, make_guard

from guardrail import Guard, JWTAuthenticator

__all__ = ["authenticator", "jwks", "signer", "token"]  # fixtures, used by name
Token = Callable[..., str]
REFUND_500 = ("refund", {"order": "A-1", "amount": 500})


class Refunds:
    def __init__(self, tmp_path: Path, authenticator: JWTAuthenticator, alice: str) -> None:
        chain = tmp_path / "audit.jsonl"
        self.guard: Guard = make_guard(str(tmp_path / "approvals.db"), authenticator, chain)
        self.records = Records(chain)
        self.ran: list[tuple[str, float]] = []
        self.context = {"guardrail_token": alice}
        self.config = run_config(self.guard, RunConfig(tracing_disabled=True))

        @function_tool
        async def refund(order: str, amount: float) -> str:
            """Refund an order."""
            self.ran.append((order, amount))
            return f"refunded {amount:g} on {order}"

        self.agent = Agent(
            name="refunds", model=ScriptedModel([REFUND_500]), tools=self.guard.wrap([refund])
        )

    async def start(self) -> Any:
        return await Runner.run(
            self.agent, "refund A-1", context=self.context, run_config=self.config
        )

    async def resume(self, state: RunState[Any]) -> Any:
        for item in state.get_interruptions():
            state.approve(item)
        return await Runner.run(self.agent, state, run_config=self.config)


@pytest.fixture
def refunds(tmp_path: Path, authenticator: JWTAuthenticator, token: Token) -> Refunds:
    return Refunds(tmp_path, authenticator, token("alice", "agent"))


def test_held_call_pauses_the_run_then_runs_once(refunds: Refunds, token: Token) -> None:
    async def story() -> tuple[str, str, str]:
        paused = await refunds.start()
        (item,) = paused.interruptions
        request = approval_request(refunds.guard, item, refunds.context)
        assert (item.tool_name, request.status, request.tool) == ("refund", "pending", "refund")
        assert refunds.ran == []
        refunds.guard.approvals.approve(request.id, token=token("bob", "finance-lead"))
        done = await refunds.resume(paused.to_state())
        return request.id, request.digest, done.final_output

    request_id, digest, final = asyncio.run(story())
    assert refunds.ran == [("A-1", 500.0)]
    assert answers(final) == {"call_1": "refunded 500 on A-1"}
    assert refunds.guard.approvals.get(request_id).status == "consumed"
    assert refunds.records.approvals() == [
        ("approval.requested", None, digest),
        ("approval.granted", "bob", digest),
        ("approval.consumed", "bob", digest),
    ]
    assert refunds.records.calls() == [
        ("refusal", "approval_required"),
        ("intent", "allowed"),
        ("outcome", "allowed"),
    ]


def test_approving_the_sdk_item_without_a_grant_does_not_run(refunds: Refunds) -> None:
    """The SDK item is approved but no approver granted the request: the guard refuses."""

    async def story() -> tuple[str, str]:
        paused = await refunds.start()
        request = approval_request(refunds.guard, paused.interruptions[0], refunds.context)
        done = await refunds.resume(paused.to_state())
        return request.id, done.final_output

    request_id, final = asyncio.run(story())
    assert refunds.ran == []
    assert request_id in answers(final)["call_1"]
    assert refunds.guard.approvals.get(request_id).status == "pending"


def test_an_edited_resume_does_not_run(refunds: Refunds, token: Token) -> None:
    """Approved for 500. A saved run state edited to 900 is refused by the SDK on resume;
    the model asking for 900 instead pauses on a new request. Nothing runs either way."""

    async def story() -> tuple[str, str]:
        paused = await refunds.start()
        request = approval_request(refunds.guard, paused.interruptions[0], refunds.context)
        refunds.guard.approvals.approve(request.id, token=token("bob", "finance-lead"))
        saved = _edited(paused.to_state().to_json(), '"amount": 500', '"amount": 900')
        with pytest.raises(ModelBehaviorError):
            await refunds.resume(await RunState.from_json(refunds.agent, saved))
        refunds.agent.model = ScriptedModel([("refund", {"order": "A-1", "amount": 900})])
        other = await refunds.start()
        edited = approval_request(refunds.guard, other.interruptions[0], refunds.context)
        return request.id, edited.id

    request_id, edited_id = asyncio.run(story())
    assert edited_id != request_id
    assert refunds.ran == []
    assert refunds.guard.approvals.get(request_id).status == "granted"  # unused
    assert refunds.guard.approvals.get(edited_id).status == "pending"
    events = Counter(event for event, _, _ in refunds.records.approvals())
    assert events == {"approval.requested": 2, "approval.granted": 1}


def _edited(value: Any, old: str, new: str) -> Any:
    """``value`` with every ``arguments`` JSON text edited."""
    if isinstance(value, dict):
        return {
            k: v.replace(old, new)
            if k == "arguments" and isinstance(v, str)
            else _edited(v, old, new)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_edited(v, old, new) for v in value]
    return value


def test_arguments_are_json_text(refunds: Refunds) -> None:
    """The scripted model writes arguments the way ``_edited`` expects to find them."""
    assert json.dumps(REFUND_500[1]) == '{"order": "A-1", "amount": 500}'
