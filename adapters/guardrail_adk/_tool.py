"""``GuardedTool``: an ADK tool whose every call goes through a guard.

``guard.wrap(tool)`` returns one; :class:`~guardrail_adk.GuardrailPlugin` uses the
same class for every tool of a runner. The model is shown the inner tool's
declaration; a call is checked by ``guard.arun`` (policy, budgets, audit) and
then runs the inner tool's own ``run_async`` with ADK's ``ToolContext``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from guardrail import AuthenticationError, Guard, GuardrailDenied, Principal
from guardrail.adapters import GuardedWrapper, NamedArgBinder, OnDenied
from guardrail_adk._denial import denial
from guardrail_adk._identity import UserDirectory, principal_of

AgentHooks = Callable[[BaseTool, dict[str, Any], ToolContext], Awaitable[Any]]
"""Callbacks that may answer an allowed call before the tool runs (the agent's own)."""


class ToolArgs(NamedArgBinder):
    """The model's arguments, named as the tool's declaration names them."""

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(kwargs)


class ADKToolRunner:
    """What the guard registers for an ADK tool: it runs only inside an ADK run."""

    def __init__(self, tool: BaseTool) -> None:
        self.tool = tool
        self.__name__ = tool.name
        self.__doc__ = tool.description

    def __call__(self, **kwargs: Any) -> Any:
        raise TypeError(f"the ADK tool {self.tool.name!r} runs inside an ADK run, not by name")


def register_tool(guard: Guard, tool: BaseTool) -> None:
    """Register ``tool`` under its name once; a newer ADK tool of that name replaces it.

    ``tool.custom_metadata["guardrail"]`` may set ``cost``, ``scopes`` and ``redact``.
    """
    known = guard.tools.get(tool.name)
    runner = known.fn if known is not None else None
    if isinstance(runner, ADKToolRunner) and same_tool(runner.tool, tool):
        return
    options: Mapping[str, Any] = (tool.custom_metadata or {}).get("guardrail") or {}
    declaration = tool._get_declaration()
    guard.register(
        ADKToolRunner(tool),
        name=tool.name,
        description=tool.description,
        cost=options.get("cost"),
        scopes=options.get("scopes", ()),
        redact=options.get("redact", ()),
        binder=ToolArgs(json_schema(declaration).get("properties", {})),
        replace=isinstance(runner, ADKToolRunner),
    )


def same_tool(known: BaseTool, tool: BaseTool) -> bool:
    """``tool`` is ``known``, or ADK's new ``FunctionTool`` for the same function.

    An agent given plain functions gets fresh ``FunctionTool`` objects every turn.
    """
    if known is tool:
        return True
    func = getattr(tool, "func", None)
    return (
        type(known) is type(tool)
        and known.name == tool.name
        and func is not None
        and getattr(known, "func", None) is func
    )


def json_schema(declaration: types.FunctionDeclaration | None) -> dict[str, Any]:
    """The declaration's parameters as a JSON schema (``{}`` when it takes none)."""
    if declaration is None:
        return {}
    if declaration.parameters_json_schema is not None:
        return dict(declaration.parameters_json_schema)
    if declaration.parameters is not None:
        shown: dict[str, Any] = declaration.parameters.json_schema.model_dump(
            mode="json", exclude_none=True
        )
        return shown
    return {}


class GuardedTool(GuardedWrapper[BaseTool], BaseTool):
    """``wrapped`` governed by ``guard``; a refusal is ADK's ``{"error": ...}`` response."""

    def __init__(
        self,
        wrapped: BaseTool,
        guard: Guard,
        *,
        on_denied: OnDenied = "result",
        users: UserDirectory | None = None,
    ) -> None:
        self.wrapped, self.guard, self.on_denied, self.users = wrapped, guard, on_denied, users
        BaseTool.__init__(
            self,
            name=wrapped.name,
            description=wrapped.description,
            is_long_running=wrapped.is_long_running,
            custom_metadata=wrapped.custom_metadata,
        )
        register_tool(guard, wrapped)

    def _get_declaration(self) -> types.FunctionDeclaration | None:
        # ADK's override point for what the model is shown: the inner tool's.
        return self.wrapped._get_declaration()

    async def check_require_confirmation(
        self, args: dict[str, Any], tool_context: ToolContext
    ) -> bool:
        return await self.wrapped.check_require_confirmation(args, tool_context)

    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        return await self.run_guarded_call(args, tool_context)

    async def run_guarded_call(
        self, args: dict[str, Any], tool_context: ToolContext, hooks: AgentHooks | None = None
    ) -> Any:
        """Check the call, then run ``hooks`` (they may answer it) and the inner tool."""
        call_id = tool_context.function_call_id
        try:
            principal: Principal | None = await principal_of(self.guard, tool_context, self.users)
        except AuthenticationError as exc:
            return await self.arefuse_guarded(self.name, exc, args, tool_call_id=call_id)

        async def invoke(bound: dict[str, Any]) -> Any:
            if hooks is not None:
                answer = await hooks(self.wrapped, bound, tool_context)
                if answer is not None:
                    return answer
            return await self.wrapped.run_async(args=bound, tool_context=tool_context)

        return await self.arun_guarded(
            self.name, args, principal=principal, tool_call_id=call_id, invoke=invoke
        )

    def denial(self, refusal: GuardrailDenied) -> dict[str, Any]:
        return denial(refusal)
