"""``GuardrailMiddleware``: a LangChain v1 agent (``create_agent``) governed as a whole.

``wrap_tool_call`` puts every tool call of the agent through the guard, whether
the tool was wrapped with ``guard.wrap`` or not (a tool this guard already wraps
is unwrapped first, so each call is checked and recorded once). A call of a tool
the agent does not have is refused and recorded too, instead of LangGraph's
unaudited "not a valid tool". ``wrap_model_call`` shows the model only the tools
the user may call, with narrowed schemas; a call to a hidden tool still arrives
at ``wrap_tool_call`` and is refused there.

Identity, in order: LangGraph's ``Runtime.context`` (``context=`` of
``agent.invoke``), ``config["configurable"]``, ``guard.acting_as``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from functools import partial
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from guardrail import (
    ApprovalRequired,
    AuthenticationError,
    Guard,
    GuardrailDenied,
    PermissionDenied,
    Principal,
)
from guardrail.adapters import OnDenied
from guardrail_langchain._adapter import visible
from guardrail_langchain._approval import apaused, paused
from guardrail_langchain._binder import register_tool
from guardrail_langchain._denial import denial_message
from guardrail_langchain._identity import claimed_identity
from guardrail_langchain._serve import ServedTool
from guardrail_langchain._tool import GuardedTool, HandledToolError

ToolResult = ToolMessage | Command[Any]
Identify = Callable[[Any], Principal | str | None]


class GuardrailMiddleware(AgentMiddleware[Any, Any, Any]):
    """``create_agent(model, tools, middleware=[GuardrailMiddleware(guard)])``.

    ``identify(context)`` reads the principal (or a bearer token) from your own
    ``context_schema`` object; by default the context may be a ``Principal``, or
    carry ``guardrail_principal`` / ``guardrail_token`` (key or attribute).
    ``on_denied="result"`` (default) answers a refusal with an error
    ``ToolMessage`` the model reads; ``"raise"`` raises the guardrail error.
    ``flat=True`` keeps ``anyOf``/``allOf`` off shown schema roots.
    ``approvals="interrupt"`` pauses the run (a LangGraph ``interrupt``; the agent
    needs a checkpointer) on a call an ``approve`` rule holds, instead of answering
    the model with the refusal; see :mod:`guardrail_langchain._approval`.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        identify: Identify | None = None,
        on_denied: OnDenied = "result",
        flat: bool = False,
        approvals: Literal["refuse", "interrupt"] = "refuse",
    ) -> None:
        super().__init__()
        self.guard = guard
        self.identify = identify
        self.on_denied: OnDenied = on_denied
        self.flat = flat
        self.approvals = approvals

    # -- who is calling -------------------------------------------------------------

    def _claim(self, context: Any, config: Mapping[str, Any] | None) -> Principal | str | None:
        if self.identify is not None:
            found = self.identify(context)
            if found is not None:
                return found
        return claimed_identity(context, config)

    def principal(self, context: Any, config: Mapping[str, Any] | None) -> Principal | None:
        """The run's principal (``None``: the guard context's); a bad token raises."""
        claim = self._claim(context, config)
        return self.guard.authenticate(claim) if isinstance(claim, str) else claim

    async def aprincipal(self, context: Any, config: Mapping[str, Any] | None) -> Principal | None:
        claim = self._claim(context, config)
        if not isinstance(claim, str):
            return claim
        native = getattr(self.guard.authenticator, "aauthenticate", None)
        if native is not None:
            principal: Principal = await native(claim)
            return principal
        # A key fetch must never block the event loop.
        return await asyncio.to_thread(self.guard.authenticate, claim)

    # -- what the model is shown ----------------------------------------------------

    def wrap_model_call(
        self, request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> Any:
        try:
            who = self.principal(request.runtime.context, _run_config())
        except AuthenticationError:
            return handler(request.override(tools=_ungoverned(request.tools)))
        return handler(request.override(tools=self.shown(request.tools, who)))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        try:
            who = await self.aprincipal(request.runtime.context, _run_config())
        except AuthenticationError:
            return await handler(request.override(tools=_ungoverned(request.tools)))
        return await handler(request.override(tools=self.shown(request.tools, who)))

    def shown(
        self, tools: list[BaseTool | dict[str, Any]], who: Principal | None
    ) -> list[BaseTool | dict[str, Any]]:
        """The tools ``who`` may call, schemas narrowed; provider tools (dicts) kept."""
        shown: list[BaseTool | dict[str, Any]] = []
        for tool in tools:
            if not isinstance(tool, BaseTool):
                shown.append(tool)  # a provider-side tool: it never runs here
                continue
            seen = visible(self.guard, tool, who, on_denied=self.on_denied, flat=self.flat)
            if seen is not None:
                shown.append(seen)
        return shown

    # -- running a call -------------------------------------------------------------

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]
    ) -> ToolResult:
        name, call_id, args = _call_parts(request)
        try:
            who = self.principal(request.runtime.context, request.runtime.config)
        except AuthenticationError as exc:
            return self._denied(self.guard.refuse(name, exc, args, tool_call_id=call_id), request)
        inner = self._inner(request)
        if inner is None:
            refusal = _not_a_tool(name, who)
            self.guard.refuse(name, refusal, args, principal=who, tool_call_id=call_id)
            return self._denied(refusal, request)
        if isinstance(inner, ServedTool):  # runs through this guard's pipeline itself
            with self.guard.acting_as(who) if who is not None else nullcontext():
                return handler(request.override(tool=inner))
        register_tool(self.guard, inner)
        if self._pauses(name, args, who):
            govern = partial(self._govern, handler=handler, who=who, held=True)
            return paused(request.override(tool=inner), govern)
        return _settled(self._govern(request.override(tool=inner), handler, who, held=False))

    def _govern(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], ToolResult],
        who: Principal | None,
        *,
        held: bool,
    ) -> ToolResult | ApprovalRequired:
        """The call through the guard; ``held``: a held call's refusal is returned as is."""
        name, call_id, args = _call_parts(request)
        try:
            result: ToolResult | ApprovalRequired = self.guard.run(
                name,
                args=(dict(args),),
                principal=who,
                tool_call_id=call_id,
                invoke=lambda _: _unhandled(handler(request)),
                denied=lambda refusal: self._refused(refusal, request, held),
            )
        except HandledToolError as handled:
            return handled.output  # type: ignore[no-any-return]
        return result

    async def awrap_tool_call(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
    ) -> ToolResult:
        name, call_id, args = _call_parts(request)
        try:
            who = await self.aprincipal(request.runtime.context, request.runtime.config)
        except AuthenticationError as exc:
            refusal = await self.guard.arefuse(name, exc, args, tool_call_id=call_id)
            return self._denied(refusal, request)
        inner = self._inner(request)
        if inner is None:
            refusal = _not_a_tool(name, who)
            await self.guard.arefuse(name, refusal, args, principal=who, tool_call_id=call_id)
            return self._denied(refusal, request)
        if isinstance(inner, ServedTool):
            with self.guard.acting_as(who) if who is not None else nullcontext():
                return await handler(request.override(tool=inner))
        register_tool(self.guard, inner)
        if self._pauses(name, args, who):
            agovern = partial(self._agovern, handler=handler, who=who, held=True)
            return await apaused(request.override(tool=inner), agovern)
        governed = await self._agovern(request.override(tool=inner), handler, who, held=False)
        return _settled(governed)

    async def _agovern(
        self,
        request: ToolCallRequest,
        handler: Callable[[ToolCallRequest], Awaitable[ToolResult]],
        who: Principal | None,
        *,
        held: bool,
    ) -> ToolResult | ApprovalRequired:
        name, call_id, args = _call_parts(request)

        async def invoke(_: dict[str, Any]) -> ToolResult:
            return _unhandled(await handler(request))

        try:
            result: ToolResult | ApprovalRequired = await self.guard.arun(
                name,
                args=(dict(args),),
                principal=who,
                tool_call_id=call_id,
                invoke=invoke,
                denied=lambda refusal: self._refused(refusal, request, held),
            )
        except HandledToolError as handled:
            return handled.output  # type: ignore[no-any-return]
        return result

    def _pauses(self, name: str, args: Mapping[str, Any], who: Principal | None) -> bool:
        """Whether an ``approve`` rule covers the call (decided only: nothing filed)."""
        return self.approvals == "interrupt" and self.guard.check(name, args, who).approval

    def _inner(self, request: ToolCallRequest) -> BaseTool | None:
        """The tool to run: a tool this guard wraps is unwrapped (checked once, here)."""
        tool = request.tool
        if isinstance(tool, GuardedTool) and tool.guard is self.guard:
            return tool.wrapped
        return tool

    def _refused(
        self, refusal: GuardrailDenied, request: ToolCallRequest, held: bool
    ) -> ToolMessage | ApprovalRequired:
        if held and isinstance(refusal, ApprovalRequired) and refusal.request_id is not None:
            return refusal
        return self._denied(refusal, request)

    def _denied(self, refusal: GuardrailDenied, request: ToolCallRequest) -> ToolMessage:
        if self.on_denied == "raise":
            raise refusal
        call = request.tool_call
        return denial_message(refusal, call.get("id") or "", call["name"])


