"""LangChain adapter for guardrail: ``guard.wrap(tools)`` and ``guard.visible(tools, user)``.

Installed with ``pip install "guardrail[langchain]"`` and found by guardrail through
the ``guardrail.adapters`` entry point, so ``guard.wrap`` accepts a ``BaseTool``, a
``@tool`` function, a ``StructuredTool``, a ``BaseToolkit`` or a list of them.

Identity comes from ``guard.acting_as(...)`` or from the run config:
``config={"configurable": {"guardrail_principal": principal}}`` or
``{"guardrail_token": SecretStr(token)}``; never from model-supplied arguments.

A guard's own tools and skills become LangChain tools with ``from_guard(guard)``
(skill steps are left out); ``guard.visible(...)`` filters them per user.

A LangChain v1 agent is governed as a whole by
``create_agent(..., middleware=[GuardrailMiddleware(guard)])`` (needs ``langchain``
and ``langgraph``): every tool call checked, each user shown only their tools,
identity also from LangGraph's ``Runtime.context``.

.. versionadded:: 0.1
"""

from typing import TYPE_CHECKING, Any

from guardrail_langchain._adapter import GuardedToolkit, LangChainAdapter, visible, wrap
from guardrail_langchain._denial import denial_details, denial_text
from guardrail_langchain._identity import PRINCIPAL_KEY, TOKEN_KEY, principal_from_config
from guardrail_langchain._serve import ServedTool, from_guard
from guardrail_langchain._tool import GuardedTool, HandledToolError

if TYPE_CHECKING:
    from guardrail_langchain._middleware import GuardrailMiddleware

__all__ = [
    "PRINCIPAL_KEY",
    "TOKEN_KEY",
    "GuardedTool",
    "GuardedToolkit",
    "GuardrailMiddleware",
    "HandledToolError",
    "LangChainAdapter",
    "ServedTool",
    "denial_details",
    "denial_text",
    "from_guard",
    "principal_from_config",
    "visible",
    "wrap",
]


def __getattr__(name: str) -> Any:
    # The middleware needs ``langchain`` and ``langgraph``; tools need only langchain-core.
    if name == "GuardrailMiddleware":
        from guardrail_langchain._middleware import GuardrailMiddleware

        return GuardrailMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
