"""Refused calls appear in LangChain callbacks (tracing) as tool runs that ended in an error.

The inner tool never starts, so its own ``run`` fires no callback; without this a
tracer would not see the attempt at all. A denial returned as an error
``ToolMessage`` ends the run with ``on_tool_end`` (as LangChain does for handled
tool errors); a raised one with ``on_tool_error``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.tools import BaseTool


def _configure_args(tool: BaseTool, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    # The same order BaseTool.run passes to CallbackManager.configure.
    return (
        kwargs.get("callbacks"),
        tool.callbacks,
        tool.verbose or bool(kwargs.get("verbose")),
        kwargs.get("tags"),
        tool.tags,
        kwargs.get("metadata"),
        tool.metadata,
    )


def _start_args(
    tool: BaseTool, tool_input: str | dict[str, Any], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shown = tool._filter_injected_args(tool_input) if isinstance(tool_input, dict) else None
    args = ({"name": tool.name, "description": tool.description}, str(shown or tool_input))
    options = {
        "name": kwargs.get("run_name"),
        "run_id": kwargs.get("run_id"),
        "inputs": shown,
        "tool_call_id": kwargs.get("tool_call_id"),
    }
    return args, options


def report_refusal(
    tool: BaseTool,
    tool_input: str | dict[str, Any],
    kwargs: dict[str, Any],
    outcome: Any,
) -> None:
    """Fire on_tool_start, then on_tool_end (a returned message) or on_tool_error."""
    manager = CallbackManager.configure(*_configure_args(tool, kwargs))
    args, options = _start_args(tool, tool_input, kwargs)
    run = manager.on_tool_start(*args, **options)
    if isinstance(outcome, BaseException):
        run.on_tool_error(outcome, tool_call_id=kwargs.get("tool_call_id"))
    else:
        run.on_tool_end(outcome, name=tool.name)


async def areport_refusal(
    tool: BaseTool,
    tool_input: str | dict[str, Any],
    kwargs: dict[str, Any],
    outcome: Any,
) -> None:
    """:func:`report_refusal` for async runs (async handlers are awaited)."""
    manager = AsyncCallbackManager.configure(*_configure_args(tool, kwargs))
    args, options = _start_args(tool, tool_input, kwargs)
    run = await manager.on_tool_start(*args, **options)
    if isinstance(outcome, BaseException):
        await run.on_tool_error(outcome, tool_call_id=kwargs.get("tool_call_id"))
    else:
        await run.on_tool_end(outcome, name=tool.name)
