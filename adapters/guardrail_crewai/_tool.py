"""``GuardedTool``: a CrewAI tool whose every call goes through a guard.

CrewAI runs a tool through ``BaseTool.run`` / ``to_structured_tool().invoke``,
both of which end in ``_run``: the wrapper's ``_run`` checks the call with
``guard.run`` (policy, budgets, audit) and then runs the inner tool's own ``run``.
A refusal is returned as the tool's result, which CrewAI gives the model as the
next observation; the crew goes on.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Mapping
from typing import Any

from crewai.tools import BaseTool
from pydantic import Field

from guardrail import AuthenticationError, Guard, GuardrailDenied, Principal
from guardrail.adapters import GuardedWrapper, NamedArgBinder, OnDenied
from guardrail_crewai._denial import denial_text

Handoff = Principal | AuthenticationError | None
_handoff: contextvars.ContextVar[tuple[BaseTool, Handoff] | None] = contextvars.ContextVar(
    "guardrail_crewai_handoff", default=None
)


def hand_off(tool: BaseTool, who: Handoff) -> None:
    """Give the next call of ``tool`` in this context its identity (set by the hooks)."""
    _handoff.set((tool, who))


def take_handoff(tool: BaseTool) -> tuple[bool, Handoff]:
    """The identity handed to ``tool``'s call, once: (found, principal or error)."""
    pending = _handoff.get()
    if pending is None:
        return False, None
    _handoff.set(None)  # one call only, even when it was for another tool
    return (True, pending[1]) if pending[0] is tool else (False, None)


def policy_name(name: str) -> str:
    """A CrewAI tool name as policies see it: spaces and other characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", name.strip())


class ToolArgs(NamedArgBinder):
    """The arguments CrewAI parsed from the model's ``Action Input``, by name."""

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        bound = dict(zip(self.names, args, strict=False))
        bound.update(kwargs)
        return bound


class _Runner:
    """What the guard registers: ``guard.call(name, args)`` runs the CrewAI tool."""

    def __init__(self, tool: BaseTool) -> None:
        self.tool = tool
        self.__name__ = policy_name(tool.name)
        self.__doc__ = tool.description

    def __call__(self, **kwargs: Any) -> Any:
        return self.tool.run(**kwargs)


def register_tool(guard: Guard, tool: BaseTool) -> str:
    """Register ``tool`` under its policy name (once); returns that name."""
    name = policy_name(tool.name)
    known = guard.tools.get(name)
    runner = known.fn if known is not None else None
    if isinstance(runner, _Runner) and runner.tool is tool:
        return name
    guard.register(
        _Runner(tool),
        name=name,
        description=tool.description,
        binder=ToolArgs(tool.args_schema.model_fields),
        replace=isinstance(runner, _Runner),
    )
    return name


def _never_cache(_args: Any = None, _result: Any = None) -> bool:
    # A cached result is served without calling the tool: every call must reach the guard.
    return False


class GuardedTool(BaseTool, GuardedWrapper[BaseTool]):
    """``wrapped`` governed by ``guard``. Build with :meth:`around` (or ``guard.wrap``).

    (``BaseTool`` comes first: pydantic wants ``BaseModel`` before ``Generic``; the
    wrapper's attribute delegation is not needed, CrewAI reads only tool fields.)

    ``principal`` (set by ``guard.visible(tools, principal)``) is who every call is
    made as; without it the identity comes from :class:`~guardrail_crewai.GuardrailHooks`
    or ``guard.acting_as``.
    """

    wrapped: BaseTool
    guard: Guard = Field(exclude=True)
    on_denied: OnDenied = "result"
    principal: Principal | None = None
    policy_name: str = ""

    @classmethod
    def around(
        cls,
        inner: BaseTool,
        guard: Guard,
        *,
        on_denied: OnDenied = "result",
        principal: Principal | None = None,
    ) -> GuardedTool:
        name = register_tool(guard, inner)
        tool = cls(
            wrapped=inner,
            guard=guard,
            on_denied=on_denied,
            principal=principal,
            policy_name=name,
            name=inner.name,
            description=inner.description,
            args_schema=inner.args_schema,
            result_as_answer=inner.result_as_answer,
            max_usage_count=inner.max_usage_count,
            cache_function=_never_cache,
        )
        tool.description = inner.description  # CrewAI prefixed it again: keep the inner's
        return tool

    def narrowed_for(self, principal: Principal | None) -> GuardedTool | None:
        """This tool bound to ``principal``, constraints in its description; ``None``: hidden."""
        schema = {"type": "object", "properties": _properties(self.wrapped)}
        narrowed = self.guard.narrowed_schema(self.policy_name, schema, principal)
        if narrowed is None:
            return None
        tool = self.model_copy(update={"principal": principal})
        if narrowed != schema:
            limits = json.dumps(narrowed.get("properties", narrowed), sort_keys=True)
            tool.description = f"{self.wrapped.description}\nArguments you may pass: {limits}"
        return tool

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        _, who = take_handoff(self)
        if self.principal is not None:
            who = self.principal  # bound by guard.visible(tools, principal): it wins
        if isinstance(who, AuthenticationError):
            return self.refuse_guarded(self.policy_name, who, kwargs)
        return self.run_guarded(
            self.policy_name,
            kwargs,
            args=args,
            principal=who,
            invoke=lambda bound: self.wrapped.run(**bound),
        )

    def denial(self, refusal: GuardrailDenied) -> str:
        return denial_text(refusal)


def _properties(tool: BaseTool) -> dict[str, Any]:
    properties: dict[str, Any] = tool.args_schema.model_json_schema().get("properties", {})
    return properties
