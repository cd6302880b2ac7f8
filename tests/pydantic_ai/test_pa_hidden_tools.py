"""A model's call of a tool its user was not shown is refused and audited.

pydantic-ai answers a call of a tool missing from ``get_tools`` itself ("Unknown tool
name"), so it never reached the guarded toolset and left no record. Real ``Agent``
runs with a scripted ``FunctionModel``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pa_support import POLICY, Script, answers, make_toolset, ran
from pydantic_ai import Agent
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from support.approval_fixtures import authenticator, jwks, signer, token

from guardrail import Guard, JWTAuthenticator, Policy, Principal
from guardrail.testing import capture_audit

__all__ = ["authenticator", "jwks", "signer", "token"]  # fixtures, used by name

CLOSE = ("close_account", {"account_id": "X9"})
LOOKUP = ("lookup_order", {"order_id": "A1"})


@dataclass
class Deps:
    guardrail_principal: Principal | None


def agent(guard: Guard, script: Script) -> Agent[Deps, str]:
    return Agent(script.model(), deps_type=Deps, toolsets=[guard.wrap(make_toolset())])


def records(events: Any) -> list[tuple[Any, ...]]:
    return [
        (e.phase, e.subject, e.tool, e.tool_call_id, e.decision, e.args)
        for e in events
        if e.phase != "intent"
    ]


@pytest.mark.parametrize("mode", ["run", "stream"])
async def test_a_call_of_a_hidden_tool_is_refused_and_audited(
    guard: Guard, alice: Principal, mode: str
) -> None:
    script = Script([CLOSE, LOOKUP])
    deps = Deps(guardrail_principal=alice)
    with capture_audit(guard) as events:
        if mode == "stream":
            async with agent(guard, script).run_stream("go", deps=deps) as streamed:
                output = await streamed.get_output()
        else:
            output = (await agent(guard, script).run("go", deps=deps)).output
    seen = answers(output)
    assert "Unknown tool name: 'close_account'" in seen["call_1"]  # pydantic-ai's own answer
    assert seen["call_2"] == "order A1: shipped"
    assert ran == {"lookup_order": 1}
    assert sorted(records(events)) == [
        ("outcome", "alice", "lookup_order", "call_2", "allowed", {"order_id": "A1"}),
        ("refusal", "alice", "close_account", "call_1", "denied", {"account_id": "X9"}),
    ]
    (refusal,) = [e for e in events if e.phase == "refusal"]
    assert "not a tool this user may call" in str(refusal.reason)


async def test_each_hidden_call_is_recorded_once_across_continued_runs(
    guard: Guard, alice: Principal
) -> None:
    """A later run over the same history does not record the earlier run's call again."""
    deps = Deps(guardrail_principal=alice)
    with capture_audit(guard) as events:
        first = await agent(guard, Script([CLOSE])).run("go", deps=deps)
        history = first.all_messages()
        await agent(guard, Script([LOOKUP])).run("again", deps=deps, message_history=history)
    refused = [(e.tool, e.tool_call_id) for e in events if e.phase == "refusal"]
    assert refused == [("close_account", "call_1")]


async def test_a_tool_shown_to_the_user_is_not_refused(guard: Guard, maria: Principal) -> None:
    with capture_audit(guard) as events:
        result = await agent(guard, Script([CLOSE])).run("go", deps=Deps(guardrail_principal=maria))
    assert answers(result.output)["call_1"] == "closed X9"
    assert [e.decision for e in events if e.phase == "refusal"] == []


async def test_without_a_user_a_call_anyway_is_refused(guard: Guard) -> None:
    """No principal: nothing is listed, and a call anyway is recorded as refused."""
    with capture_audit(guard) as events:
        result = await agent(guard, Script([LOOKUP])).run("go", deps=Deps(guardrail_principal=None))
    assert "Unknown tool name" in answers(result.output)["call_1"]
    assert ran == {}
    assert [(e.phase, e.subject, e.tool, e.decision) for e in events] == [
        ("refusal", None, "lookup_order", "denied")
    ]


async def test_a_user_whose_token_fails_is_refused_as_unauthenticated(
    authenticator: JWTAuthenticator, token: Callable[..., str]
) -> None:
    """A forged token: nothing is listed, and a call anyway is recorded as the auth failure."""
    guard = Guard(Policy.model_validate(POLICY), authenticator=authenticator)
    forged = token("alice", "support")[:-4] + "AAAA"
    with capture_audit(guard) as events:
        result = await agent(guard, Script([LOOKUP])).run("go", deps={"guardrail_token": forged})
    assert "Unknown tool name" in answers(result.output)["call_1"]
    assert ran == {}
    assert [(e.phase, e.subject, e.tool, e.decision) for e in events] == [
        ("refusal", None, "lookup_order", "auth_failed")
    ]


def _insists_on(name: str, args: dict[str, Any]) -> FunctionModel:
    """A model that calls ``name`` every turn, whatever it is told."""
    turns = iter(range(1, 100))

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart(name, args, tool_call_id=f"call_{next(turns)}")])

    return FunctionModel(respond)


async def test_a_run_that_dies_at_a_hidden_call_still_records_it(
    guard: Guard, alice: Principal
) -> None:
    """The model uses up the unknown tool's retries: pydantic-ai ends the run at the
    last call, which no later listing sees; the run's exit records it."""
    model = _insists_on(*CLOSE)
    toolsets = [guard.wrap(make_toolset())]
    runner = Agent(model, deps_type=Deps, toolsets=toolsets, retries=2)
    with capture_audit(guard) as events, pytest.raises(UnexpectedModelBehavior):
        await runner.run("go", deps=Deps(guardrail_principal=alice))
    assert ran == {}
    assert [(e.phase, e.subject, e.tool, e.tool_call_id, e.decision) for e in events] == [
        ("refusal", "alice", "close_account", f"call_{n}", "denied") for n in (1, 2, 3)
    ]


async def test_a_run_that_ends_well_records_nothing_more(guard: Guard, alice: Principal) -> None:
    with capture_audit(guard) as events:
        await agent(guard, Script([LOOKUP])).run("go", deps=Deps(guardrail_principal=alice))
    assert [e.phase for e in events if e.phase != "intent"] == ["outcome"]
