"""Serving a guard's own tools and skills to agents from an ``MCPServer``.

``serve(server, guard)`` adds every tool the guard offers agents (skills, and plain
``@guard.tool`` functions) to the server as an MCP tool with the function's own
schema. A call runs through the guard's pipeline as the caller (the verified bearer
token's user; over stdio ``default_principal``). ``tools/list`` shows each caller
only what the policy lets them call, schemas narrowed. A skill's steps
(``expose="skill"``) are never listed, and a call to one by name is refused by the
guard, with a refusal record, like any call from outside a skill.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from guardrail import ConfigurationError, Guard, PermissionDenied, Principal
from guardrail.adapters import NamedArgBinder, ToolSpec
from guardrail_mcp._common import denial_result
from guardrail_mcp._server import caller

Context = ServerRequestContext[Any, Any]


def serve(
    server: MCPServer[Any],
    guard: Guard,
    *,
    tools: Iterable[str] | None = None,
    default_principal: Principal | None = None,
) -> MCPServer[Any]:
    """Offer ``guard``'s agent-facing tools and skills (or only ``tools``) on ``server``.

    Pair it with ``token_verifier(guard, resource=URL)`` for HTTP, as with
    :func:`protect`; do not also ``protect()`` the same server (these tools are
    already guarded). A refused call returns ``is_error=True`` with the reason and
    never runs the tool. Returns ``server``.
    """
    names = list(tools) if tools is not None else _agent_tools(guard)
    for name in names:
        spec = guard.tools.get(name)
        if spec is None or spec.expose != "agent":
            raise ConfigurationError(f"{name!r} is not a tool the guard offers agents")
        server.add_tool(
            _served(guard, spec, default_principal), name=spec.name, description=spec.description
        )
    server.middleware.append(SkillListing(guard, frozenset(names), default_principal))
    return server


def _agent_tools(guard: Guard) -> list[str]:
    # Tools registered from framework objects (MCP, LangChain: bound by a NamedArgBinder)
    # are that framework's own; only the guard's functions and skills are served.
    return [
        name
        for name, spec in guard.tools.items()
        if spec.expose == "agent" and not isinstance(spec.binder, NamedArgBinder)
    ]


def _served(guard: Guard, spec: ToolSpec, default: Principal | None) -> Callable[..., Any]:
    """The MCP tool function: the guarded call as the caller; a refusal as an error result."""
    if spec.is_async:

        async def run_async(**arguments: Any) -> Any:
            who = caller(guard, default)
            return await guard.arun(spec.name, arguments, principal=who, denied=denial_result)

        return functools.update_wrapper(run_async, spec.fn)

    def run(**arguments: Any) -> Any:  # the SDK runs it on a worker thread
        # A refusal of this call is the model's to read; one of a step inside the skill
        # propagates (the skill failed) and the SDK reports it as an error result.
        return guard.run(
            spec.name, arguments, principal=caller(guard, default), denied=denial_result
        )

    # Keeps the tool's name and docstring, and its signature for the SDK's input schema.
    return functools.update_wrapper(run, spec.fn)


class SkillListing:
    """Middleware: ``tools/list`` per caller; calls to skill steps refused by the guard."""

    def __init__(self, guard: Guard, served: frozenset[str], default: Principal | None) -> None:
        self.guard, self.served, self.default = guard, served, default

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            params = ctx.params or {}
            name, arguments = params.get("name"), params.get("arguments") or {}
            spec = self.guard.tools.get(name) if isinstance(name, str) else None
            if spec is not None and spec.expose == "skill" and isinstance(arguments, dict):
                return await self._refuse_step(ctx, spec, arguments)
        if ctx.method == "tools/list":
            return self._filter(await call_next(ctx))
        return await call_next(ctx)

    async def _refuse_step(
        self, ctx: Context, spec: ToolSpec, arguments: dict[str, Any]
    ) -> HandlerResult:
        # A step called from outside its skill is refused and recorded; it never runs.
        # (A malformed call to a step is left to the SDK: not served here, it is unknown.)
        who = caller(self.guard, self.default)
        refusal = PermissionDenied(
            f"{spec.name!r} can only be called from inside a skill", tool=spec.name, principal=who
        )
        await self.guard.arefuse(spec.name, refusal, arguments, principal=who)
        wire = denial_result(refusal).model_dump(by_alias=True, mode="json", exclude_none=True)
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            wire.pop("resultType", None)
        return wire

    def _filter(self, result: HandlerResult) -> HandlerResult:
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return result
        who = caller(self.guard, self.default)
        shown = []
        for tool in result["tools"]:
            name = tool.get("name") if isinstance(tool, dict) else None
            if name not in self.served:
                shown.append(tool)  # the server's own tool: not this guard's to list
                continue
            schema = tool.get("inputSchema")
            schema = schema if isinstance(schema, dict) else {}
            narrowed = self.guard.narrowed_schema(name, schema, who)
            if narrowed is not None:
                shown.append({**tool, "inputSchema": narrowed})
        return {**result, "tools": shown}
