"""``GuardedMCPServer``: an OpenAI Agents MCP server whose tools are governed per user.

The SDK lists an agent's MCP tools on every run with the run context, so the
list is filtered and each schema narrowed for the user that context names. A
call reaches :meth:`GuardedMCPServer.call_tool` without the run context: the
SDK asks the server's ``tool_meta_resolver`` first (with it), so the resolver
hands the context to the call in ``meta`` (taken out again before the request
is sent). Policies name these tools ``<server>/<tool>``, as for
``guardrail_mcp`` sessions.
"""

from __future__ import annotations

import inspect
from typing import Any

from agents import RunContextWrapper
from agents.mcp import MCPServer
from agents.mcp.util import MCPToolMetaContext
from mcp_types import CallToolResult, GetPromptResult, ListPromptsResult, TextContent
from mcp_types import Tool as MCPTool

from guardrail import AuthenticationError, Guard, GuardrailDenied, Principal
from guardrail.adapters import GuardedWrapper, OnDenied, denial_text, principal_from_context
from guardrail_openai_agents._tool import register_tool

_CONTEXT_KEY = "guardrail.run_context"


class _Carried:
    """The run context on its way from the meta resolver to ``call_tool``.

    The SDK deep-copies ``meta``; the application's context object must arrive as
    itself (it may hold clients and locks), so copying this yields the same object.
    """

    def __init__(self, context: Any, tool_call_id: str | None) -> None:
        self.context = context
        self.tool_call_id = tool_call_id

    def __deepcopy__(self, memo: dict[int, Any]) -> _Carried:
        return self


class ToolRefused(Exception):
    """The server answered ``is_error``: recorded as the call's failed outcome."""

    def __init__(self, result: CallToolResult) -> None:
        super().__init__("the MCP tool returned an error result")
        self.result = result


class GuardedMCPServer(GuardedWrapper[MCPServer], MCPServer):
    """``wrapped``, an OpenAI Agents MCP server, governed by ``guard`` (for ``mcp_servers``)."""

    def __init__(
        self,
        wrapped: MCPServer,
        guard: Guard,
        *,
        server: str | None = None,
        on_denied: OnDenied = "result",
    ) -> None:
        # MCPServer.__init__ is not called: its settings are read from ``wrapped``.
        self.wrapped, self.guard, self.on_denied = wrapped, guard, on_denied
        self.server = server or wrapped.name
        self.tool_meta_resolver = self._resolve_meta

    @property
    def name(self) -> str:
        return self.wrapped.name

    def policy_name(self, tool: str) -> str:
        """The name policies and audit records use: ``crm/lookup``."""
        return f"{self.server}/{tool}"

    # -- listing ----------------------------------------------------------------------

    async def list_tools(
        self, run_context: RunContextWrapper[Any] | None = None, agent: Any = None
    ) -> list[MCPTool]:
        tools = await self.wrapped.list_tools(run_context, agent)
        try:
            who = principal_from_context(self.guard, _context_of(run_context))
        except AuthenticationError:
            return []  # no verified user: nothing to show; a call anyway is refused
        return self.visible_to(tools, who)

    def visible_to(self, tools: list[MCPTool], who: Principal | None) -> list[MCPTool]:
        """``tools`` as ``who`` is shown them: hidden ones left out, schemas narrowed."""
        shown = []
        for tool in tools:
            name = self.policy_name(tool.name)
            register_tool(self.guard, name, tool.description or "", tool.input_schema)
            narrowed = self.guard.narrowed_schema(name, tool.input_schema, who, flat=True)
            if narrowed is None:
                continue
            same = narrowed == tool.input_schema
            shown.append(tool if same else tool.model_copy(update={"input_schema": narrowed}))
        return shown

    # -- calling ----------------------------------------------------------------------

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None
    ) -> CallToolResult:
        meta = dict(meta or {})
        carried = meta.pop(_CONTEXT_KEY, None)
        if not isinstance(carried, _Carried):
            carried = _Carried(None, None)  # called directly: as guard.acting_as(...)
        name = self.policy_name(tool_name)
        try:
            who = principal_from_context(self.guard, carried.context)
        except AuthenticationError as exc:
            return await self.arefuse_guarded(  # type: ignore[no-any-return]
                name, exc, arguments, tool_call_id=carried.tool_call_id
            )
        if name not in self.guard.tools:  # never listed: list once so it is known
            await self.list_tools()

        async def send(args: dict[str, Any]) -> CallToolResult:
            result = await self.wrapped.call_tool(tool_name, args, meta or None)
            if result.is_error:
                raise ToolRefused(result)
            return result

        try:
            return await self.arun_guarded(  # type: ignore[no-any-return]
                name, arguments, principal=who, tool_call_id=carried.tool_call_id, invoke=send
            )
        except ToolRefused as failed:
            return failed.result

    async def _resolve_meta(self, context: MCPToolMetaContext) -> dict[str, Any] | None:
        resolver = self.wrapped.tool_meta_resolver
        meta = resolver(context) if resolver is not None else None
        if inspect.isawaitable(meta):
            meta = await meta
        run = context.run_context  # the call's ToolContext: it has the model's call id
        carried = _Carried(run.context, getattr(run, "tool_call_id", None))
        return {**(meta or {}), _CONTEXT_KEY: carried}

    def denial(self, refusal: GuardrailDenied) -> CallToolResult:
        """An ``is_error`` result naming the reason: the SDK gives it to the model."""
        return CallToolResult(
            content=[TextContent(type="text", text=denial_text(refusal))], is_error=True
        )

    # -- the rest is the wrapped server's ---------------------------------------------

    async def connect(self) -> None:
        await self.wrapped.connect()  # type: ignore[no-untyped-call]

    async def cleanup(self) -> None:
        await self.wrapped.cleanup()  # type: ignore[no-untyped-call]

    async def list_prompts(self) -> ListPromptsResult:
        return await self.wrapped.list_prompts()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None
    ) -> GetPromptResult:
        return await self.wrapped.get_prompt(name, arguments)

    def _get_failure_error_function(self, agent_default: Any) -> Any:
        return self.wrapped._get_failure_error_function(agent_default)

    def _get_needs_approval_for_tool(self, tool: MCPTool, agent: Any) -> Any:
        return self.wrapped._get_needs_approval_for_tool(tool, agent)


def _context_of(run_context: RunContextWrapper[Any] | None) -> Any:
    return run_context.context if run_context is not None else None
