"""GuardrailPlugin's place among an ADK runner's plugins.

ADK runs plugins in order and stops at the first that answers. The plugin answers
every tool call, so it runs the ``before_tool_callback`` of the plugins after it
itself (ADK would skip them); a plugin with a ``before_tool_callback`` registered
before it could answer calls the guard never sees, and is refused when a run starts.
Real ``InMemoryRunner`` with a scripted ``BaseLlm``.
"""

from __future__ import annotations

from typing import Any

import pytest
from adk_support import SCRIPT_ALLOWED_AND_REFUSED, ran, run_agent
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from guardrail_adk import GuardrailPlugin

from guardrail import ConfigurationError, Guard, Principal
from guardrail.testing import capture_audit


class Watcher(BasePlugin):
    """Sees each tool call before it runs; answers none."""

    def __init__(self, name: str = "watcher") -> None:
        super().__init__(name=name)
        self.seen: list[str] = []

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        self.seen.append(f"{tool.name}:{tool_context.function_call_id}")
        return None


class Cache(BasePlugin):
    """Answers lookups from a cache, so the tool does not run."""

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        return {"cached": tool_args["order_id"]} if tool.name == "lookup_order" else None


class Stamp(BasePlugin):
    """Marks every tool result (an after_tool_callback: ADK runs it after the call)."""

    async def after_tool_callback(self, *, result: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**result, "stamped": True}


def _records(events: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.tool, e.tool_call_id, e.phase, e.decision) for e in events]


ALICE_RECORDS = [
    ("lookup_order", "c1", "intent", "allowed"),
    ("lookup_order", "c1", "outcome", "allowed"),
    ("refund", "c2", "refusal", "denied"),
    ("close_account", "c3", "refusal", "denied"),
]


async def test_plugins_after_it_see_every_allowed_call(
    guard: Guard, users: dict[str, Principal]
) -> None:
    """First in the list: the watcher after it sees the allowed call, not the refused ones."""
    watcher = Watcher()
    plugins = [GuardrailPlugin(guard, users=users.get), watcher]
    with capture_audit(guard) as events:
        run = await run_agent(plugins, SCRIPT_ALLOWED_AND_REFUSED, user="alice")
    assert watcher.seen == ["lookup_order:c1"]
    assert run.model.responses()["c1"] == {"order": "A-17", "total": 250.0}
    assert "rule 'support-refunds'" in run.model.responses()["c2"]["error"]
    assert ran == [("lookup_order", "alice")]
    assert _records(events) == ALICE_RECORDS


async def test_a_later_plugin_may_answer_an_allowed_call_and_it_is_audited(
    guard: Guard, users: dict[str, Principal]
) -> None:
    plugins = [GuardrailPlugin(guard, users=users.get), Cache(name="cache")]
    with capture_audit(guard) as events:
        run = await run_agent(plugins, SCRIPT_ALLOWED_AND_REFUSED, user="alice")
    assert run.model.responses()["c1"] == {"cached": "A-17"}
    assert ran == []  # answered by the cache, after the guard allowed it
    assert _records(events) == ALICE_RECORDS


@pytest.mark.parametrize("guard_first", [True, False])
async def test_plugins_without_before_tool_may_sit_anywhere(
    guard: Guard, users: dict[str, Principal], guard_first: bool
) -> None:
    guarding = GuardrailPlugin(guard, users=users.get)
    stamp = Stamp(name="stamp")
    plugins = [guarding, stamp] if guard_first else [stamp, guarding]
    with capture_audit(guard) as events:
        run = await run_agent(plugins, SCRIPT_ALLOWED_AND_REFUSED, user="alice")
    seen = run.model.responses()
    assert seen["c1"] == {"order": "A-17", "total": 250.0, "stamped": True}
    assert seen["c2"]["stamped"] is True and "support-refunds" in seen["c2"]["error"]
    assert _records(events) == ALICE_RECORDS


async def test_a_before_tool_plugin_ahead_of_it_is_refused_when_the_run_starts(
    guard: Guard, users: dict[str, Principal]
) -> None:
    """It could answer a call the guard never sees: a clear error, nothing runs."""
    plugins = [Cache(name="cache"), Watcher(), GuardrailPlugin(guard, users=users.get)]
    with capture_audit(guard) as events, pytest.raises(RuntimeError) as raised:
        await run_agent(plugins, SCRIPT_ALLOWED_AND_REFUSED, user="alice")
    error = raised.value.__cause__
    assert isinstance(error, ConfigurationError)
    assert "must be registered before plugin 'cache', 'watcher'" in str(error)
    assert "Put GuardrailPlugin first" in str(error)
    assert ran == [] and events == []
