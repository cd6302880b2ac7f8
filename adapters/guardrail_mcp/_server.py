"""Server side: every ``tools/call`` of an ``MCPServer`` runs the guard's pipeline.

Interception point: the SDK's server middleware (``MCPServer.middleware``), not an
``Extension``. Middleware can be added to a server that already exists (extensions
are fixed at construction), and it sees ``tools/list`` as well as ``tools/call``,
so one object filters the listing per caller and checks each call with the same
compiled policy. It must be the innermost middleware (``protect()`` last), so it
checks exactly what the handler will receive; a later one makes calls fail closed.
The principal is the one the SDK's bearer middleware verified
(``get_access_token()``); over stdio, where there is none, ``default_principal``.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import SecretStr

from guardrail import ApprovalRequired, Guard, GuardrailDenied, GuardrailError, Principal
from guardrail.adapters import GuardedWrapper, OnDenied, ToolSpec
from guardrail_mcp._auth import GuardedAccessToken
from guardrail_mcp._common import (
    CostSpec,
    RemoteToolError,
    cost_for,
    denial_result,
    ensure_registered,
)
from guardrail_mcp._elicit import can_elicit, confirmed
from guardrail_mcp._pins import PINNED_FIELDS, qualify, tool_digest

Context = ServerRequestContext[Any, Any]
log = logging.getLogger(__name__)


class GuardMiddleware(GuardedWrapper[MCPServer[Any]]):
    """``MCPServer`` middleware: filters ``tools/list`` and guards ``tools/call``.

    A refusal is always answered as a result (``is_error``), never raised: the
    client's model reads it and the server goes on.
    """

    on_denied: OnDenied = "result"

    def __init__(
        self,
        server: MCPServer[Any],
        guard: Guard,
        *,
        prefix: str | None = None,
        default_principal: Principal | None = None,
        cost: CostSpec = None,
        elicit: bool = True,
    ) -> None:
        self.wrapped = self.server = server
        self.elicit = elicit
        self.guard = guard
        self.prefix = prefix
        self.default_principal = default_principal
        self.cost = cost
        self._specs: dict[str, ToolSpec] = {}

    async def __call__(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call":
            return await self._call(ctx, call_next)
        if ctx.method == "tools/list":
            who = self.principal()
            with self._acting_as(who):
                return self._filter(await call_next(ctx), who)
        return await call_next(ctx)

    def name(self, tool: str) -> str:
        return qualify(self.prefix, tool) if self.prefix else tool

    def principal(self) -> Principal | None:
        """Who is calling: the verified token's principal, else ``default_principal``."""
        return caller(self.guard, self.default_principal)

    async def _call(self, ctx: Context, call_next: CallNext) -> HandlerResult:
        if self.server.middleware[-1] is not self:
            # Middleware inside this one could rewrite the call after it was checked.
            log.error("middleware added after guardrail_mcp.protect(): tools/call refused")
            raise MCPError(
                code=INTERNAL_ERROR,
                message="server misconfigured: guardrail_mcp.protect() must be the last middleware",
            )
        params = ctx.params or {}
        tool, arguments = params.get("name"), params.get("arguments") or {}
        if not isinstance(tool, str) or not isinstance(arguments, dict):
            return await call_next(ctx)  # malformed: the SDK rejects it, nothing runs
        spec = self._specs.get(tool) or await self._sync(tool)
        if spec is None:
            return await call_next(ctx)  # unknown tool: the SDK answers, nothing runs
        who = self.principal()

        async def run(_: dict[str, Any]) -> HandlerResult:
            result = await call_next(ctx)
            if isinstance(result, dict) and result.get("isError"):
                raise RemoteToolError(result)
            return result

        elicit = self.elicit and can_elicit(ctx)
        try:
            with self._acting_as(who):
                result: HandlerResult = await self.guard.arun(
                    spec.name,
                    arguments,
                    principal=who,
                    invoke=run,
                    denied=lambda refusal: self._refused(refusal, ctx, elicit),
                )
                if isinstance(result, ApprovalRequired):  # asked the user: once more
                    result = await self.guard.arun(
                        spec.name,
                        arguments,
                        principal=who,
                        invoke=run,
                        denied=lambda refusal: self.wire_denial(refusal, ctx),
                    )
        except RemoteToolError as failed:
            return failed.result  # type: ignore[no-any-return]
        return result

    async def _refused(self, refusal: GuardrailDenied, ctx: Context, elicit: bool) -> Any:
        # A held call, for a client that can ask its user: ask them to have it approved.
        held = isinstance(refusal, ApprovalRequired) and refusal.request_id is not None
        if elicit and held and await confirmed(ctx, refusal):  # type: ignore[arg-type]
            return refusal
        return self.wire_denial(refusal, ctx)

    async def _sync(self, tool: str) -> ToolSpec | None:
        """Register the server's tools with the guard (tools may be added at any time)."""
        for info in await self.server.list_tools():
            name = self.name(info.name)
            self._specs[info.name] = ensure_registered(
                self.guard,
                name,
                info.description or "",
                cost_for(self.cost, name),
                info.input_schema if isinstance(info.input_schema, dict) else None,
                definition=tool_digest(info),  # approvals are bound to this definition
            )
        return self._specs.get(tool)

    def _filter(self, result: HandlerResult, who: Principal | None) -> HandlerResult:
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return result
        tools = [
            t for t in result["tools"] if isinstance(t, dict) and isinstance(t.get("name"), str)
        ]
        names = {self.name(t["name"]): t for t in tools}
        for name, tool in names.items():
            if tool["name"] not in self._specs:
                schema = tool.get("inputSchema")
                self._specs[tool["name"]] = ensure_registered(
                    self.guard,
                    name,
                    tool.get("description") or "",
                    cost_for(self.cost, name),
                    schema if isinstance(schema, dict) else None,
                    definition=tool_digest(
                        {k: v for k, v in tool.items() if k in PINNED_FIELDS and v is not None}
                    ),
                )
        shown = []
        for name, tool in names.items():
            schema = tool.get("inputSchema")
            # A tool without an object schema is narrowed as one taking any arguments.
            narrowed = self.guard.narrowed_schema(
                name, schema if isinstance(schema, dict) else {}, who
            )
            if narrowed is None:
                continue
            shown.append({**tool, "inputSchema": narrowed} if isinstance(schema, dict) else tool)
        return {**result, "tools": shown}

    def denial(self, refusal: GuardrailDenied) -> dict[str, Any]:
        return self.wire_denial(refusal, None)

    @staticmethod
    def wire_denial(refusal: GuardrailDenied, ctx: Context | None) -> dict[str, Any]:
        """The ``is_error`` result as the SDK would send it (a short-circuit skips its
        envelope, so what the client's protocol version needs is added here)."""
        wire = denial_result(refusal).model_dump(by_alias=True, mode="json", exclude_none=True)
        if ctx is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            wire.pop("resultType", None)
        return wire

    def _acting_as(self, who: Principal | None) -> AbstractContextManager[Any]:
        # Bound so the server's handlers can act as the caller (current_principal()).
        return self.guard.acting_as(who) if who is not None else nullcontext()


