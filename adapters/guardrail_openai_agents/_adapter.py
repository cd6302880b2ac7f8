"""The ``openai_agents`` adapter: ``guard.wrap`` / ``guard.visible`` and :func:`run_config`."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from agents import FunctionTool, RunConfig
from agents.mcp import MCPServer
from agents.run_config import ToolErrorFormatterArgs

from guardrail import (
    AuthenticationError,
    ConfigurationError,
    Guard,
    PermissionDenied,
    Principal,
    current_principal,
)
from guardrail.adapters import Adapter, OnDenied, denial_text, principal_from_context
from guardrail_openai_agents._mcp import GuardedMCPServer
from guardrail_openai_agents._tool import GuardedFunctionTool


def wrap(guard: Guard, obj: Any, *, on_denied: OnDenied = "result") -> Any:
    """Guard a ``FunctionTool``, an MCP server (-> :class:`GuardedMCPServer`) or a list of them."""
    if isinstance(obj, list | tuple):
        return type(obj)(wrap(guard, item, on_denied=on_denied) for item in obj)
    if isinstance(obj, GuardedFunctionTool | GuardedMCPServer) and obj.guard is guard:
        return obj if obj.on_denied == on_denied else _with(obj, on_denied)
    if isinstance(obj, FunctionTool):
        return GuardedFunctionTool.around(obj, guard, on_denied=on_denied)
    if isinstance(obj, MCPServer):
        return GuardedMCPServer(obj, guard, on_denied=on_denied)
    raise ConfigurationError(f"not an OpenAI Agents tool or MCP server: {type(obj).__name__}")


def visible(
    guard: Guard, obj: Any, principal: Principal | None = None, *, on_denied: OnDenied = "result"
) -> Any:
    """The guarded tools ``principal`` may call, schemas narrowed (``None`` for a hidden tool).

    For an agent built per request: ``Agent(tools=guard.visible(tools, user))``. An
    agent shared by all users shows each run's user only their tools anyway
    (``is_enabled``); MCP servers are narrowed per run.
    """
    who = principal if principal is not None else current_principal()
    if isinstance(obj, list | tuple):
        shown = (visible(guard, item, who, on_denied=on_denied) for item in obj)
        return type(obj)(item for item in shown if item is not None)
    guarded = wrap(guard, obj, on_denied=on_denied)
    if isinstance(guarded, GuardedFunctionTool):
        return guarded.narrowed_for(who)
    return guarded  # an MCP server lists per run, for the run's user


def run_config(guard: Guard, base: RunConfig | None = None) -> RunConfig:
    """``base`` (or a new ``RunConfig``) with calls of tools the agent did not show refused.

    A model that calls a tool hidden from its user (or one that does not exist)
    gets a tool output saying why instead of ending the run, and the refusal is
    audited; other tool errors are formatted by ``base``'s own formatter.
    """
    config = base if base is not None else RunConfig()
    previous = config.tool_error_formatter

    async def formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
        if args.kind != "tool_not_found":
            found = previous(args) if previous is not None else None
            return await found if inspect.isawaitable(found) else found
        return await _refuse_hidden(guard, args)

    return dataclasses.replace(
        config, tool_not_found_behavior="return_error_to_model", tool_error_formatter=formatter
    )


async def _refuse_hidden(guard: Guard, args: ToolErrorFormatterArgs[Any]) -> str:
    try:
        who = principal_from_context(guard, args.run_context.context)
        reason = f"{args.tool_name!r} is not a tool this user may call (it was not shown)"
        refusal: Any = PermissionDenied(reason, principal=who)
    except AuthenticationError as exc:
        who, refusal = None, exc
    await guard.arefuse(args.tool_name, refusal, principal=who, tool_call_id=args.call_id)
    return denial_text(refusal)


def _with(obj: Any, on_denied: OnDenied) -> Any:
    if isinstance(obj, GuardedFunctionTool):
        return dataclasses.replace(obj, on_denied=on_denied)
    return GuardedMCPServer(obj.wrapped, obj.guard, server=obj.server, on_denied=on_denied)


class OpenAIAgentsAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``openai-agents``."""

    name = "openai-agents"
    extra = "openai-agents"
    requires = {"openai-agents": "0.6"}

    def __init__(self, *, on_denied: OnDenied = "result") -> None:
        self.on_denied: OnDenied = on_denied

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, FunctionTool | MCPServer)

    def wrap(self, obj: Any, guard: Guard) -> Any:
        return wrap(guard, obj, on_denied=self.on_denied)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        return visible(guard, obj, principal, on_denied=self.on_denied)
