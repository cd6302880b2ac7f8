"""GuardrailPlugin on a real ADK runner with a scripted BaseLlm: two users, every call governed."""

from __future__ import annotations

from typing import Any

from adk_support import call, close_account, lookup_order, ran, refund, run_agent, text
from google.adk.agents.run_config import RunConfig, StreamingMode
from google.adk.tools import FunctionTool
from guardrail_adk import GuardedTool, GuardrailPlugin

from guardrail import Guard, Principal
from guardrail.testing import capture_audit

SCRIPT = [
    [call("lookup_order", "c1", order_id="A-17")],
    [
        call("refund", "c2", order_id="A-17", amount=250),
        call("close_account", "c3", customer_id="C-9"),
    ],
    [text("done")],
]


def _records(events: list[Any]) -> list[tuple[str | None, str, str | None, str, str]]:
    return [(e.subject, e.tool, e.tool_call_id, e.phase, e.decision) for e in events]


async def test_two_users_one_agent_allowed_and_refused(
    guard: Guard, users: dict[str, Principal]
) -> None:
    with capture_audit(guard) as events:
        alice = await run_agent([GuardrailPlugin(guard, users=users.get)], SCRIPT, user="alice")
        maria = await run_agent([GuardrailPlugin(guard, users=users.get)], SCRIPT, user="maria")
    # alice: the lookup ran, the refund over her limit and the hidden tool were refused,
    # answered with ADK's {"error": ...} response, and the run went on to the model's last turn.
    seen = alice.model.responses()
    assert seen["c1"] == {"order": "A-17", "total": 250.0}
    assert "rule 'support-refunds'" in seen["c2"]["error"]
    assert seen["c2"]["guardrail"]["decision"] == "denied"
    assert "close_account" in seen["c3"]["error"]
    assert alice.events[-1].content.parts[0].text == "done"
    assert set(maria.model.responses()) == {"c1", "c2", "c3"}
    assert "error" not in maria.model.responses()["c3"]
    assert ran == [
        ("lookup_order", "alice"),
        ("lookup_order", "maria"),
        ("refund", "maria"),
        ("close_account", "maria"),
    ]
    assert _records(events) == [
        ("alice", "lookup_order", "c1", "intent", "allowed"),
        ("alice", "lookup_order", "c1", "outcome", "allowed"),
        ("alice", "refund", "c2", "refusal", "denied"),
        ("alice", "close_account", "c3", "refusal", "denied"),
        ("maria", "lookup_order", "c1", "intent", "allowed"),
        ("maria", "lookup_order", "c1", "outcome", "allowed"),
        ("maria", "refund", "c2", "intent", "allowed"),
        ("maria", "refund", "c2", "outcome", "allowed"),
        ("maria", "close_account", "c3", "intent", "allowed"),
        ("maria", "close_account", "c3", "outcome", "allowed"),
    ]


async def test_each_user_is_shown_only_their_tools_narrowed(
    guard: Guard, users: dict[str, Principal]
) -> None:
    alice = await run_agent([GuardrailPlugin(guard, users=users.get)], SCRIPT, user="alice")
    maria = await run_agent([GuardrailPlugin(guard, users=users.get)], SCRIPT, user="maria")
    shown = alice.model.shown()
    assert set(shown) == {"lookup_order", "refund"}
    assert shown["refund"]["properties"]["amount"]["maximum"] == 100
    assert set(maria.model.shown()) == {"lookup_order", "refund", "close_account"}
    assert "maximum" not in maria.model.shown()["refund"]["properties"]["amount"]


async def test_a_name_the_agent_does_not_have_is_refused_and_audited(
    guard: Guard, users: dict[str, Principal]
) -> None:
    script = [[call("drop_database", "c9", table="prod")], [text("done")]]
    with capture_audit(guard) as events:
        run = await run_agent([GuardrailPlugin(guard, users=users.get)], script, user="maria")
    assert "no tool named 'drop_database'" in run.model.responses()["c9"]["error"]
    assert _records(events) == [("maria", "drop_database", "c9", "refusal", "denied")]


async def test_streaming_runs_are_governed(guard: Guard, users: dict[str, Principal]) -> None:
    config = RunConfig(streaming_mode=StreamingMode.SSE)
    with capture_audit(guard) as events:
        run = await run_agent(
            [GuardrailPlugin(guard, users=users.get)], SCRIPT, user="alice", run_config=config
        )
    assert any(event.partial for event in run.events)
    assert "error" in run.model.responses()["c2"]
    assert [e.decision for e in events if e.phase != "intent"] == ["allowed", "denied", "denied"]


async def test_budget_is_counted_per_user_across_runs(
    guard: Guard, users: dict[str, Principal]
) -> None:
    script = [[call("refund", "r", order_id="A", amount=5)], [text("done")]]
    answers = []
    for _ in range(4):
        run = await run_agent([GuardrailPlugin(guard, users=users.get)], script, user="alice")
        answers.append(run.model.responses()["r"])
    assert [a.get("refunded") for a in answers[:3]] == [5, 5, 5]
    assert answers[3]["guardrail"]["decision"] == "budget_exceeded"
    assert "refund-calls" in answers[3]["error"]


async def test_tools_wrapped_with_guard_wrap_are_not_checked_twice(
    guard: Guard, users: dict[str, Principal]
) -> None:
    tools = guard.wrap([FunctionTool(lookup_order), FunctionTool(refund)])
    assert all(isinstance(tool, GuardedTool) for tool in tools)
    script = [[call("lookup_order", "c1", order_id="A-17")], [text("done")]]
    with capture_audit(guard) as events:
        await run_agent([GuardrailPlugin(guard, users=users.get)], script, tools=tools)
    assert _records(events) == [
        ("alice", "lookup_order", "c1", "intent", "allowed"),
        ("alice", "lookup_order", "c1", "outcome", "allowed"),
    ]


async def test_guard_wrap_alone_governs_calls_without_the_plugin(
    guard: Guard, users: dict[str, Principal]
) -> None:
    tools = guard.wrap([FunctionTool(lookup_order), FunctionTool(close_account)])
    script = [[call("close_account", "c3", customer_id="C-9")], [text("done")]]
    with guard.acting_as(users["alice"]), capture_audit(guard) as events:
        run = await run_agent([], script, tools=tools)
    assert "close_account" in run.model.responses()["c3"]["error"]
    assert ran == []
    assert _records(events) == [("alice", "close_account", "c3", "refusal", "denied")]
    shown = guard.visible(tools, users["alice"])
    assert [tool.name for tool in shown] == ["lookup_order"]


async def test_fresh_function_tools_each_turn_are_registered_once(
    guard: Guard, users: dict[str, Principal]
) -> None:
    """ADK makes a new FunctionTool for a plain function every turn: same tool, same spec."""
    plugin = GuardrailPlugin(guard, users=users.get)
    script = [
        [call("lookup_order", "c1", order_id="A")],
        [call("lookup_order", "c2", order_id="B")],
    ]
    await run_agent([plugin], [*script, [text("done")]], user="maria")
    first = guard.tools["lookup_order"]
    await run_agent([plugin], [*script, [text("done")]], user="maria")
    assert guard.tools["lookup_order"] is first
    assert ran == [("lookup_order", "maria")] * 4
