"""A guarded function tool that raises is audited as failed; the model reads the SDK's text.

The SDK's default ``failure_error_function`` turns the exception into text inside the
tool call, so the guard used to see a completed call. Real ``Runner`` runs with a
scripted model; the text the model reads is compared with an unguarded run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from agents import Agent, FunctionTool, RunConfig, Runner, UserError, function_tool
from agents.run_config import ToolErrorFormatterArgs
from guardrail_openai_agents import run_config
from oa_support import ScriptedModel, answers, make_tools, ran

from guardrail import Guard, Principal
from guardrail.testing import capture_audit

FAIL = ("lookup_order", {"order_id": "BROKEN"})
LOOKUP = ("lookup_order", {"order_id": "A1"})


@dataclass
class AppContext:
    guardrail_principal: Principal | None


class WarehouseDown(RuntimeError):
    """What the tool raises for order BROKEN."""


def failing_tools(**options: Any) -> list[FunctionTool]:
    @function_tool(**options)
    def lookup_order(order_id: str) -> str:
        """Look an order up."""
        ran["lookup_order"] += 1
        if order_id == "BROKEN":
            raise WarehouseDown("warehouse db unreachable: secret-host:5432")
        return f"order {order_id}: shipped"

    return [lookup_order, *make_tools()[1:]]


async def run(
    tools: list[Any], who: Principal, config: RunConfig, *calls: Any, streamed: bool = False
) -> dict[str, str]:
    agent = Agent(name="support", model=ScriptedModel(calls), tools=tools)
    ctx = AppContext(guardrail_principal=who)
    if streamed:
        result: Any = Runner.run_streamed(agent, "go", context=ctx, run_config=config)
        async for _ in result.stream_events():
            pass
    else:
        result = await Runner.run(agent, "go", context=ctx, run_config=config)
    return answers(str(result.final_output))


def outcomes(events: Any) -> list[tuple[str | None, str, str | None, str | None]]:
    return [
        (e.tool_call_id, e.decision, e.outcome, e.subject) for e in events if e.phase == "outcome"
    ]


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_raising_tool_is_audited_as_failed_and_the_model_reads_the_sdk_text(
    guard: Guard, alice: Principal, streamed: bool
) -> None:
    plain = RunConfig(tracing_disabled=True)
    unguarded = await run(failing_tools(), alice, plain, FAIL, LOOKUP, streamed=streamed)
    with capture_audit(guard) as events:
        seen = await run(guard.wrap(failing_tools()), alice, plain, FAIL, LOOKUP, streamed=streamed)
    assert seen == unguarded  # the SDK's own text for the failure, the result for the other
    assert "error occurred" in seen["call_1"] and "secret-host" not in seen["call_1"]
    assert seen["call_2"] == "order A1: shipped"
    assert sorted(outcomes(events)) == [
        ("call_1", "error", "WarehouseDown", "alice"),
        ("call_2", "allowed", "ok", "alice"),
    ]


async def test_the_runs_own_error_formatter_still_writes_the_text(
    guard: Guard, alice: Principal
) -> None:
    """A run's ``tool_error_formatter`` (here under guardrail's run_config) still decides."""

    def formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
        if args.kind == "tool_exception":
            return f"{args.tool_name} failed: {type(args.error).__name__}"
        return None

    config = run_config(guard, RunConfig(tracing_disabled=True, tool_error_formatter=formatter))
    with capture_audit(guard) as events:
        seen = await run(guard.wrap(failing_tools()), alice, config, FAIL, LOOKUP)
    assert seen["call_1"] == "lookup_order failed: WarehouseDown"
    assert seen["call_2"] == "order A1: shipped"
    assert ("call_1", "error", "WarehouseDown", "alice") in outcomes(events)


def _sorry(ctx: Any, error: Exception) -> str:
    return f"sorry: {type(error).__name__}"


async def _asorry(ctx: Any, error: Exception) -> str:
    return f"sorry (async): {type(error).__name__}"


@pytest.mark.parametrize("own", [_sorry, _asorry])
async def test_a_tools_own_failure_function_writes_the_text_and_the_call_is_audited_failed(
    guard: Guard, alice: Principal, own: Any
) -> None:
    """``failure_error_function=own``: the model reads own's text (as unguarded); the
    record says the call failed, not that it completed with that text."""
    plain = RunConfig(tracing_disabled=True)
    unguarded = await run(failing_tools(failure_error_function=own), alice, plain, FAIL, LOOKUP)
    tools = guard.wrap(failing_tools(failure_error_function=own))
    with capture_audit(guard) as events:
        seen = await run(tools, alice, plain, FAIL, LOOKUP)
    assert seen == unguarded
    assert seen["call_1"].startswith("sorry") and seen["call_1"].endswith("WarehouseDown")
    assert sorted(outcomes(events)) == [
        ("call_1", "error", "WarehouseDown", "alice"),
        ("call_2", "allowed", "ok", "alice"),
    ]
    with capture_audit(guard) as again:  # wrapped twice: still one record, still failed
        assert await run(guard.wrap(tools), alice, plain, FAIL) == {"call_1": seen["call_1"]}
    assert outcomes(again) == [("call_1", "error", "WarehouseDown", "alice")]


async def test_a_tool_that_lets_errors_through_fails_the_run_and_is_audited(
    guard: Guard, alice: Principal
) -> None:
    """``failure_error_function=None``: the SDK ends the run (as unguarded); the record says so."""
    tools = guard.wrap(failing_tools(failure_error_function=None))
    with capture_audit(guard) as events, pytest.raises(UserError, match="warehouse db"):
        await run(tools, alice, RunConfig(tracing_disabled=True), FAIL)
    assert outcomes(events) == [("call_1", "error", "WarehouseDown", "alice")]


async def test_a_refused_call_is_still_a_refusal(guard: Guard, alice: Principal) -> None:
    """The failure watch does not turn a refusal (tool never ran) into an error."""
    with capture_audit(guard) as events:
        seen = await run(
            guard.wrap(failing_tools()),
            alice,
            RunConfig(tracing_disabled=True),
            ("refund", {"order_id": "A1", "amount": 250}),
        )
    assert seen["call_1"].startswith("Tool call refused by guardrail")
    assert [(e.decision, e.phase) for e in events] == [("denied", "refusal")]
