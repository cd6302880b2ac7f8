"""The ``crewai`` entry point: an adapter that never imports crewai itself.

Importing crewai has process-wide effects (crewai 1.6.1 replaces ``warnings.warn``
to drop pydantic's warnings, and pings an install counter unless
``CREWAI_DISABLE_TELEMETRY`` is set), so guardrail must not import it for an
application that merely has it installed. The adapter acts only on objects of a
crewai the application imported itself; ``guardrail_crewai._wrapping`` (which
imports crewai) is loaded then.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from guardrail import Guard, Principal
from guardrail.adapters import Adapter, OnDenied

if importlib.util.find_spec("crewai") is None:  # skipped, with an install hint
    raise ModuleNotFoundError("No module named 'crewai'", name="crewai")


class CrewAIAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``crewai``.

    ``guard.wrap(tools)`` governs CrewAI tools; ``guard.visible(tools, principal)``
    keeps the ones ``principal`` may call, bound to ``principal`` and with their
    argument constraints in the description (CrewAI fixes an agent's tools when the
    crew is built: build one per user).
    """

    name = "crewai"
    extra = "crewai"
    requires = {"crewai": "1.6.1"}

    def __init__(self, *, on_denied: OnDenied = "result") -> None:
        self.on_denied: OnDenied = on_denied

    def supports(self, obj: Any) -> bool:
        # A CrewAI tool exists only once crewai is imported: never import it to find out.
        module = sys.modules.get("crewai.tools.base_tool")
        return module is not None and isinstance(obj, module.BaseTool)

    def wrap(self, obj: Any, guard: Guard) -> Any:
        from guardrail_crewai._wrapping import wrap

        return wrap(guard, obj, on_denied=self.on_denied)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        from guardrail_crewai._wrapping import visible

        return visible(guard, obj, principal, on_denied=self.on_denied)
