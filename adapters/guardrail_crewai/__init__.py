"""CrewAI adapter for guardrail: guarded tools plus CrewAI's tool-call hooks.

Installed with ``pip install "guardrail[crewai]"`` and found by guardrail through
the ``guardrail.adapters`` entry point (``crewai``), so ``guard.wrap(tools)`` and
``guard.visible(tools, principal)`` accept CrewAI tools.

Identity: the principal ``guard.visible`` bound the tools to, else
``GuardrailHooks(users=...)`` from CrewAI's hook context, else ``guard.acting_as``;
never from model-supplied arguments.

The names below are loaded on first use: importing this package (as the entry
point does) does not import crewai (see ``_entry``).

.. versionadded:: 0.2
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrail_crewai._denial import denial_text
    from guardrail_crewai._entry import CrewAIAdapter
    from guardrail_crewai._hooks import CrewUsers, GuardrailHooks
    from guardrail_crewai._tool import GuardedTool, policy_name
    from guardrail_crewai._wrapping import visible, wrap

_WHERE = {
    "CrewAIAdapter": "_entry",
    "CrewUsers": "_hooks",
    "GuardedTool": "_tool",
    "GuardrailHooks": "_hooks",
    "denial_text": "_denial",
    "policy_name": "_tool",
    "visible": "_wrapping",
    "wrap": "_wrapping",
}

__all__ = [
    "CrewAIAdapter",
    "CrewUsers",
    "GuardedTool",
    "GuardrailHooks",
    "denial_text",
    "policy_name",
    "visible",
    "wrap",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'guardrail_crewai' has no attribute {name!r}")
    return getattr(importlib.import_module(f"guardrail_crewai.{_WHERE[name]}"), name)
