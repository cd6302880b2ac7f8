"""Google ADK adapter for guardrail: ``App(..., plugins=[GuardrailPlugin(guard)])``.

Installed with ``pip install "guardrail[adk]"`` and found by guardrail through the
``guardrail.adapters`` entry point (``adk``), so ``guard.wrap(tool)`` and
``guard.visible(tools, principal)`` accept ADK tools too.

Identity comes from the run (``RunConfig.custom_metadata``), the session's
``user_id`` (``GuardrailPlugin(users=...)``) or ``guard.acting_as(...)``; never
from model-supplied arguments.

.. versionadded:: 0.2
"""

from guardrail_adk._adapter import ADKAdapter
from guardrail_adk._denial import denial, denial_text
from guardrail_adk._identity import PRINCIPAL_KEY, TOKEN_KEY, UserDirectory, principal_of
from guardrail_adk._plugin import GuardrailPlugin
from guardrail_adk._tool import GuardedTool

__all__ = [
    "PRINCIPAL_KEY",
    "TOKEN_KEY",
    "ADKAdapter",
    "GuardedTool",
    "GuardrailPlugin",
    "UserDirectory",
    "denial",
    "denial_text",
    "principal_of",
]
