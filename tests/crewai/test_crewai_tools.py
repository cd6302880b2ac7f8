"""Guarded CrewAI tools in a real crew with a scripted BaseLLM: two users, every call governed."""

from __future__ import annotations

import asyncio

from crew_support import (
    ScriptedLLM,
    action,
    close_account,
    crew_of,
    final,
    lookup_order,
    ran,
    refund,
)
from guardrail_crewai import GuardedTool, GuardrailHooks

from guardrail import Guard, Principal
from guardrail.testing import capture_audit

TOOLS = [lookup_order, refund, close_account]
SCRIPT = [
    action("lookup_order", order_id="A-17"),
    action("refund", order_id="A-17", amount=250),
    action("close_account", customer_id="C-9"),
    final(),
]


def _records(events: list) -> list[tuple[str | None, str, str, str]]:  # type: ignore[type-arg]
    return [(e.subject, e.tool, e.phase, e.decision) for e in events]


def test_two_users_get_their_own_tools_and_outcomes(
    guard: Guard, users: dict[str, Principal]
) -> None:
    """Each user's crew is built with guard.visible(tools, user): tools bound and narrowed."""
    alice_tools = guard.visible(TOOLS, users["alice"])
    maria_tools = guard.visible(TOOLS, users["maria"])
    assert [t.name for t in alice_tools] == ["lookup_order", "refund"]
    assert [t.name for t in maria_tools] == ["lookup_order", "refund", "close_account"]
    assert '"maximum": 100' in alice_tools[1].description
    alice_llm, maria_llm = ScriptedLLM([*SCRIPT[:3], final()]), ScriptedLLM(SCRIPT)
    with capture_audit(guard) as events:
        crew_of(alice_llm, alice_tools).kickoff()
        crew_of(maria_llm, maria_tools).kickoff()
    seen = alice_llm.observations()
    assert seen[0] == "order A-17: 250.00 EUR"
    assert "rule 'support-refunds'" in seen[1]
    assert "refunded 250.00 on A-17" in maria_llm.observations()[1]
    assert ran == [
        ("lookup_order", "alice"),
        ("lookup_order", "maria"),
        ("refund", "maria"),
        ("close_account", "maria"),
    ]
    assert _records(events)[:3] == [
        ("alice", "lookup_order", "intent", "allowed"),
        ("alice", "lookup_order", "outcome", "allowed"),
        ("alice", "refund", "refusal", "denied"),
    ]


def test_a_call_to_a_tool_the_user_was_not_shown_is_refused(
    guard: Guard, users: dict[str, Principal]
) -> None:
    tools = guard.wrap(TOOLS)  # every tool in the crew, identity from acting_as
    llm = ScriptedLLM([action("close_account", customer_id="C-9"), final()])
    with guard.acting_as(users["alice"]), capture_audit(guard) as events:
        crew_of(llm, tools).kickoff()
    assert "may not call 'close_account'" in llm.observations()[0]
    assert ran == []
    assert _records(events) == [("alice", "close_account", "refusal", "denied")]


def test_repeated_calls_are_not_served_from_crewais_cache(
    guard: Guard, users: dict[str, Principal]
) -> None:
    """CrewAI caches tool results by input; a cached answer would skip the guard and budget.

    With the hooks installed every call reaches the guard; without them, build the
    crew with ``cache=False``.
    """
    same = action("refund", order_id="A-17", amount=5)
    script = [same, action("lookup_order", order_id="A-17"), same]
    script += [
        action("refund", order_id="A-17", amount=6),
        action("refund", order_id="A-9", amount=7),
    ]
    llm = ScriptedLLM([*script, final()])
    with GuardrailHooks(guard), capture_audit(guard) as events:
        crew_of(llm, guard.visible(TOOLS, users["alice"])).kickoff()
    refunds = [e.decision for e in events if e.tool == "refund" and e.phase != "intent"]
    assert refunds == ["allowed", "allowed", "allowed", "budget_exceeded"]
    assert ran.count(("refund", "alice")) == 3
    assert "budget 'refund-calls'" in llm.observations()[-1]


def test_kickoff_async_is_governed(guard: Guard, users: dict[str, Principal]) -> None:
    llm = ScriptedLLM([action("refund", order_id="A-17", amount=250), final()])
    crew = crew_of(llm, guard.visible(TOOLS, users["alice"]))
    with capture_audit(guard) as events:
        asyncio.run(crew.kickoff_async())
    assert _records(events) == [("alice", "refund", "refusal", "denied")]
    # acting_as around kickoff_async reaches the tools (CrewAI runs the crew in a thread).
    llm = ScriptedLLM([action("refund", order_id="A-17", amount=50), final()])
    with guard.acting_as(users["alice"]):
        asyncio.run(crew_of(llm, guard.wrap(TOOLS)).kickoff_async())
    assert ran == [("refund", "alice")]


def test_hooks_take_identity_from_the_crew_and_block_unguarded_tools(
    guard: Guard, users: dict[str, Principal]
) -> None:
    by_crew = {"crew-alice": users["alice"], "crew-maria": users["maria"]}
    tools = [*guard.wrap([lookup_order, refund]), close_account]  # close_account not wrapped
    llm = ScriptedLLM(
        [
            action("lookup_order", order_id="A-1"),
            action("close_account", customer_id="C-9"),
            final(),
        ]
    )
    with (
        GuardrailHooks(guard, users=lambda ctx: by_crew[ctx.crew.name]),
        capture_audit(guard) as events,
    ):
        crew_of(llm, tools, name="crew-maria").kickoff()
    assert ran == [("lookup_order", "maria")]
    assert "blocked" in llm.observations()[1]
    assert _records(events) == [
        ("maria", "lookup_order", "intent", "allowed"),
        ("maria", "lookup_order", "outcome", "allowed"),
        ("maria", "close_account", "refusal", "denied"),
    ]
    assert isinstance(tools[0], GuardedTool)
