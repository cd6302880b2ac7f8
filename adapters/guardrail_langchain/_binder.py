"""How the guard sees a LangChain tool: its arguments as the tool's own schema parses them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.tools import BaseTool, Tool
from langchain_core.tools.base import FILTERED_ARGS
from pydantic import BaseModel, ValidationError

from guardrail import ArgumentError, Guard
from guardrail.adapters import NamedArgBinder, ToolSpec, validation_message

# _parse_input insists on a tool_call_id for InjectedToolCallId arguments; injected
# arguments are dropped before the policy sees the call, so any id will do.
_PLACEHOLDER_ID = "guardrail-policy-check"


class ToolRunner:
    """The callable registered with the guard: ``guard.call(name, args)`` invokes the tool."""

    def __init__(self, tool: BaseTool) -> None:
        self.tool = tool
        self.__name__ = tool.name
        self.__doc__ = tool.description

    def __call__(self, **kwargs: Any) -> Any:
        return self.tool.invoke(kwargs)


class ToolArgBinder(NamedArgBinder):
    """Binds ``tool_input`` (a dict or, for single-input tools, a string) to named arguments.

    Values are parsed by the tool's own ``args_schema`` (coerced, defaults applied),
    so the policy checks what the tool will get. Injected arguments (``InjectedToolArg``,
    ``ToolRuntime``, callbacks) are left out: the model never supplies them.
    """

    def __init__(self, tool: BaseTool) -> None:
        super().__init__(tool.args)
        self.tool = tool
        self._injected = _injected_keys(tool)

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if len(args) > 1 or (args and kwargs):
            raise ArgumentError("a LangChain tool takes one input: a dict or a string")
        tool_input = args[0] if args else dict(kwargs)
        if isinstance(tool_input, dict):
            tool_input = dict(tool_input)  # _parse_input may add injected keys
        elif not isinstance(tool_input, str):
            raise ArgumentError(
                f"tool input must be a dict or str, not {type(tool_input).__name__}"
            )
        try:
            parsed = self.tool._parse_input(tool_input, _PLACEHOLDER_ID)
        except ValidationError as exc:
            raise ArgumentError(validation_message(exc)) from None
        except (ValueError, TypeError) as exc:
            raise ArgumentError(f"invalid arguments: {exc}") from None
        if isinstance(parsed, str):
            names = [name for name in self.names if name != "kwargs"]
            return {names[0] if names else "tool_input": parsed}
        parsed = {k: v for k, v in parsed.items() if k not in self._injected}
        if isinstance(self.tool, Tool) and not self.tool.args_schema and len(parsed) == 1:
            # A single-input Tool gets the one value whatever its key ("__arg1" from OpenAI).
            return {"tool_input": next(iter(parsed.values()))}
        return parsed


def _injected_keys(tool: BaseTool) -> frozenset[str]:
    """The keys ``tool._filter_injected_args`` drops, worked out once (it is slow per call)."""
    candidates = set(FILTERED_ARGS) | set(tool._injected_args_keys)
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        candidates |= set(schema.model_fields)
    kept = tool._filter_injected_args(dict.fromkeys(candidates))
    return frozenset(candidates - set(kept))


def register_tool(guard: Guard, tool: BaseTool) -> ToolSpec:
    """Register ``tool`` with ``guard`` under its name (once per tool object).

    ``tool.metadata["guardrail"]`` may set ``cost``, ``scopes`` and ``redact``.
    A newer LangChain tool object with the same name replaces an older one (apps
    often rebuild tools per request); a plain ``@guard.tool`` function of that
    name is a conflict.
    """
    known = guard.tools.get(tool.name)
    runner = known.fn if known is not None else None
    ours = isinstance(runner, ToolRunner)
    if known is not None and isinstance(runner, ToolRunner) and runner.tool is tool:
        return known
    options: Mapping[str, Any] = (tool.metadata or {}).get("guardrail") or {}
    return guard.register(
        ToolRunner(tool),
        name=tool.name,
        description=tool.description,
        cost=options.get("cost"),
        scopes=options.get("scopes", ()),
        redact=options.get("redact", ()),
        binder=ToolArgBinder(tool),
        replace=ours,
    )
