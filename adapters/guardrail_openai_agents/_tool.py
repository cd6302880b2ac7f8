"""``GuardedFunctionTool``: an OpenAI Agents ``FunctionTool`` whose every call goes through a guard.

It is a ``FunctionTool`` (the SDK treats it as one) with two fields made per run:
``on_invoke_tool`` runs the call through ``guard.arun`` as the user the run
context names, and ``is_enabled`` shows the tool only to users who may call it.
A refusal is returned as the tool's output (a string the model reads), so the
run goes on.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agents import FunctionTool, RunContextWrapper
from agents.tool_context import ToolContext

from guardrail import (
    ArgumentError,
    AuthenticationError,
    Guard,
    GuardrailDenied,
    Principal,
)
from guardrail.adapters import (
    GuardedWrapper,
    NamedArgBinder,
    OnDenied,
    denial_text,
    principal_from_context,
    stand_in,
    stands_in,
)
from guardrail_openai_agents._approval import needs_approval
from guardrail_openai_agents._failure import FailureWatch, watched

_OWNER = "guardrail_openai_agents"


class JSONArgs(NamedArgBinder):
    """A function tool's input: the model's JSON object text, as the policy sees it."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties = schema.get("properties")
        super().__init__(properties if isinstance(properties, Mapping) else ())

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if not args:
            return dict(kwargs)
        if len(args) > 1 or kwargs or not isinstance(args[0], str):
            raise ArgumentError("a function tool takes one input: its arguments as JSON text")
        try:
            parsed = json.loads(args[0]) if args[0].strip() else {}
        except ValueError as exc:
            raise ArgumentError(f"the arguments are not valid JSON ({exc})") from None
        if not isinstance(parsed, dict):
            raise ArgumentError("the arguments must be a JSON object")
        return parsed


@dataclasses.dataclass
class GuardedFunctionTool(GuardedWrapper[FunctionTool], FunctionTool):
    """``wrapped`` governed by ``guard``. Build with :meth:`around` (or ``guard.wrap``)."""

    wrapped: FunctionTool = dataclasses.field(kw_only=True, repr=False)
    guard: Guard = dataclasses.field(kw_only=True, repr=False)
    on_denied: OnDenied = dataclasses.field(kw_only=True, default="result")

    @classmethod
    def around(
        cls,
        tool: FunctionTool,
        guard: Guard,
        *,
        on_denied: OnDenied = "result",
        cost: float | None = None,
        scopes: Iterable[str] = (),
    ) -> GuardedFunctionTool:
        """Wrap ``tool`` (its name is registered with ``guard``); keeps every other field."""
        if isinstance(tool, GuardedFunctionTool):
            tool = tool.wrapped
        register_tool(guard, tool.name, tool.description, tool.params_json_schema, cost, scopes)
        fields = {f.name: getattr(tool, f.name) for f in dataclasses.fields(tool) if f.init}
        return cls(**fields, wrapped=tool, guard=guard, on_denied=on_denied)

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[no-untyped-call]
        # Made from ``wrapped`` each time, so a dataclasses.replace() copy stays governed.
        self.on_invoke_tool = self._invoke
        self._inner_invoke = watched(self.wrapped).on_invoke_tool
        self.is_enabled = self._enabled
        self.needs_approval = self._needs_approval

    def narrowed_for(self, principal: Principal | None) -> GuardedFunctionTool | None:
        """This tool as ``principal`` is shown it (schema narrowed); ``None``: hidden."""
        base = self.wrapped.params_json_schema
        narrowed = self.guard.narrowed_schema(self.name, base, principal, flat=True)
        if narrowed is None:
            return None
        if narrowed == base:
            return self
        return dataclasses.replace(self, params_json_schema=narrowed)

    async def _invoke(self, ctx: ToolContext[Any], input: str) -> Any:
        call_id = ctx.tool_call_id
        try:
            who = principal_from_context(self.guard, ctx.context)
        except AuthenticationError as exc:
            return await self.arefuse_guarded(self.name, exc, tool_call_id=call_id)
        watch = FailureWatch(ctx)
        try:
            return await self.arun_guarded(
                self.name,
                args=(input,),
                principal=who,
                tool_call_id=call_id,
                invoke=lambda _: watch.invoke(self._inner_invoke, input),
            )
        except Exception as exc:
            if not watch.answered(exc):
                raise
            return watch.output  # audited as failed; the model reads the SDK's text

    async def _needs_approval(
        self, run_context: RunContextWrapper[Any], params: dict[str, Any], call_id: str
    ) -> bool:
        # A call an approve rule holds pauses the run (the SDK's own approval).
        return await needs_approval(self.guard, self.wrapped, run_context, params, call_id)

    async def _enabled(self, run_context: RunContextWrapper[Any], agent: Any) -> bool:
        if not await _enabled_by(self.wrapped.is_enabled, run_context, agent):
            return False
        try:
            who = principal_from_context(self.guard, run_context.context)
        except AuthenticationError:
            return False  # a call anyway is refused and recorded (see run_config)
        schema = self.wrapped.params_json_schema
        return self.guard.narrowed_schema(self.name, schema, who) is not None

    def denial(self, refusal: GuardrailDenied) -> str:
        """The tool output the model reads: why, and whether to retry."""
        return denial_text(refusal)


async def _enabled_by(
    is_enabled: bool | Callable[..., Any], run_context: RunContextWrapper[Any], agent: Any
) -> bool:
    if not callable(is_enabled):
        return bool(is_enabled)
    result = is_enabled(run_context, agent)
    return bool(await result if inspect.isawaitable(result) else result)


def register_tool(
    guard: Guard,
    name: str,
    description: str,
    schema: Mapping[str, Any],
    cost: float | None = None,
    scopes: Iterable[str] = (),
) -> None:
    """Register ``name`` with ``guard`` (a newer definition from this adapter replaces an older)."""
    known = guard.tools.get(name)
    ours = known is not None and stands_in(known.fn, _OWNER)
    if ours and known is not None and known.description == description and known.cost == cost:
        return
    guard.register(
        _placeholder(name),
        name=name,
        description=description,
        cost=cost,
        scopes=scopes,
        binder=JSONArgs(schema),
        replace=ours,
    )


def _placeholder(name: str) -> Callable[..., Any]:
    return stand_in(name, _OWNER, f"{name!r} is an OpenAI Agents tool: an agent run calls it")
