"""The ``pydantic-ai`` adapter: ``guard.wrap(toolset)`` and ``guard.wrap(tool)``."""

from __future__ import annotations

from typing import Any

from pydantic_ai import Tool
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset

from guardrail import ConfigurationError, Guard, Principal
from guardrail.adapters import Adapter, OnDenied
from guardrail_pydantic_ai._toolset import Approvals, GuardedToolset


def wrap(
    guard: Guard, obj: Any, *, on_denied: OnDenied = "result", approvals: Approvals = "refuse"
) -> Any:
    """Guard a toolset (any ``AbstractToolset``) or a ``Tool`` (in a toolset of its own).

    ``approvals="defer"``: a call an ``approve`` rule holds ends the run with
    pydantic-ai's own ``DeferredToolRequests`` (see :class:`GuardedToolset`).
    """
    if isinstance(obj, list | tuple):
        return type(obj)(
            wrap(guard, item, on_denied=on_denied, approvals=approvals) for item in obj
        )
    if isinstance(obj, GuardedToolset) and obj.guard is guard:
        if (obj.on_denied, obj.approvals) == (on_denied, approvals):
            return obj
        obj = obj.wrapped
    if isinstance(obj, Tool):
        obj = FunctionToolset([obj])
    if isinstance(obj, AbstractToolset):
        return GuardedToolset(obj, guard=guard, on_denied=on_denied, approvals=approvals)
    raise ConfigurationError(f"not a pydantic-ai toolset or tool: {type(obj).__name__}")


class PydanticAIAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``pydantic-ai``.

    ``guard.visible(toolset, user)`` returns the guarded toolset: it lists per run,
    for the user that run's ``deps`` names.
    """

    name = "pydantic-ai"
    extra = "pydantic-ai"
    requires = {"pydantic-ai-slim": "2.0"}

    def __init__(self, *, on_denied: OnDenied = "result") -> None:
        self.on_denied: OnDenied = on_denied

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, AbstractToolset | Tool)

    def wrap(self, obj: Any, guard: Guard, *, approvals: Approvals = "refuse") -> Any:
        return wrap(guard, obj, on_denied=self.on_denied, approvals=approvals)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        return wrap(guard, obj, on_denied=self.on_denied)
