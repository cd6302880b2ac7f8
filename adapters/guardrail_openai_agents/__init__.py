"""OpenAI Agents SDK adapter for guardrail: governed function tools and MCP servers.

Installed with ``pip install "guardrail-sdk[openai-agents]"`` and found through the
``guardrail.adapters`` entry point, so ``guard.wrap`` accepts a ``FunctionTool``
(``@function_tool``), an ``agents.mcp`` server or a list of them::

    agent = Agent(name="crm", tools=guard.wrap([lookup, refund]),
                  mcp_servers=[guard.wrap(server)])
    await Runner.run(agent, prompt, context=AppContext(guardrail_principal=user),
                     run_config=run_config(guard))

Identity comes from the run context (``Runner.run(..., context=...)``): a
:class:`~guardrail.Principal`, or an object or mapping with a ``guardrail_principal``
(or ``guardrail_token``) entry (:class:`guardrail.adapters.HasPrincipal`); else
``guard.acting_as(...)``. Each run shows its user only the tools they may call,
a refusal is the tool output the model reads, and :func:`run_config` turns a call
of a hidden tool into a recorded refusal instead of an error that ends the run.

.. versionadded:: 0.2
"""

from guardrail_openai_agents._adapter import OpenAIAgentsAdapter, run_config, visible, wrap
from guardrail_openai_agents._approval import approval_request
from guardrail_openai_agents._mcp import GuardedMCPServer
from guardrail_openai_agents._tool import GuardedFunctionTool

__all__ = [
    "GuardedFunctionTool",
    "GuardedMCPServer",
    "OpenAIAgentsAdapter",
    "approval_request",
    "run_config",
    "visible",
    "wrap",
]
