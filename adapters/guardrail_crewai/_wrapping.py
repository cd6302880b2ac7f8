"""What the ``crewai`` adapter does with CrewAI tools (imported once one exists)."""

from __future__ import annotations

from typing import Any

from crewai.tools import BaseTool

from guardrail import ConfigurationError, Guard, Principal, current_principal
from guardrail.adapters import OnDenied
from guardrail_crewai._tool import GuardedTool


def wrap(guard: Guard, obj: Any, *, on_denied: OnDenied = "result") -> Any:
    """Govern a CrewAI tool (or a list/tuple of them) with ``guard``."""
    if isinstance(obj, list | tuple):
        return type(obj)(wrap(guard, item, on_denied=on_denied) for item in obj)
    if isinstance(obj, GuardedTool) and obj.guard is guard:
        return obj
    if not isinstance(obj, BaseTool):
        raise ConfigurationError(f"not a CrewAI tool: {type(obj).__name__}")
    return GuardedTool.around(obj, guard, on_denied=on_denied)


def visible(
    guard: Guard, obj: Any, principal: Principal | None = None, *, on_denied: OnDenied = "result"
) -> Any:
    """The tools ``principal`` may call, bound to them, constraints in the descriptions."""
    who = principal if principal is not None else current_principal()
    if isinstance(obj, list | tuple):
        shown = (visible(guard, item, who, on_denied=on_denied) for item in obj)
        return type(obj)(item for item in shown if item is not None)
    tool: GuardedTool = wrap(guard, obj, on_denied=on_denied)
    return tool.narrowed_for(who)
