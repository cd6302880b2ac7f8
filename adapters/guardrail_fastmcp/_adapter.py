"""``FastMCPAdapter``: ``guard.wrap(server)`` protects a FastMCP server; ``visible`` filters."""

from __future__ import annotations

from typing import Any

from fastmcp import FastMCP
from fastmcp.tools.base import Tool

from guardrail import ConfigurationError, Guard, Principal
from guardrail.adapters import Adapter
from guardrail_fastmcp._middleware import GuardrailMiddleware, protect


class FastMCPAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``fastmcp``."""

    name = "fastmcp"
    extra = "fastmcp"
    requires = {"fastmcp": "4.0"}

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, FastMCP | Tool)

    def wrap(self, obj: Any, guard: Guard, **options: Any) -> Any:
        """``guard.wrap(server, default_principal=..., prefix=...)``: the server, protected."""
        if not isinstance(obj, FastMCP):
            raise ConfigurationError(
                f"guard.wrap() takes a FastMCP server, not {type(obj).__name__}"
            )
        if any(isinstance(m, GuardrailMiddleware) for m in obj.middleware):
            raise ConfigurationError("this FastMCP server is already protected by guardrail")
        protect(obj, guard, **options)
        return obj

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        if isinstance(obj, Tool):
            schema = guard.narrowed_schema(obj.name, obj.parameters, principal)
            return None if schema is None else obj.model_copy(update={"parameters": schema})
        return super().visible(obj, guard, principal)
