"""``GuardedTool``: a LangChain tool whose every call goes through a guard.

The wrapper overrides ``run``/``arun``, where ``invoke``, ``ainvoke``, ``batch``,
``stream`` and ``.run()`` all arrive with the ``tool_call_id``. It checks the call
through ``guard.run`` / ``guard.arun`` (policy, budgets, audit) and then runs the
inner tool's own ``run``, so callbacks, ``handle_tool_error`` and output formatting
stay LangChain's.
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, Tool, ToolException
from langchain_core.tools.base import ArgsSchema
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from guardrail import AuthenticationError, Guard, GuardrailDenied, Principal
from guardrail.adapters import GuardedWrapper, OnDenied
from guardrail_langchain._binder import register_tool
from guardrail_langchain._callbacks import areport_refusal, report_refusal
from guardrail_langchain._denial import denial_message, denial_text
from guardrail_langchain._identity import principal_from_config

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


class GuardedTool(GuardedWrapper[BaseTool], BaseTool):
    """``wrapped`` governed by ``guard``. Build with :meth:`around` (or ``guard.wrap``).

    A refusal is, with ``on_denied="result"``, an error ``ToolMessage`` (with a
    ``tool_call_id``) or a ``ToolException``, as LangChain reports a handled tool
    error; with ``"raise"`` the guardrail error itself.

    Name, description, schemas, ``return_direct``, ``response_format`` and ``extras``
    are the inner tool's, so ``convert_to_openai_tool(wrapped) ==
    convert_to_openai_tool(inner)``. A tool from ``guard.visible(...)`` may carry a
    ``narrowed_schema``: what the model is shown for that principal.
    """

    wrapped: BaseTool
    guard: Guard = Field(exclude=True)
    on_denied: OnDenied = "result"
    narrowed_schema: dict[str, Any] | None = None
    """The tool-call JSON schema narrowed to one principal's policy regions, if any."""

    @classmethod
    def around(
        cls, inner: BaseTool, guard: Guard, *, on_denied: OnDenied = "result"
    ) -> GuardedTool:
        """Wrap ``inner``; its name is registered with ``guard``."""
        fields = {field: getattr(inner, field) for field in _COPIED}
        kind: type[GuardedTool] = cls
        if is_legacy(inner):
            kind, fields["func"] = GuardedLegacyTool, None
        register_tool(guard, inner)
        return kind(wrapped=inner, guard=guard, on_denied=on_denied, **fields)

    # -- what the model is shown --------------------------------------------------

    @property
    def tool_call_schema(self) -> ArgsSchema:
        if self.narrowed_schema is not None:
            return self.narrowed_schema
        return self.wrapped.tool_call_schema

    @property
    def args(self) -> dict[str, Any]:
        if self.narrowed_schema is not None:
            return dict(self.narrowed_schema.get("properties", {}))
        return self.wrapped.args

    def get_input_schema(self, config: Any = None) -> Any:
        return self.wrapped.get_input_schema(config)

    @functools.cached_property
    def _injected_args_keys(self) -> frozenset[str]:
        return self.wrapped._injected_args_keys

    def narrowed_for(
        self, principal: Principal | None, *, flat: bool = False
    ) -> GuardedTool | None:
        """This tool as ``principal`` sees it: ``None`` when they may not call it at all.

        ``flat=True`` keeps ``anyOf``/``allOf`` off the schema root, which some model
        APIs reject (see :meth:`guardrail.Guard.narrowed_schema`).
        """
        base: dict[str, Any] = convert_to_openai_tool(self.wrapped)["function"].get(
            "parameters", {}
        )
        # The policy calls a single-input tool's argument "tool_input"; OpenAI sees "__arg1".
        aliases = _LEGACY_ALIASES if is_legacy(self.wrapped) else None
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
        if is_legacy(self.wrapped):
            # A Tool without args_schema is converted by a special case that ignores
            # tool_call_schema; giving it the narrowed schema turns that case off.
            update["args_schema"] = narrowed
        return self.model_copy(update=update)

    # -- running ------------------------------------------------------------------

    def run(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        tool_call_id = kwargs.get("tool_call_id")
        try:
            principal = principal_from_config(self.guard, kwargs.get("config"))
        except AuthenticationError as exc:
            self.guard.refuse(self.name, exc, tool_call_id=tool_call_id)
            return self._refused(exc, tool_input, kwargs)
        try:
            return self.guard.run(
                self.name,
                args=(tool_input,),
                principal=principal,
                tool_call_id=tool_call_id,
                invoke=lambda _: self._run_inner(tool_input, *args, **kwargs),
                denied=lambda exc: self._refused(exc, tool_input, kwargs),
            )
        except HandledToolError as handled:
            return handled.output

    async def arun(self, tool_input: str | dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        tool_call_id = kwargs.get("tool_call_id")
        try:
            principal = principal_from_config(self.guard, kwargs.get("config"))
        except AuthenticationError as exc:
            await self.guard.arefuse(self.name, exc, tool_call_id=tool_call_id)
            return await self._arefused(exc, tool_input, kwargs)
        try:
            return await self.guard.arun(
                self.name,
                args=(tool_input,),
                principal=principal,
                tool_call_id=tool_call_id,
                invoke=lambda _: self._arun_inner(tool_input, *args, **kwargs),
                denied=lambda exc: self._arefused(exc, tool_input, kwargs),
            )
        except HandledToolError as handled:
            return handled.output

    def _run_inner(self, *args: Any, **kwargs: Any) -> Any:
        return _unhandled(self.wrapped.run(*args, **kwargs))

    async def _arun_inner(self, *args: Any, **kwargs: Any) -> Any:
        return _unhandled(await self.wrapped.arun(*args, **kwargs))

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("GuardedTool runs through run()/arun(), never _run()")

    def _refused(
        self, exc: GuardrailDenied, tool_input: str | dict[str, Any], kwargs: dict[str, Any]
    ) -> Any:
        outcome = self._outcome(exc, kwargs)
        report_refusal(self.wrapped, tool_input, kwargs, outcome)
        return _deliver(outcome)

    async def _arefused(
        self, exc: GuardrailDenied, tool_input: str | dict[str, Any], kwargs: dict[str, Any]
    ) -> Any:
        outcome = self._outcome(exc, kwargs)
        await areport_refusal(self.wrapped, tool_input, kwargs, outcome)
        return _deliver(outcome)

    def _outcome(self, exc: GuardrailDenied, kwargs: dict[str, Any]) -> ToolMessage | Exception:
        """What the caller gets: an error ToolMessage, a ToolException, or ``exc`` itself."""
        return exc if self.on_denied == "raise" else self.denial(exc, kwargs.get("tool_call_id"))

    def denial(self, exc: GuardrailDenied, tool_call_id: str | None = None) -> Any:
        """An error ``ToolMessage`` for the model, or a ``ToolException`` without a call id."""
        text = denial_text(exc)
        if tool_call_id is None:
            error = ToolException(text)
            error.__cause__ = exc
            return error
        return denial_message(exc, tool_call_id, self.name)


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