def _call_parts(request: ToolCallRequest) -> tuple[str, str | None, dict[str, Any]]:
    call = request.tool_call
    args = call.get("args")
    return call["name"], call.get("id"), dict(args) if isinstance(args, Mapping) else {}


def _not_a_tool(name: str, who: Principal | None) -> PermissionDenied:
    return PermissionDenied(f"{name!r} is not a tool of this agent", tool=name, principal=who)


def _ungoverned(tools: list[BaseTool | dict[str, Any]]) -> list[BaseTool | dict[str, Any]]:
    # An unauthenticated run is shown no tool that runs here (fail closed).
    return [tool for tool in tools if not isinstance(tool, BaseTool)]


def _run_config() -> Mapping[str, Any] | None:
    try:
        config: Mapping[str, Any] = get_config()
    except RuntimeError:  # called outside a LangGraph run
        return None
    return config


def _settled(result: ToolResult | ApprovalRequired) -> ToolResult:
    # Only a pausing run gets a held call's refusal back; anything else raises it.
    if isinstance(result, ApprovalRequired):
        raise result
    return result


def _unhandled(output: ToolResult) -> ToolResult:
    # A tool error LangGraph turned into a message is recorded as an error, then returned.
    if isinstance(output, ToolMessage) and output.status == "error":
        raise HandledToolError(output)
    return output
