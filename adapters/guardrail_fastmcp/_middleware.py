"""Server middleware: a FastMCP server's ``tools/list`` per user, every ``tools/call`` governed.

The behaviour of ``guardrail_mcp.protect()`` on FastMCP's own middleware chain:
each caller is the user of the bearer token FastMCP verified (over stdio or in
memory, where there is none: ``default_principal``, else ``guard.acting_as``);
``tools/list`` shows what that user may call with narrowed schemas; a refused
call is an ``is_error`` result naming the rule, the tool body never runs, and
every call is audited as a local tool's is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import mcp_types as mt
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.dependencies import get_access_token
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools.base import Tool, ToolResult

from guardrail import (
    ApprovalRequired,
    ArgumentError,
    Guard,
    GuardrailDenied,
    GuardrailError,
    PermissionDenied,
    Principal,
)
from guardrail.adapters import NamedArgBinder, stand_in, stands_in
from guardrail_fastmcp._auth import GuardedAccessToken
from guardrail_fastmcp._elicit import answer, ask

log = logging.getLogger(__name__)
_OWNER = "guardrail_fastmcp"


class JSONArgs(NamedArgBinder):
    """A tool's arguments: one JSON object, checked as the server will receive it."""

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if args:
            raise ArgumentError("MCP tools take keyword arguments (a JSON object) only")
        return dict(kwargs)


class ToolFailed(Exception):
    """The tool ran and answered ``is_error``: recorded as the call's error outcome."""

    def __init__(self, result: ToolResult) -> None:
        super().__init__("the tool returned an error result")
        self.result = result


class GuardrailMiddleware(Middleware):
    """FastMCP middleware that puts ``server``'s tools behind ``guard``. Install with
    :func:`protect`; it must stay the last (innermost) middleware."""

    def __init__(
        self,
        server: FastMCP[Any],
        guard: Guard,
        *,
        prefix: str | None = None,
        default_principal: Principal | None = None,
        elicit: bool = True,
    ) -> None:
        self.server = server
        self.elicit = elicit
        self.guard = guard
        self.prefix = prefix
        self.default_principal = default_principal

    def policy_name(self, tool: str) -> str:
        return f"{self.prefix}/{tool}" if self.prefix else tool

    async def principal(self) -> Principal | None:
        """The verified token's user; else ``default_principal``; else the guard context."""
        token = get_access_token()
        if token is None:
            return self.default_principal
        if isinstance(token, GuardedAccessToken):
            return token.principal
        if self.guard.authenticator is None:
            return None  # another verifier's token, nothing to check it with: fail closed
        try:  # another verifier accepted it: hold it to ours as well
            return await asyncio.to_thread(self.guard.authenticate, token.token)
        except GuardrailError:
            return None

    async def on_list_tools(
        self,
        context: MiddlewareContext[mt.ListToolsRequest],
        call_next: CallNext[mt.ListToolsRequest, Sequence[Tool]],
    ) -> Sequence[Tool]:
        who = await self.principal()
        shown = []
        for tool in await call_next(context):
            name = self.policy_name(tool.name)
            self._register(name, tool.description or "", tool.parameters)
            narrowed = self.guard.narrowed_schema(name, tool.parameters, who)
            if narrowed is not None:
                shown.append(tool.model_copy(update={"parameters": narrowed}))
        return shown

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        if self.server.middleware[-1] is not self:
            log.error("middleware added after guardrail_fastmcp.protect(): tools/call refused")
            raise ToolError("server misconfigured: guardrail must be the last middleware")
        tool = await self.server.get_tool(context.message.name)
        if tool is None:
            return await call_next(context)  # unknown: FastMCP answers, nothing runs
        name = self.policy_name(tool.name)
        self._register(name, tool.description or "", tool.parameters)
        who = await self.principal()

        async def invoke(_: dict[str, Any]) -> ToolResult:
            result = await call_next(context)
            if result.is_error:
                raise ToolFailed(result)
            return result

        arguments = dict(context.message.arguments or {})
        asked = self.elicit and answer(context.fastmcp_context)
        if asked and asked != "accept":  # the user declined to have it approved
            refusal = PermissionDenied(
                f"the user declined to wait for the approval of {name!r}", tool=name, principal=who
            )
            return denial(await self.guard.arefuse(name, refusal, arguments, principal=who))
        can_ask = self.elicit and not asked

        def refused(refusal: GuardrailDenied) -> ToolResult:
            found = ask(refusal, context.fastmcp_context) if can_ask else None
            return found if found is not None else denial(refusal)

        try:
            with self._acting_as(who):
                done: ToolResult = await self.guard.arun(
                    name, arguments, principal=who, invoke=invoke, denied=refused
                )
        except ToolFailed as failed:
            return failed.result
        return done

    def _register(self, name: str, description: str, schema: Mapping[str, Any]) -> None:
        known = self.guard.tools.get(name)
        ours = known is not None and stands_in(known.fn, _OWNER)
        if ours and known is not None and known.description == description:
            return
        properties = schema.get("properties")
        self.guard.register(
            _placeholder(name),
            name=name,
            description=description,
            binder=JSONArgs(properties if isinstance(properties, Mapping) else ()),
            replace=ours,
        )

    def _acting_as(self, who: Principal | None) -> AbstractContextManager[Any]:
        # Bound so tool bodies can act as the caller (current_principal()).
        return self.guard.acting_as(who) if who is not None else nullcontext()


def denial(refusal: GuardrailDenied) -> ToolResult:
    """What the client's model reads: ``is_error`` with the reason and the rule."""
    return ToolResult(
        content=[mt.TextContent(type="text", text=refusal.reason)],
        is_error=True,
        meta={
            "guardrail": {
                "decision": refusal.decision_kind,
                "rule": refusal.rule,
                "tool": refusal.tool,
                **_request(refusal),
            }
        },
    )


def _request(refusal: GuardrailDenied) -> dict[str, Any]:
    # As guardrail_mcp's: the request a held call waits for, for the client to show.
    if isinstance(refusal, ApprovalRequired) and refusal.request_id is not None:
        return {"approval_request": refusal.request_id}
    return {}


def _placeholder(name: str) -> Callable[..., Any]:
    return stand_in(name, _OWNER, f"{name!r} is a FastMCP tool: it runs only through its server")


def protect(
    server: FastMCP[Any],
    guard: Guard,
    *,
    prefix: str | None = None,
    default_principal: Principal | None = None,
    elicit: bool = True,
) -> GuardrailMiddleware:
    """Put every ``tools/call`` of ``server`` through ``guard``; filter ``tools/list`` per user.

    Pair with ``FastMCP(auth=GuardrailVerifier(guard, base_url=URL))`` (or
    :func:`install_auth`) so HTTP callers are verified users. A call an ``approve``
    rule holds, from a client that can be asked, is an elicitation naming the request
    (``elicit=False``: never; see :mod:`guardrail_fastmcp._elicit`). Returns the middleware.
    """
    middleware = GuardrailMiddleware(
        server, guard, prefix=prefix, default_principal=default_principal, elicit=elicit
    )
    server.add_middleware(middleware)
    return middleware
