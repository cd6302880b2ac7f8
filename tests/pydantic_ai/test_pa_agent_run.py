"""A real pydantic-ai ``Agent`` with a scripted ``FunctionModel``: two users, sync/async/stream."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from guardrail_pydantic_ai import GuardedToolset
from pa_support import Script, answers, make_toolset, ran
from pydantic_ai import Agent

from guardrail import ConfigurationError, Guard, GuardrailDenied, Principal
from guardrail.testing import capture_audit

REFUND_250 = ("refund", {"order_id": "A1", "amount": 250})
LOOKUP = ("lookup_order", {"order_id": "A1"})


@dataclass
class Deps:
    """An application's deps, naming the run's user as HasPrincipal says."""

    guardrail_principal: Principal | None
    db: Any = None


def agent(guard: Guard, script: Script) -> Agent[Deps, str]:
    return Agent(script.model(), deps_type=Deps, toolsets=[guard.wrap(make_toolset())])


async def run(
    guard: Guard, who: Principal, *calls: Any, mode: str
) -> tuple[dict[str, str], Script]:
    script = Script(calls)
    deps = Deps(guardrail_principal=who)
    if mode == "stream":
        async with agent(guard, script).run_stream("go", deps=deps) as streamed:
            output = await streamed.get_output()
    else:
        output = (await agent(guard, script).run("go", deps=deps)).output
    return answers(output), script


def check_two_users(alice_saw: dict[str, str], maria_saw: dict[str, str], events: Any) -> None:
    assert "Tool call refused by guardrail" in alice_saw["call_1"]
    assert "support-refunds" in alice_saw["call_1"]
    assert alice_saw["call_2"] == "order A1: shipped"
    assert maria_saw["call_1"] == "refunded 250 on A1"
    assert ran == {"refund": 1, "lookup_order": 1}
    records = {
        (e.subject, e.tool, e.tool_call_id, e.decision) for e in events if e.phase != "intent"
    }
    assert records == {
        ("alice", "refund", "call_1", "denied"),
        ("alice", "lookup_order", "call_2", "allowed"),
        ("maria", "refund", "call_1", "allowed"),
    }


@pytest.mark.parametrize("mode", ["run", "stream"])
async def test_two_users_one_agent(
    guard: Guard, alice: Principal, maria: Principal, mode: str
) -> None:
    """Alice's 250 refund is a failed tool result the model reads; the run goes on."""
    with capture_audit(guard) as events:
        alice_saw, _ = await run(guard, alice, REFUND_250, LOOKUP, mode=mode)
        maria_saw, _ = await run(guard, maria, REFUND_250, mode=mode)
    check_two_users(alice_saw, maria_saw, events)


def test_two_users_one_agent_sync(guard: Guard, alice: Principal, maria: Principal) -> None:
    # run_sync keeps using the thread's event loop: give it one, and close it after.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with capture_audit(guard) as events:
            seen = {}
            for who, calls in ((alice, (REFUND_250, LOOKUP)), (maria, (REFUND_250,))):
                deps = Deps(guardrail_principal=who)
                seen[who.subject] = answers(
                    agent(guard, Script(calls)).run_sync("go", deps=deps).output
                )
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    check_two_users(seen["alice"], seen["maria"], events)


async def test_each_run_lists_its_user_only_their_tools_narrowed(
    guard: Guard, alice: Principal, maria: Principal
) -> None:
    _, for_alice = await run(guard, alice, LOOKUP, mode="run")
    _, for_maria = await run(guard, maria, LOOKUP, mode="run")
    assert set(for_alice.offered[0]) == {"lookup_order", "refund"}
    assert set(for_maria.offered[0]) == {"lookup_order", "refund", "close_account"}
    assert for_alice.offered[0]["refund"]["properties"]["amount"]["maximum"] == 100
    assert "maximum" not in for_maria.offered[0]["refund"]["properties"]["amount"]


async def test_identity_from_acting_as_when_deps_name_nobody(
    guard: Guard, alice: Principal
) -> None:
    script = Script([REFUND_250])
    with guard.acting_as(alice), capture_audit(guard) as events:
        result = await agent(guard, script).run("go", deps=Deps(guardrail_principal=None))
    assert "Tool call refused by guardrail" in answers(result.output)["call_1"]
    assert [e.subject for e in events] == ["alice"]


async def test_deps_naming_a_non_principal_fail_closed(guard: Guard) -> None:
    script = Script([LOOKUP])
    toolsets = [guard.wrap(make_toolset())]
    bad: Agent[dict[str, str], str] = Agent(script.model(), deps_type=dict, toolsets=toolsets)
    with pytest.raises(ConfigurationError, match=r"must be a guardrail\.Principal"):
        await bad.run("go", deps={"guardrail_principal": "alice"})
    assert ran == {}


async def test_on_denied_raise_ends_the_run_with_the_refusal(
    guard: Guard, alice: Principal
) -> None:
    toolset = GuardedToolset(make_toolset(), guard=guard, on_denied="raise")
    raising = Agent(Script([REFUND_250]).model(), deps_type=Deps, toolsets=[toolset])
    with pytest.raises(GuardrailDenied, match="support-refunds"):
        await raising.run("go", deps=Deps(guardrail_principal=alice))
    assert ran == {}


def test_a_plain_tool_is_wrapped_in_a_toolset(guard: Guard) -> None:
    from pydantic_ai import Tool

    def ping() -> str:
        return "pong"

    wrapped = guard.wrap(Tool(ping))
    assert isinstance(wrapped, GuardedToolset)
    assert guard.wrap(wrapped) is wrapped