def caller(guard: Guard, default_principal: Principal | None = None) -> Principal | None:
    """Who is making the current MCP request: the principal of the bearer token the SDK
    verified, else ``default_principal`` (stdio and in-process, where there is no token)."""
    token = get_access_token()
    if token is None:
        return default_principal
    if isinstance(token, GuardedAccessToken):
        return token.principal
    if guard.authenticator is not None:  # another verifier: re-check with ours
        try:
            return guard.authenticate(token.token)
        except GuardrailError:
            return None
    return Principal(
        subject=token.subject or token.client_id,
        scopes=frozenset(token.scopes),
        token=SecretStr(token.token),
        expires_at=token.expires_at,
    )


def protect(
    server: MCPServer[Any],
    guard: Guard,
    *,
    prefix: str | None = None,
    default_principal: Principal | None = None,
    cost: CostSpec = None,
    elicit: bool = True,
) -> GuardMiddleware:
    """Put every ``tools/call`` of ``server`` through ``guard``; filter ``tools/list`` per caller.

    Pair it with ``MCPServer(token_verifier=token_verifier(guard, resource=URL),
    auth=AuthSettings(...))`` so HTTP callers are verified users (a bad token gets
    401 from the SDK). Over stdio there is no bearer token: pass the local user as
    ``default_principal`` (e.g. ``guard.authenticate(os.environ["TOKEN"])``).
    Tool names in the policy are the server's own names, or ``{prefix}/{name}``
    with ``prefix``. A refused call returns ``is_error=True``
    naming the rule; the tool body never runs. A call an ``approve`` rule holds,
    from a client that declared elicitation, asks the user to have it approved and
    to confirm (``elicit=False``: never); see :mod:`guardrail_mcp._elicit`.
    Returns the installed middleware.
    """
    middleware = GuardMiddleware(
        server, guard, prefix=prefix, default_principal=default_principal, cost=cost, elicit=elicit
    )
    server.middleware.append(middleware)
    return middleware
