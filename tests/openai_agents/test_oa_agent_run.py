"""A real OpenAI Agents ``Runner`` with a scripted model: two users, sync, async and streamed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, UserError
from guardrail_openai_agents import GuardedFunctionTool, run_config
from oa_support import ScriptedModel, answers, make_tools, ran

from guardrail import ConfigurationError, Guard, GuardrailDenied, Principal
from guardrail.testing import capture_audit

REFUND_250 = ("refund", {"order_id": "A1", "amount": 250})
LOOKUP = ("lookup_order", {"order_id": "A1"})


@dataclass
class AppContext:
    """An application's run context, naming its user as HasPrincipal says."""

    guardrail_principal: Principal | None
    db: Any = None


def agent(guard: Guard, model: ScriptedModel) -> Agent[AppContext]:
    return Agent(name="support", model=model, tools=guard.wrap(make_tools()))


def config(guard: Guard) -> RunConfig:
    return run_config(guard, RunConfig(tracing_disabled=True))


async def run(guard: Guard, who: Principal, *calls: Any, mode: str = "async") -> dict[str, str]:
    model = ScriptedModel(calls)
    ctx = AppContext(guardrail_principal=who)
    if mode == "streamed":
        streamed = Runner.run_streamed(
            agent(guard, model), "go", context=ctx, run_config=config(guard)
        )
        async for _ in streamed.stream_events():
            pass
        return answers(str(streamed.final_output))
    result = await Runner.run(agent(guard, model), "go", context=ctx, run_config=config(guard))
    return answers(str(result.final_output))


def run_sync(guard: Guard, who: Principal, *calls: Any) -> dict[str, str]:
    """``Runner.run_sync`` keeps using the thread's loop: give it one, and close it after."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        ctx = AppContext(guardrail_principal=who)
        result = Runner.run_sync(
            agent(guard, ScriptedModel(calls)), "go", context=ctx, run_config=config(guard)
        )
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return answers(str(result.final_output))


@pytest.mark.parametrize("mode", ["async", "streamed"])
async def test_two_users_one_agent(
    guard: Guard, alice: Principal, maria: Principal, mode: str
) -> None:
    """Alice's 250 refund is refused as tool output (the run goes on); Maria's runs."""
    with capture_audit(guard) as events:
        seen_by_alice = await run(guard, alice, REFUND_250, LOOKUP, mode=mode)
        seen_by_maria = await run(guard, maria, REFUND_250, mode=mode)
    check_two_users(seen_by_alice, seen_by_maria, events)


def test_two_users_one_agent_sync(guard: Guard, alice: Principal, maria: Principal) -> None:
    with capture_audit(guard) as events:
        seen_by_alice = run_sync(guard, alice, REFUND_250, LOOKUP)
        seen_by_maria = run_sync(guard, maria, REFUND_250)
    check_two_users(seen_by_alice, seen_by_maria, events)


def check_two_users(
    seen_by_alice: dict[str, str], seen_by_maria: dict[str, str], events: Any
) -> None:
    assert seen_by_alice["call_1"].startswith("Tool call refused by guardrail")
    assert "support-refunds" in seen_by_alice["call_1"]
    assert seen_by_alice["call_2"] == "order A1: shipped"
    assert seen_by_maria["call_1"] == "refunded 250 on A1"
    assert ran == {"refund": 1, "lookup_order": 1}
    records = [
        (e.subject, e.tool, e.tool_call_id, e.decision) for e in events if e.phase != "intent"
    ]
    assert ("alice", "refund", "call_1", "denied") in records
    assert ("alice", "lookup_order", "call_2", "allowed") in records
    assert ("maria", "refund", "call_1", "allowed") in records


async def test_each_run_shows_its_user_only_their_tools(
    guard: Guard, alice: Principal, maria: Principal
) -> None:
    for who in (alice, maria):
        model = ScriptedModel([LOOKUP])
        ctx = AppContext(guardrail_principal=who)
        await Runner.run(agent(guard, model), "go", context=ctx, run_config=config(guard))
        shown = set(model.seen_tools[0])
        if who is alice:
            assert shown == {"lookup_order", "refund"}
        else:
            assert shown == {"lookup_order", "refund", "close_account"}


async def test_a_call_of_a_hidden_tool_is_refused_and_recorded(
    guard: Guard, alice: Principal
) -> None:
    with capture_audit(guard) as events:
        seen = await run(guard, alice, ("close_account", {"account_id": "X"}), LOOKUP)
    assert "'close_account' is not a tool this user may call" in seen["call_1"]
    assert seen["call_2"] == "order A1: shipped"
    assert ran == {"lookup_order": 1}
    refused = [e for e in events if e.tool == "close_account"]
    assert [(e.subject, e.decision, e.tool_call_id) for e in refused] == [
        ("alice", "denied", "call_1")
    ]


async def test_identity_from_acting_as_when_the_context_names_nobody(
    guard: Guard, alice: Principal
) -> None:
    model = ScriptedModel([REFUND_250])
    with guard.acting_as(alice), capture_audit(guard) as events:
        result = await Runner.run(agent(guard, model), "go", run_config=config(guard))
    assert answers(str(result.final_output))["call_1"].startswith("Tool call refused")
    assert [e.subject for e in events] == ["alice"]


async def test_a_context_naming_a_non_principal_fails_closed(guard: Guard) -> None:
    model = ScriptedModel([LOOKUP])
    ctx = {"guardrail_principal": "alice"}
    with pytest.raises(ConfigurationError, match=r"must be a guardrail\.Principal"):
        await Runner.run(agent(guard, model), "go", context=ctx, run_config=config(guard))
    assert ran == {}


async def test_on_denied_raise_ends_the_run_with_the_refusal(
    guard: Guard, alice: Principal
) -> None:
    tools = [GuardedFunctionTool.around(t, guard, on_denied="raise") for t in make_tools()]
    model = ScriptedModel([REFUND_250])
    ctx = AppContext(guardrail_principal=alice)
    with pytest.raises(UserError, match="support-refunds") as raised:
        await Runner.run(Agent(name="a", model=model, tools=tools), "go", context=ctx)
    assert isinstance(raised.value.__cause__, GuardrailDenied)
    assert ran == {}


def test_visible_narrows_each_users_schema(
    guard: Guard, alice: Principal, maria: Principal
) -> None:
    tools = make_tools()
    for_alice = {t.name: t for t in guard.visible(tools, alice)}
    for_maria = {t.name: t for t in guard.visible(tools, maria)}
    assert set(for_alice) == {"lookup_order", "refund"}
    assert set(for_maria) == {"lookup_order", "refund", "close_account"}
    assert for_alice["refund"].params_json_schema["properties"]["amount"]["maximum"] == 100
    assert "maximum" not in for_maria["refund"].params_json_schema["properties"]["amount"]
    assert all(isinstance(t, GuardedFunctionTool) for t in for_alice.values())
