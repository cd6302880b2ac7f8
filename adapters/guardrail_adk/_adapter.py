"""The ``adk`` adapter: ``guard.wrap`` and ``guard.visible`` for ADK tools."""

from __future__ import annotations

from typing import Any

from google.adk.tools.base_tool import BaseTool

from guardrail import ConfigurationError, Guard, Principal, current_principal
from guardrail.adapters import Adapter, OnDenied
from guardrail_adk._tool import GuardedTool, json_schema


class ADKAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``adk``.

    ``guard.wrap(tool)`` governs one tool (for agents built without the plugin);
    ``guard.visible(tools, principal)`` keeps the tools ``principal`` may call.
    The schema narrowing per user is the plugin's (it edits each model request).
    """

    name = "adk"
    extra = "adk"
    requires = {"google-adk": "2.0"}

    def __init__(self, *, on_denied: OnDenied = "result") -> None:
        self.on_denied: OnDenied = on_denied

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, BaseTool)

    def wrap(self, obj: Any, guard: Guard) -> Any:
        if isinstance(obj, list | tuple):
            return type(obj)(self.wrap(item, guard) for item in obj)
        if isinstance(obj, GuardedTool) and obj.guard is guard:
            return obj
        if not isinstance(obj, BaseTool):
            raise ConfigurationError(f"not an ADK tool: {type(obj).__name__}")
        return GuardedTool(obj, guard, on_denied=self.on_denied)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        who = principal if principal is not None else current_principal()
        if isinstance(obj, list | tuple):
            shown = (self.visible(item, guard, who) for item in obj)
            return type(obj)(item for item in shown if item is not None)
        tool: GuardedTool = self.wrap(obj, guard)
        schema = json_schema(tool._get_declaration())
        return tool if guard.narrowed_schema(tool.name, schema, who) is not None else None
