"""Client side: a session-like wrapper over an MCP ``ClientSession`` or ``mcp.Client``.

``list_tools()`` shows only what the current principal may call (schemas
narrowed); ``call_tool()`` runs the remote call through the guard's pipeline
under the server-qualified name (``crm/lookup_customer``), so policies, budgets
and audit apply as to a local function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
from mcp import Client, ClientSession
from mcp_types import CallToolResult, ListToolsResult, PaginatedRequestParams, Tool

from guardrail import (
    ConfigurationError,
    DelegationRefused,
    Guard,
    GuardrailDenied,
    PermissionDenied,
    Principal,
    current_principal,
)
from guardrail.adapters import GuardedWrapper, OnDenied, ToolSpec
from guardrail_mcp._common import (
    CostSpec,
    RemoteToolError,
    cost_for,
    denial_result,
    ensure_registered,
)
from guardrail_mcp._listing import ListedTool, not_listed, store_for
from guardrail_mcp._pins import (
    PinStore,
    qualify,
    tool_definition,
    tool_digest,
)
from guardrail_mcp._remote import calling, fetch_tools

PIN_RULE = "guardrail_mcp.pin"
"""The rule id audit records carry when a call is refused for an unpinned tool."""


class GuardedSession(GuardedWrapper[ClientSession | Client]):
    """An MCP session whose tools go through a :class:`~guardrail.Guard`.

    Everything but ``list_tools`` / ``call_tool`` is delegated to the wrapped
    session. ``server`` names the server in policies (``crm`` in ``crm/*``);
    by default it is the name the server gave in its initialize result.
    ``trusted=False`` (the default) means the server's tool annotations
    (``read_only_hint``, ...) are informational only: guardrail never lets them
    decide anything, and :meth:`annotations` returns ``None`` for them.
    """

    def __init__(
        self,
        session: ClientSession | Client,
        guard: Guard,
        *,
        server: str | None = None,
        pins: PinStore | str | None = None,
        trusted: bool = False,
        cost: CostSpec = None,
        principal: Principal | None = None,
        on_denied: OnDenied = "result",
    ) -> None:
        if server is not None and ("/" in server or not server):
            raise ConfigurationError(f"bad MCP server name {server!r} (no '/', not empty)")
        self.wrapped = session
        self.guard = guard
        self.pins = store_for(guard, pins)
        self.trusted = trusted
        self.on_denied = on_denied
        self._server = server
        self._cost = cost
        self._principal = principal
        self._listed: dict[str, ListedTool] | None = None
        self._reported: set[tuple[str, str]] = set()
        self._first_listing = anyio.Lock()

    @property
    def session(self) -> ClientSession | Client:
        """The wrapped session (anything not governed here is delegated to it)."""
        return self.wrapped

    @property
    def server(self) -> str:
        """The server's name in policies and audit records."""
        if self._server is None:
            info = self.session.server_info
            if info is None or not info.name:
                raise ConfigurationError(
                    "the MCP server did not give a name: wrap_session(session, guard, server=...)"
                )
            self._server = info.name.replace("/", "_")
        return self._server

    # -- listing --------------------------------------------------------------------

    async def list_tools(
        self,
        *,
        params: PaginatedRequestParams | None = None,
        cursor: str | None = None,
        **_: Any,
    ) -> ListToolsResult:
        """The tools the current principal may call, schemas narrowed, in one page.

        Takes ``params=`` (``ClientSession``) or ``cursor=`` (``mcp.Client``); any
        cursor gets an empty page, since the first page holds every tool.
        """
        if cursor is not None or (params is not None and params.cursor is not None):
            return ListToolsResult(tools=[])
        await self.refresh()
        return ListToolsResult(tools=self.visible_tools())

    async def refresh(self) -> dict[str, ListedTool]:
        """List every tool the server has now and check each against its pin."""
        tools = await fetch_tools(self.session)
        server = self.server
        first_sight = not self.pins.knows(server)
        listed: dict[str, ListedTool] = {}
        for tool in tools:
            listed[tool.name] = self._check(qualify(server, tool.name), tool, first_sight)
        self.pins.mark_seen(server)
        self._listed = listed
        return listed

    def listed(self) -> dict[str, ListedTool]:
        """The last listing by tool name (empty before the first)."""
        return dict(self._listed or {})

    def visible_tools(self, principal: Principal | None = None) -> list[Tool]:
        """Of the last listing, what ``principal`` (default: current) may call."""
        who = self._who(principal)
        shown = []
        for item in (self._listed or {}).values():
            if item.status != "pinned":
                continue
            schema = self.guard.narrowed_schema(item.name, item.tool.input_schema, who)
            if schema is not None:
                shown.append(item.tool.model_copy(update={"input_schema": schema}))
        return shown

    def annotations(self, tool: str) -> Any:
        """The server's annotations for ``tool`` when the server is trusted, else ``None``."""
        item = (self._listed or {}).get(tool)
        return item.tool.annotations if item is not None and self.trusted else None

    def repin(self, names: Sequence[str] | None = None) -> list[str]:
        """Accept the current definitions of changed or new tools (or of ``names``)."""
        accepted = []
        for item in (self._listed or {}).values():
            wanted = item.status != "pinned" if names is None else item.tool.name in names
            if not wanted:
                continue
            self.pins.pin(item.name, tool_definition(item.tool))
            self.guard.notice(
                item.name,
                "allowed",
                f"MCP tool {item.name!r} re-pinned",
                server=self.server,
                old_sha256=item.pinned,
                new_sha256=item.sha256,
            )
            accepted.append(item.tool.name)
        if accepted:
            self._listed = {
                name: item.repinned() if name in accepted else item
                for name, item in (self._listed or {}).items()
            }
            for name in accepted:
                self._register(self._listed[name])
        return accepted

    # -- calling --------------------------------------------------------------------

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        read_timeout_seconds: float | None = None,
        progress_callback: Any = None,
        *,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> CallToolResult:
        """Call ``name`` through the pipeline; a refusal is an ``is_error`` result.

        ``tool_call_id`` (the model's id for this call) goes into the audit record;
        other keyword arguments (``meta``, ...) are passed to the session.
        """
        who = self._who(None)
        if self._listed is None:
            async with self._first_listing:  # one listing for many concurrent first calls
                if self._listed is None:
                    await self.refresh()
        qualified = qualify(self.server, name)
        item = (self._listed or {}).get(name)
        if item is None or item.status != "pinned":
            reason = not_listed(self.server, name) if item is None else item.why_refused()
            refusal = PermissionDenied(reason, tool=qualified, principal=who, rule=PIN_RULE)
            return await self.arefuse_guarded(  # type: ignore[no-any-return]
                qualified, refusal, arguments, principal=who, tool_call_id=tool_call_id
            )

        remote = calling(
            self.session, name, qualified, read_timeout_seconds, progress_callback, kwargs
        )
        try:
            return await self.arun_guarded(  # type: ignore[no-any-return]
                qualified, arguments, principal=who, tool_call_id=tool_call_id, invoke=remote
            )
        except RemoteToolError as failed:
            return failed.result  # type: ignore[no-any-return]
        except DelegationRefused as refused:  # raised while sending: recorded as the outcome
            return self.denied(refused)  # type: ignore[no-any-return]

    def denial(self, refusal: GuardrailDenied) -> CallToolResult:
        """An ``is_error`` result naming the reason (what the model reads)."""
        return denial_result(refusal)

    # -- internals ------------------------------------------------------------------

    def _who(self, principal: Principal | None) -> Principal | None:
        if principal is not None:
            return principal
        return self._principal if self._principal is not None else current_principal()

    def _check(self, name: str, tool: Tool, first_sight: bool) -> ListedTool:
        digest = tool_digest(tool)
        if first_sight and self.pins.get(name) is None and self.pins.tofu:
            self.pins.pin(name, tool_definition(tool))
        pin = self.pins.get(name)
        status = self.pins.status(name, digest, first_sight=first_sight)
        item = ListedTool(tool, name, digest, pin.sha256 if pin else None, status)
        if status == "pinned":
            self._register(item)
        elif (name, digest) not in self._reported:
            self._reported.add((name, digest))
            item.notice_unpinned(self.guard, self.server, pin.definition if pin else None)
        return item

    def _register(self, item: ListedTool) -> ToolSpec:
        schema = item.tool.input_schema
        return ensure_registered(
            self.guard,
            item.name,
            item.tool.description or "",
            cost_for(self._cost, item.name),
            schema if isinstance(schema, dict) else None,
            definition=item.sha256,  # the pin: approvals are bound to this definition
        )


def wrap_session(
    session: ClientSession | Client,
    guard: Guard,
    *,
    server: str | None = None,
    pins: PinStore | str | None = None,
    trusted: bool = False,
    cost: CostSpec = None,
    principal: Principal | None = None,
    on_denied: OnDenied = "result",
) -> GuardedSession:
    """Govern an MCP client session (or ``mcp.Client``) with ``guard``.

    Tools are named ``{server}/{tool}`` in policies and audit records; prefer an
    explicit ``server`` (the default is the name the server gives itself). ``pins``
    is a :class:`PinStore`, a pin-file path, or ``None``: the guard's in-memory
    store, shared by all its sessions, which trusts a server's first listing.
    ``cost`` is the cost of every tool, a mapping by qualified name, or a function.
    ``on_denied="raise"`` raises ``PermissionDenied``/``BudgetExceeded`` instead of
    returning an ``is_error`` result.
    """
    return GuardedSession(
        session,
        guard,
        server=server,
        pins=pins,
        trusted=trusted,
        cost=cost,
        principal=principal,
        on_denied=on_denied,
    )
