"""``guardrail_mcp.serve`` in-process (``mcp.Client(server)``): async skills, spans, subsets."""

from __future__ import annotations

import asyncio

import guardrail_mcp
import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextContent
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail import ConfigurationError, Guard, Policy, current_principal
from guardrail.testing import capture_audit, make_principal, recording_tracer

POLICY = Policy.from_dict(
    {
        "rules": [
            {"id": "hr-onboard", "allow": "onboard", "when": {"roles": "hr"}},
            {"id": "anyone-hours", "allow": "office_hours"},
        ]
    }
)
HANA = make_principal("hana", roles=["hr"])
EVE = make_principal("eve")


def hr_guard() -> tuple[Guard, list[str], InMemorySpanExporter]:
    provider, spans = recording_tracer()
    guard = Guard(POLICY, tracer_provider=provider)
    created: list[str] = []

    @guard.tool(expose="skill")
    async def create_account(username: str) -> str:
        await asyncio.sleep(0)
        who = current_principal()
        created.append(f"{username} by {who.subject if who else None}")
        return username

    @guard.skill
    async def onboard(name: str) -> str:
        """Create the accounts a new employee needs."""
        return await create_account(name.lower())

    @guard.tool
    def office_hours() -> str:
        """When the office is open."""
        return "9-5"

    return guard, created, spans


def texts(result: object) -> str:
    content = getattr(result, "content", [])
    return " ".join(c.text for c in content if isinstance(c, TextContent))


async def test_an_async_skill_is_served_and_its_step_is_refused() -> None:
    """An async skill runs as the caller; its async step is hidden and refused by name."""
    guard, created, spans = hr_guard()
    server = guardrail_mcp.serve(MCPServer("hr"), guard, default_principal=HANA)
    with capture_audit(guard) as events:
        async with Client(server) as client:
            listed = sorted(t.name for t in (await client.list_tools()).tools)
            done = await client.call_tool("onboard", {"name": "Zoe"})
            step = await client.call_tool("create_account", {"username": "eve"})
    assert listed == ["office_hours", "onboard"]
    assert not done.is_error and "zoe" in texts(done)
    assert step.is_error and "only be called from inside a skill" in texts(step)
    assert created == ["zoe by hana"]
    assert [(e.tool, e.phase, e.skill) for e in events] == [
        ("onboard", "intent", None),
        ("create_account", "intent", "onboard"),
        ("create_account", "outcome", "onboard"),
        ("onboard", "outcome", None),
        ("create_account", "refusal", None),
    ]
    finished = spans.get_finished_spans()
    (skill,) = [s for s in finished if s.name == "execute_tool onboard"]
    nested, refused = [s for s in finished if s.name == "execute_tool create_account"]
    assert nested.parent is not None and nested.parent.span_id == skill.context.span_id
    assert refused.parent is None  # called by name from outside: its own trace, refused


async def test_each_caller_sees_and_runs_only_what_the_policy_allows() -> None:
    """A user without the skill's rule gets it neither listed nor run."""
    guard, created, _ = hr_guard()
    server = guardrail_mcp.serve(MCPServer("hr"), guard, default_principal=EVE)
    async with Client(server) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        refused = await client.call_tool("onboard", {"name": "Zoe"})
    assert listed == ["office_hours"]
    assert refused.is_error and "default deny" in texts(refused)
    assert created == []


async def test_serve_a_subset_and_never_a_step() -> None:
    """``tools=`` picks what is served; naming a step is a configuration error."""
    guard, _, _ = hr_guard()
    server = guardrail_mcp.serve(
        MCPServer("hr", log_level="WARNING"), guard, tools=["onboard"], default_principal=HANA
    )
    async with Client(server) as client:
        listed = [t.name for t in (await client.list_tools()).tools]
        malformed = await client.call_tool("onboard", {"name": ["not", "a", "string"]})
    assert listed == ["onboard"]
    assert malformed.is_error
    with pytest.raises(ConfigurationError, match="create_account"):
        guardrail_mcp.serve(MCPServer("hr2"), guard, tools=["create_account"])
