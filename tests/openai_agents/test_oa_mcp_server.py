"""The SDK's own MCP server client (stdio, a real MCP server process), governed per user."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner
from agents.mcp import MCPServerStdio
from guardrail_openai_agents import GuardedMCPServer, run_config
from oa_support import ScriptedModel, answers

from guardrail import Guard, Principal
from guardrail.testing import capture_audit

CRM = Path(__file__).parents[1] / "mcp" / "crm_server.py"


@pytest.fixture
async def crm(tmp_path: Path, guard: Guard) -> AsyncIterator[GuardedMCPServer]:
    params = {
        "command": sys.executable,
        "args": [str(CRM), "--name", "crm", "--effects", str(tmp_path)],
    }
    async with MCPServerStdio(params, name="crm", client_session_timeout_seconds=30) as server:
        yield guard.wrap(server)


def effects(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "crm.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


async def run(
    crm: GuardedMCPServer, guard: Guard, who: Principal, *calls: Any, stream: bool = False
) -> tuple[dict[str, str], ScriptedModel]:
    model = ScriptedModel(calls)
    agent = Agent(name="crm", model=model, mcp_servers=[crm])
    config = run_config(guard, RunConfig(tracing_disabled=True))
    context = {"guardrail_principal": who}
    if stream:
        streamed = Runner.run_streamed(agent, "go", context=context, run_config=config)
        async for _ in streamed.stream_events():
            pass
        return answers(str(streamed.final_output)), model
    result = await Runner.run(agent, "go", context=context, run_config=config)
    return answers(str(result.final_output)), model


@pytest.mark.parametrize("stream", [False, True])
async def test_two_users_through_one_mcp_server(
    crm: GuardedMCPServer,
    guard: Guard,
    alice: Principal,
    maria: Principal,
    tmp_path: Path,
    stream: bool,
) -> None:
    refund = ("refund", {"order_id": "A1", "amount": 250})
    lookup = ("lookup_customer", {"customer_id": "C7"})
    with capture_audit(guard) as events:
        for_alice, alice_model = await run(crm, guard, alice, refund, lookup, stream=stream)
        for_maria, maria_model = await run(crm, guard, maria, refund, stream=stream)
    assert for_alice["call_1"].startswith("Tool call refused by guardrail")
    assert for_alice["call_2"] == "crm: customer C7 is in good standing"
    assert for_maria["call_1"] == "crm: refunded 250.00 on A1"
    assert [(e["tool"], e["args"]) for e in effects(tmp_path)] == [
        ("lookup_customer", {"customer_id": "C7"}),
        ("refund", {"order_id": "A1", "amount": 250}),
    ]
    records = {
        (e.subject, e.tool, e.tool_call_id, e.decision) for e in events if e.phase != "intent"
    }
    assert records == {
        ("alice", "crm/refund", "call_1", "denied"),
        ("alice", "crm/lookup_customer", "call_2", "allowed"),
        ("maria", "crm/refund", "call_1", "allowed"),
    }
    # Listed per run: alice is not shown whoami, and her refund schema is capped at 100.
    assert set(alice_model.seen_tools[0]) == {"lookup_customer", "refund"}
    assert alice_model.seen_tools[0]["refund"]["properties"]["amount"]["maximum"] == 100
    assert set(maria_model.seen_tools[0]) == {"lookup_customer", "refund", "whoami"}


async def test_a_hidden_mcp_tool_called_anyway_is_refused(
    crm: GuardedMCPServer, guard: Guard, alice: Principal, tmp_path: Path
) -> None:
    with capture_audit(guard) as events:
        seen, _ = await run(crm, guard, alice, ("whoami", {}))
    assert "'whoami' is not a tool this user may call" in seen["call_1"]
    assert [(e.subject, e.decision) for e in events] == [("alice", "denied")]
    assert effects(tmp_path) == []


async def test_called_directly_it_runs_as_acting_as(
    crm: GuardedMCPServer, guard: Guard, alice: Principal, tmp_path: Path
) -> None:
    with guard.acting_as(alice), capture_audit(guard) as events:
        refused = await crm.call_tool("refund", {"order_id": "A1", "amount": 250})
        allowed = await crm.call_tool("refund", {"order_id": "A1", "amount": 50})
    assert refused.is_error and not allowed.is_error
    assert [e.decision for e in events if e.phase != "intent"] == ["denied", "allowed"]
    assert len(effects(tmp_path)) == 1
