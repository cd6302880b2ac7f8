"""``GuardedTool``: a LangChain tool whose every call goes through a guard.

The wrapper overrides ``run``/``arun``, where ``invoke``, ``ainvoke``, ``batch``,
``stream`` and ``.run()`` all arrive with the ``tool_call_id``. It checks the call
with the guard's engine (policy, budgets, audit) and then runs the inner tool's own
``run``, so callbacks, ``handle_tool_error`` and output formatting stay LangChain's.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any, Literal

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, Tool, ToolException
from langchain_core.tools.base import ArgsSchema
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field, PrivateAttr

from guardrail import AuthenticationError, Guard, GuardrailDenied, Principal, current_principal
from guardrail.pipeline import Call
from guardrail.tools import ToolSpec
from guardrail_langchain._binder import register_tool
from guardrail_langchain._callbacks import areport_refusal, report_refusal
from guardrail_langchain._denial import denial_details, denial_text
from guardrail_langchain._identity import principal_from_config

OnDenied = Literal["message", "raise"]
"""``"message"``: an error ``ToolMessage`` (with a tool_call_id) or a ``ToolException``;
``"raise"``: re-raise the guardrail error (``PermissionDenied``, ``BudgetExceeded``, ...)."""

_LEGACY_ALIASES = {"tool_input": "__arg1"}

_COPIED = (
    "name",
    "description",
    "args_schema",
    "return_direct",
    "response_format",
    "extras",
    "handle_tool_error",
    "handle_validation_error",
)


class HandledToolError(Exception):
    """The inner tool failed and LangChain turned the error into output (``handle_tool_error``).

    Raised inside the pipeline so the audit records an error (and budgets refund),
    then unwrapped: the caller gets the inner tool's output unchanged.
    """

    def __init__(self, output: Any) -> None:
        super().__init__("the tool failed; its handle_tool_error produced the output")
        self.output = output


class GuardedTool(BaseTool):
    """``inner`` governed by ``guard``. Build with :meth:`around` (or ``guard.wrap``).

    Name, description, schemas, ``return_direct``, ``response_format`` and ``extras``
    are the inner tool's, so ``convert_to_openai_tool(wrapped) ==
    convert_to_openai_tool(inner)``. A tool from ``guard.visible(...)`` may carry a
    ``narrowed_schema``: what the model is shown for that principal.
    """

    inner: BaseTool
    guard: Guard = Field(exclude=True)
    on_denied: OnDenied = "message"
    narrowed_schema: dict[str, Any] | None = None
    """The tool-call JSON schema narrowed to one principal's policy regions, if any."""

    _spec: ToolSpec = PrivateAttr()

    @classmethod
    def around(
        cls, inner: BaseTool, guard: Guard, *, on_denied: OnDenied = "message"
    ) -> GuardedTool:
        """Wrap ``inner``; its name is registered with ``guard``."""
        fields = {field: getattr(inner, field) for field in _COPIED}
        kind: type[GuardedTool] = cls
        if is_legacy(inner):
            kind, fields["func"] = GuardedLegacyTool, None
        tool = kind(inner=inner, guard=guard, on_denied=on_denied, **fields)
        tool._spec = register_tool(guard, inner)
        return tool

    # -- what the model is shown --------------------------------------------------

    @property
    def tool_call_schema(self) -> ArgsSchema:
        if self.narrowed_schema is not None:
            return self.narrowed_schema
        return self.inner.tool_call_schema

    @property
    def args(self) -> dict[str, Any]:
        if self.narrowed_schema is not None:
            return dict(self.narrowed_schema.get("properties", {}))
        return self.inner.args

    def get_input_schema(self, config: Any = None) -> Any:
        return self.inner.get_input_schema(config)

    @functools.cached_property
    def _injected_args_keys(self) -> frozenset[str]:
        return self.inner._injected_args_keys

    def narrowed_for(
        self, principal: Principal | None, *, flat: bool = False
    ) -> GuardedTool | None:
        """This tool as ``principal`` sees it: ``None`` when they may not call it at all.

        ``flat=True`` keeps ``anyOf``/``allOf`` off the schema root, which some model
        APIs reject (see :meth:`guardrail.Guard.narrowed_schema`).
        """
        base: dict[str, Any] = convert_to_openai_tool(self.inner)["function"].get("parameters", {})
        # The policy calls a single-input tool's argument "tool_input"; OpenAI sees "__arg1".
        aliases = _LEGACY_ALIASES if is_legacy(self.inner) else None
        narrowed = self.guard.narrowed_schema(
            self.name, base, principal, flat=flat, aliases=aliases
        )
        if narrowed is None:
            return None
        if narrowed == base:
            narrowed = None  # nothing to narrow: show the inner tool's own schema
        if narrowed == self.narrowed_schema:
            return self
        update: dict[str, Any] = {"narrowed_schema": narrowed}
        if is_legacy(self.inner):
            # A Tool without args_schema is converted by a special case that ignores
            # tool_call_schema; giving it the narrowed schema turns that case off.
            update["args_schema"] = narrowed
        return self.model_copy(update=update)

    # -- running ------------------------------------------------------------------

    def run(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            call = self._start(tool_input, kwargs)
        except GuardrailDenied as exc:
            return self._refused(exc, tool_input, kwargs)
        try:
            with _bound(self.guard, call.principal):
                return self.guard.engine.run_sync(
                    call, self._run_inner, (tool_input, *args), kwargs
                )
        except GuardrailDenied as exc:
            if exc is not call.refusal:
                raise  # raised by the tool body (e.g. a nested guarded call): a tool error
            return self._refused(exc, tool_input, kwargs)
        except HandledToolError as handled:
            return handled.output

    async def arun(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            call = self._start(tool_input, kwargs)
        except GuardrailDenied as exc:
            return await self._arefused(exc, tool_input, kwargs)
        try:
            with _bound(self.guard, call.principal):
                return await self.guard.engine.run_async(
                    call, self._arun_inner, (tool_input, *args), kwargs
                )
        except GuardrailDenied as exc:
            if exc is not call.refusal:
                raise
            return await self._arefused(exc, tool_input, kwargs)
        except HandledToolError as handled:
            return handled.output

    def _run_inner(self, *args: Any, **kwargs: Any) -> Any:
        return _unhandled(self.inner.run(*args, **kwargs))

    async def _arun_inner(self, *args: Any, **kwargs: Any) -> Any:
        return _unhandled(await self.inner.arun(*args, **kwargs))

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("GuardedTool runs through run()/arun(), never _run()")

    def _start(self, tool_input: str | dict[str, Any], kwargs: dict[str, Any]) -> Call:
        """Identify the caller and bind the arguments; a refusal here is audited too."""
        tool_call_id = kwargs.get("tool_call_id")
        try:
            principal = principal_from_config(self.guard, kwargs.get("config"))
        except AuthenticationError as exc:
            exc.tool = exc.tool or self.name
            call = Call(tool=self._spec, args={}, principal=None, tool_call_id=tool_call_id)
            self.guard.engine.refuse(call, exc)
            raise
        return self.guard.new_call(
            self._spec, (tool_input,), {}, principal=principal, tool_call_id=tool_call_id
        )

    def _refused(
        self, exc: GuardrailDenied, tool_input: str | dict[str, Any], kwargs: dict[str, Any]
    ) -> Any:
        outcome = self._denial(exc, kwargs)
        report_refusal(self.inner, tool_input, kwargs, outcome)
        return _deliver(outcome)

    async def _arefused(
        self, exc: GuardrailDenied, tool_input: str | dict[str, Any], kwargs: dict[str, Any]
    ) -> Any:
        outcome = self._denial(exc, kwargs)
        await areport_refusal(self.inner, tool_input, kwargs, outcome)
        return _deliver(outcome)

    def _denial(self, exc: GuardrailDenied, kwargs: dict[str, Any]) -> ToolMessage | Exception:
        """What the caller gets: an error ToolMessage, a ToolException, or ``exc`` itself."""
        if self.on_denied == "raise":
            return exc
        text = denial_text(exc)
        tool_call_id = kwargs.get("tool_call_id")
        if tool_call_id is None:
            error = ToolException(text)
            error.__cause__ = exc
            return error
        return ToolMessage(
            content=text,
            tool_call_id=tool_call_id,
            name=self.name,
            status="error",
            artifact={"guardrail": denial_details(exc)},
        )


class GuardedLegacyTool(GuardedTool, Tool):
    """A guarded single-string-input ``Tool``; being a ``Tool`` keeps its OpenAI form."""


def is_legacy(tool: BaseTool) -> bool:
    """A ``Tool`` without ``args_schema``: one string input, shown to OpenAI as ``__arg1``."""
    return isinstance(tool, Tool) and not tool.args_schema


def _deliver(outcome: ToolMessage | Exception) -> ToolMessage:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _unhandled(output: Any) -> Any:
    if isinstance(output, ToolMessage) and output.status == "error":
        raise HandledToolError(output)
    return output


@contextlib.contextmanager
def _bound(guard: Guard, principal: Principal | None) -> Iterator[None]:
    # The tool body (and any guarded call it makes) runs as the caller, also when
    # the caller came from the run config rather than from guard.acting_as.
    if principal is None or current_principal() is principal:
        yield
        return
    with guard.acting_as(principal):
        yield
