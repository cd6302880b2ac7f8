"""Budgets and audit apply to MCP calls exactly as to plain guarded functions."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import guardrail_mcp
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp_support import CRM_SERVER, script_env

from guardrail import Guard, Policy, Principal
from guardrail.audit.event import AuditEvent
from guardrail.testing import capture_audit

POLICY = {
    "rules": [
        {
            "id": "support",
            "allow": ["crm/lookup_customer", "lookup_local"],
            "when": {"roles": ["support"]},
        }
    ],
    "limits": [{"id": "user-rate", "per": "user", "calls": "2/minute"}],
}
ALICE = Principal(subject="alice", roles=frozenset({"support"}))


@asynccontextmanager
async def crm_session(guard: Guard, effects: Path) -> AsyncIterator[guardrail_mcp.GuardedSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(CRM_SERVER), "--name=crm", f"--effects={effects}"],
        env=script_env(),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as raw:
        await raw.initialize()
        yield guardrail_mcp.wrap_session(raw, guard, server="crm", cost=1)


def make_guard() -> tuple[Guard, object]:
    guard = Guard(Policy.model_validate(POLICY))

    @guard.tool(cost=1)
    def lookup_local(customer_id: str) -> str:
        return f"customer {customer_id}"

    return guard, lookup_local


def shape(event: AuditEvent) -> tuple[object, ...]:
    return (
        event.phase,
        event.decision,
        event.rule,
        event.subject,
        event.args,
        event.outcome,
        event.cost_reserved,
    )


async def test_mcp_call_audit_matches_a_plain_function(tmp_path: Path) -> None:
    """An MCP call leaves the same intent/outcome records as the same call to a local tool."""
    guard, lookup_local = make_guard()
    async with crm_session(guard, tmp_path) as session:
        with guard.acting_as(ALICE), capture_audit(guard) as events:
            lookup_local(customer_id="c-1")  # type: ignore[operator]
            result = await session.call_tool(
                "lookup_customer", {"customer_id": "c-1"}, tool_call_id="call_1"
            )
    assert not result.is_error
    assert {e.tool_call_id for e in events if e.tool == "crm/lookup_customer"} == {"call_1"}
    local = [shape(e) for e in events if e.tool == "lookup_local"]
    remote = [shape(e) for e in events if e.tool == "crm/lookup_customer"]
    assert [s[:2] for s in remote] == [("intent", "allowed"), ("outcome", "allowed")]
    assert remote == local
    assert len({e.call_id for e in events if e.tool == "crm/lookup_customer"}) == 1


async def test_calls_limit_counts_mcp_and_local_calls_together(tmp_path: Path) -> None:
    """A per-user calls limit covers local and MCP calls; over it, the tool never runs."""
    guard, lookup_local = make_guard()
    async with crm_session(guard, tmp_path) as session:
        with guard.acting_as(ALICE), capture_audit(guard) as events:
            lookup_local(customer_id="c-1")  # type: ignore[operator]
            first = await session.call_tool("lookup_customer", {"customer_id": "c-2"})
            over = await session.call_tool("lookup_customer", {"customer_id": "c-3"})
    assert not first.is_error
    assert over.is_error and over.meta and over.meta["guardrail"]["decision"] == "budget_exceeded"
    assert "c-3" not in (tmp_path / "crm.log").read_text()
    refusal = events[-1]
    assert refusal.phase == "refusal" and refusal.decision == "budget_exceeded"
    assert refusal.limit == "user-rate"
