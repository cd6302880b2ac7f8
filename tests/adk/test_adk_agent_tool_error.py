"""The agent's own ``on_tool_error_callback`` still answers a failed call the plugin ran.

ADK skips the agent's tool callbacks once a plugin answers the call, so the plugin
runs them itself: before the call (``before_tool_callback``) and, after the runner's
error plugins, on a failure. Real ``InMemoryRunner`` with a scripted ``BaseLlm``.
"""

from __future__ import annotations

from typing import Any

import pytest
from adk_support import call, run_agent, text
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from guardrail_adk import GuardrailPlugin

from guardrail import Guard, Policy, Principal
from guardrail.testing import capture_audit

SCRIPT = [[call("broken", "c1", order_id="A-17")], [text("done")]]


def broken(order_id: str) -> dict[str, Any]:
    """A tool that fails."""
    raise ValueError(f"order {order_id} is locked")


def recover(
    tool: BaseTool, args: dict[str, Any], tool_context: ToolContext, error: Exception
) -> dict[str, Any]:
    return {"error": f"agent recovered {tool.name}({args['order_id']}): {error}"}


async def returns_nothing(**_: Any) -> None:
    return None


@pytest.mark.parametrize("callbacks", [recover, [returns_nothing, recover]])
async def test_the_agents_tool_error_callback_answers_and_the_call_is_audited_as_failed(
    users: dict[str, Principal], callbacks: Any
) -> None:
    guard = Guard(Policy.model_validate({"rules": [{"id": "r", "allow": ["*"]}]}))
    plugins = [GuardrailPlugin(guard, users=users.get)]
    with capture_audit(guard) as events:
        run = await run_agent(
            plugins,
            SCRIPT,
            tools=[broken],
            agent_options={"on_tool_error_callback": callbacks},
        )
    assert run.model.responses()["c1"] == {
        "error": "agent recovered broken(A-17): order A-17 is locked"
    }
    assert [(e.phase, e.decision, e.outcome) for e in events] == [
        ("intent", "allowed", None),
        ("outcome", "error", "ValueError"),
    ]
