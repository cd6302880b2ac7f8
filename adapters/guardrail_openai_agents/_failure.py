"""A function tool's failure that the SDK answers with text, seen by the guard as a failure.

Under the SDK's default ``failure_error_function`` a tool that raises returns the
SDK's error text instead ("An error occurred while running the tool..."), so the
guard would audit a failed call as completed. The default handler hands the
exception to ``RunConfig.tool_error_formatter`` (the SDK's public hook) before
the text goes back: for the duration of one call the tool context's run config
carries a formatter that keeps this call's exception (and defers to the run's own
formatter for the text). The guard then sees the exception raised, audits the
call as failed, and the model still reads what the SDK made of it.

A tool built with its own ``failure_error_function`` formats its errors itself,
without the formatter: the guard calls a copy of it (:func:`watched`) whose
function first tells the call's watch, through the SDK's own setter for tool
wrappers. Either way the exception is audited and the model reads the tool's text.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from agents import FunctionTool, RunConfig, RunContextWrapper
from agents.run_config import ToolErrorFormatterArgs
from agents.tool import (
    ToolErrorFunction,
    default_tool_error_function,
    resolve_function_tool_failure_error_function,
    set_function_tool_failure_error_function,
)
from agents.tool_context import ToolContext

Invoke = Callable[[ToolContext[Any], str], Awaitable[Any]]
_watching: ContextVar[FailureWatch | None] = ContextVar("guardrail_oa_failure", default=None)
_REPORTS = "__guardrail_reports_failures__"


def watched(tool: FunctionTool) -> FunctionTool:
    """``tool``, or a copy whose own ``failure_error_function`` first tells the watch."""
    own = resolve_function_tool_failure_error_function(tool)
    if own is None or own is default_tool_error_function or getattr(own, _REPORTS, False):
        return tool  # errors raise, or reach the run config's formatter
    return set_function_tool_failure_error_function(dataclasses.replace(tool), _reporting(own))


def _reporting(own: ToolErrorFunction) -> ToolErrorFunction:
    def report(ctx: RunContextWrapper[Any], error: Exception) -> Any:
        watch = _watching.get()
        if watch is not None:
            watch.saw(ctx, error)
        return own(ctx, error)

    setattr(report, _REPORTS, True)
    return report


class FailureWatch:
    """One call of a function tool, watched for a failure the SDK answers with text."""

    def __init__(self, ctx: ToolContext[Any]) -> None:
        self.ctx = ctx
        self.error: Exception | None = None
        self.output: Any = None

    async def invoke(self, invoke: Invoke, input: str) -> Any:
        """``invoke(ctx, input)``, raising the tool's own exception if the SDK answered one.

        The SDK's text for it is kept in :attr:`output` (see :meth:`answered`).
        """
        config = self.ctx.run_config
        self.ctx.run_config = dataclasses.replace(
            config if config is not None else RunConfig(),
            tool_error_formatter=self._formatter(config),
        )
        watching = _watching.set(self)
        try:
            output = await invoke(self.ctx, input)
        finally:
            self.ctx.run_config = config
            _watching.reset(watching)
        if self.error is not None:
            self.output = output
            raise self.error
        return output

    def saw(self, ctx: RunContextWrapper[Any], error: Exception) -> None:
        """Keep ``error`` if it is this call's (a nested run's tools have other call ids)."""
        mine = isinstance(ctx, ToolContext) and ctx.tool_call_id == self.ctx.tool_call_id
        if mine and self.error is None:
            self.error = error

    def answered(self, error: BaseException) -> bool:
        """``error`` is the failure :meth:`invoke` raised: the model gets :attr:`output`."""
        return self.error is not None and error is self.error

    def _formatter(
        self, config: RunConfig | None
    ) -> Callable[[ToolErrorFormatterArgs[Any]], Awaitable[str | None]]:
        previous = config.tool_error_formatter if config is not None else None
        call_id = self.ctx.tool_call_id

        async def formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
            if args.kind == "tool_exception" and args.call_id == call_id and self.error is None:
                self.error = args.error  # only this call's (see ``saw``)
            found = previous(args) if previous is not None else None
            return await found if inspect.isawaitable(found) else found

        return formatter
