"""A guard's own tools and skills as LangChain tools (``from_guard(guard)``).

Each :class:`ServedTool` has the function's own schema; a call runs through the
guard's pipeline as the user in the run config (``guardrail_principal`` or
``guardrail_token``) or the one bound with ``guard.acting_as``. A skill's steps
(``expose="skill"``) are never turned into tools: the agent gets the playbook, not
the raw API. A refusal comes back as an error ``ToolMessage`` the model can act on.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from langchain_core.tools.base import create_schema_from_function
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from guardrail import AuthenticationError, ConfigurationError, Guard, GuardrailDenied, Principal
from guardrail.adapters import NamedArgBinder, OnDenied
from guardrail_langchain._denial import denial_text
from guardrail_langchain._identity import principal_from_config

# The model's tool call id, from run()/arun() (where LangChain has it) to _run()/_arun().
_tool_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "guardrail_served_tool_call_id", default=None
)


class ServedTool(BaseTool):
    """A tool or skill registered with ``guard``, offered to a LangChain agent."""

    guard: Guard = Field(exclude=True)
    on_denied: OnDenied = "result"
    narrowed_schema: dict[str, Any] | None = None
    """The JSON schema as one principal is shown it (from :meth:`narrowed_for`)."""
    handle_tool_error: bool = True

    @classmethod
    def of(cls, guard: Guard, name: str, *, on_denied: OnDenied = "result") -> ServedTool:
        spec = guard.tools.get(name)
        if spec is None or spec.expose != "agent":
            raise ConfigurationError(f"{name!r} is not a tool {guard!r} offers agents")
        schema = create_schema_from_function(name, spec.fn)
        return cls(
            name=name,
            description=spec.description,
            args_schema=schema,
            guard=guard,
            on_denied=on_denied,
        )

    @property
    def tool_call_schema(self) -> Any:
        if self.narrowed_schema is not None:
            return self.narrowed_schema
        return super().tool_call_schema

    def narrowed_for(self, principal: Principal | None) -> ServedTool | None:
        """This tool as ``principal`` sees it; ``None`` when they may not call it."""
        plain = self.model_copy(update={"narrowed_schema": None})
        base = convert_to_openai_tool(plain)["function"].get("parameters", {})
        narrowed = self.guard.narrowed_schema(self.name, base, principal)
        if narrowed is None:
            return None
        return plain if narrowed == base else self.model_copy(update={"narrowed_schema": narrowed})

    def run(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _tool_call_id.set(kwargs.get("tool_call_id"))
        try:
            return super().run(tool_input, *args, **kwargs)
        finally:
            _tool_call_id.reset(token)

    async def arun(self, tool_input: Any, *args: Any, **kwargs: Any) -> Any:
        token = _tool_call_id.set(kwargs.get("tool_call_id"))
        try:
            return await super().arun(tool_input, *args, **kwargs)
        finally:
            _tool_call_id.reset(token)

    def _run(self, config: RunnableConfig, **arguments: Any) -> Any:
        who, call_id = self._caller(config, arguments), _tool_call_id.get()
        return self.guard.run(
            self.name, arguments, principal=who, tool_call_id=call_id, denied=self._denied
        )

    async def _arun(self, config: RunnableConfig, **arguments: Any) -> Any:
        who, call_id = self._caller(config, arguments), _tool_call_id.get()
        return await self.guard.arun(
            self.name, arguments, principal=who, tool_call_id=call_id, denied=self._denied
        )

    def _caller(self, config: RunnableConfig, arguments: dict[str, Any]) -> Principal | None:
        try:
            return principal_from_config(self.guard, config)
        except AuthenticationError as exc:
            # A token that fails verification is a refusal, and on the record like one.
            exc.tool = exc.tool or self.name
            self.guard.refuse(self.name, exc, arguments, tool_call_id=_tool_call_id.get())
            self._denied(exc)
            raise

    def _denied(self, refusal: GuardrailDenied) -> Any:
        """This call's refusal: an error ToolMessage (via ``handle_tool_error``) or raised."""
        if self.on_denied == "raise":
            raise refusal
        raise ToolException(denial_text(refusal)) from refusal


def from_guard(
    guard: Guard, tools: Iterable[str] | None = None, *, on_denied: OnDenied = "result"
) -> list[ServedTool]:
    """``guard``'s agent-facing tools and skills (or only ``tools``) as LangChain tools.

    Filter them per user with ``guard.visible(tools, principal)``. Steps of skills
    (``expose="skill"``) are left out, and are refused if reached another way.
    """
    names = tools if tools is not None else _agent_tools(guard)
    return [ServedTool.of(guard, name, on_denied=on_denied) for name in names]


def _agent_tools(guard: Guard) -> list[str]:
    # Tools registered from framework objects (LangChain, MCP: bound by a NamedArgBinder)
    # are that framework's own; only the guard's functions and skills are served.
    return [
        name
        for name, spec in guard.tools.items()
        if spec.expose == "agent" and not isinstance(spec.binder, NamedArgBinder)
    ]
