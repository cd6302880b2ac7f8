"""Pieces the client and server sides share: registering remote tools, denial results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp_types import CallToolResult, TextContent

from guardrail import ArgumentError, Guard, GuardrailDenied
from guardrail.adapters import NamedArgBinder, ToolSpec, stand_in, stands_in

CostSpec = float | Mapping[str, float] | Callable[[str], float | None] | None
_OWNER = "guardrail_mcp"


class JSONArgs(NamedArgBinder):
    """Arguments of an MCP tool: one JSON object, passed through as given.

    The server validates them against the tool's input schema; the policy sees
    exactly what the server will receive (no coercion on the way). ``input_schema``
    (the listed tool's) tells the policy which arguments the tool declares.
    """

    def __init__(self, input_schema: Mapping[str, Any] | None = None) -> None:
        properties = (input_schema or {}).get("properties")
        super().__init__(properties if isinstance(properties, Mapping) else ())
        self.input_schema = input_schema

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        if args:
            raise ArgumentError("MCP tools take keyword arguments (a JSON object) only")
        return dict(kwargs)


def _placeholder(name: str) -> Callable[..., Any]:
    return stand_in(
        name, _OWNER, f"{name!r} is an MCP tool: call it through its guarded session or server"
    )


def cost_for(cost: CostSpec, name: str) -> float | None:
    if cost is None or isinstance(cost, int | float):
        return cost
    if isinstance(cost, Mapping):
        found = cost.get(name)
        return float(found) if found is not None else None
    return cost(name)


def ensure_registered(
    guard: Guard,
    name: str,
    description: str,
    cost: float | None,
    input_schema: Mapping[str, Any] | None = None,
    definition: str | None = None,
) -> ToolSpec:
    """Register the MCP tool ``name`` with ``guard`` once; keep its description current.

    Several sessions to one server share the registration; a local tool of the
    same name is an error (it would shadow or be shadowed).
    """
    spec = guard.tools.get(name)
    ours = spec is not None and stands_in(spec.fn, _OWNER)
    if ours and spec is not None:
        if (spec.description, spec.cost, spec.definition) == (description, cost, definition):
            return spec
        fn = spec.fn  # the listing changed: the same tool, re-described
    else:
        fn = _placeholder(name)
    return guard.register(
        fn,
        name=name,
        description=description,
        cost=cost,
        binder=JSONArgs(input_schema),
        replace=ours,
        definition=definition,
    )


def denial_result(exc: GuardrailDenied) -> CallToolResult:
    """What the model reads instead of a crash: ``is_error`` with the reason."""
    return CallToolResult(
        content=[TextContent(type="text", text=exc.reason)],
        is_error=True,
        _meta={
            "guardrail": {
                "decision": exc.decision_kind,
                "rule": exc.rule,
                "tool": exc.tool,
                # Set for ApprovalRequired: the request an approver can grant.
                "approval_request": getattr(exc, "request_id", None),
            }
        },
    )


class RemoteToolError(Exception):
    """The tool ran and reported an error (``is_error``): recorded as the call's outcome."""

    def __init__(self, result: Any) -> None:
        super().__init__("the MCP tool returned an error result")
        self.result = result
