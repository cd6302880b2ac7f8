"""pydantic-ai adapter for guardrail: a guarded toolset over any toolset.

Installed with ``pip install "guardrail-sdk[pydantic-ai]"`` (``pydantic-ai-slim``)
and found through the ``guardrail.adapters`` entry point::

    agent = Agent(model, deps_type=AppDeps, toolsets=[guard.wrap(toolset)])
    await agent.run(prompt, deps=AppDeps(guardrail_principal=user))

``guard.wrap`` takes any ``AbstractToolset`` (``FunctionToolset``, MCP servers,
combined, prefixed, ...) or a ``Tool``, and returns a :class:`GuardedToolset`.
Identity comes from ``RunContext.deps``: a :class:`~guardrail.Principal`, or an
object or mapping with a ``guardrail_principal`` (or ``guardrail_token``) entry
(:class:`guardrail.adapters.HasPrincipal`); else ``guard.acting_as(...)``. Each
run lists its user only the tools they may call, schemas narrowed; a refusal is
a ``ToolFailed`` result the model reads, so the run goes on.

.. versionadded:: 0.2
"""

from guardrail_pydantic_ai._adapter import PydanticAIAdapter, wrap
from guardrail_pydantic_ai._toolset import GuardedToolset

__all__ = ["GuardedToolset", "PydanticAIAdapter", "wrap"]
