"""Where ``GuardrailPlugin`` sits among a runner's plugins.

ADK calls plugins in the order they were registered and stops at the first one
that answers a callback. The guardrail plugin answers every tool call in
``before_tool_callback`` (the call runs through the guard), so ADK skips the
``before_tool_callback`` of each plugin registered after it: the plugin runs
those itself, for every call the guard allows, in their order, before the
agent's own callbacks and the tool. So the plugins after it behave as if it
were not there, for the calls it lets through.

A plugin registered *before* it with a ``before_tool_callback`` runs first and
could answer a call (a cache, a mock) that the guard then never sees: that order
is refused with a :class:`~guardrail.ConfigurationError` when a run starts.
Plugins without a ``before_tool_callback`` may sit anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.adk.plugins.base_plugin import BasePlugin
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext

from guardrail import ConfigurationError


def answers_tool_calls(plugin: BasePlugin) -> bool:
    """``plugin`` has its own ``before_tool_callback`` (which may answer a call)."""
    return type(plugin).before_tool_callback is not BasePlugin.before_tool_callback


def check_order(guarding: BasePlugin, plugins: Sequence[BasePlugin]) -> None:
    """Refuse plugins before ``guarding`` that could answer a call the guard never sees."""
    index = _index(guarding, plugins)
    ahead = [p.name for p in plugins[:index] if answers_tool_calls(p)]
    if ahead:
        names = ", ".join(repr(name) for name in ahead)
        raise ConfigurationError(
            f"GuardrailPlugin {guarding.name!r} must be registered before plugin {names}: "
            "ADK runs plugins in order and a before_tool_callback registered first could "
            "answer a tool call the guard never sees. Put GuardrailPlugin first in "
            "App(plugins=[...]); the plugins after it still see every call it allows."
        )


async def before_tool_of_later(
    guarding: BasePlugin, tool: BaseTool, args: dict[str, Any], context: ToolContext
) -> dict[str, Any] | None:
    """The ``before_tool_callback``s of the plugins after ``guarding`` (ADK skips them).

    The first that answers is the call's result, as in ADK.
    """
    plugins = context.get_invocation_context().plugin_manager.plugins
    for plugin in plugins[_index(guarding, plugins) + 1 :]:
        if not answers_tool_calls(plugin):
            continue
        answer = await plugin.before_tool_callback(tool=tool, tool_args=args, tool_context=context)
        if answer is not None:
            return answer
    return None


def _index(guarding: BasePlugin, plugins: Sequence[BasePlugin]) -> int:
    for index, plugin in enumerate(plugins):
        if plugin is guarding:
            return index
    return len(plugins)  # not registered (called directly): every plugin counts as before
