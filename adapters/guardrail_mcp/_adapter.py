"""``MCPAdapter``: lets ``guard.wrap(session)`` and ``guard.visible(...)`` handle MCP objects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp import Client, ClientSession
from mcp_types import ListToolsResult, Tool

from guardrail import ConfigurationError
from guardrail.adapters import Adapter
from guardrail_mcp._client import GuardedSession, wrap_session

if TYPE_CHECKING:
    from guardrail import Guard, Principal


class MCPAdapter(Adapter):
    """Wraps ``ClientSession`` / ``mcp.Client``; filters ``Tool`` objects and tool lists.

    ``guard.wrap(session)`` names the server after its initialize result;
    ``guard.wrap(session, server="crm", pins=..., cost=...)`` takes
    :func:`guardrail_mcp.wrap_session`'s options.
    """

    name = "mcp"
    extra = "mcp"

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, ClientSession | Client | GuardedSession | Tool | ListToolsResult)

    def wrap(self, obj: Any, guard: Guard, **options: Any) -> Any:
        """``options``: those of :func:`~guardrail_mcp.wrap_session` (``server``, ``pins``, ...)."""
        if isinstance(obj, GuardedSession):
            if obj.guard is not guard:
                raise ConfigurationError("this MCP session is already governed by another guard")
            if options:
                raise ConfigurationError("this MCP session is already wrapped: wrap it once")
            return obj
        if isinstance(obj, ClientSession | Client):
            return wrap_session(obj, guard, **options)
        raise ConfigurationError(
            f"guard.wrap() takes an MCP session, not a {type(obj).__name__}; "
            "use guard.visible() to filter tool definitions"
        )

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        """``Tool`` names are taken as policy names (``crm/lookup``); hidden ones become None."""
        if isinstance(obj, GuardedSession):
            return obj.visible_tools(principal)
        if isinstance(obj, ListToolsResult):
            shown = [self.visible(tool, guard, principal) for tool in obj.tools]
            return obj.model_copy(update={"tools": [t for t in shown if t is not None]})
        if isinstance(obj, Tool):
            schema = guard.narrowed_schema(obj.name, obj.input_schema, principal)
            return None if schema is None else obj.model_copy(update={"input_schema": schema})
        return super().visible(obj, guard, principal)
