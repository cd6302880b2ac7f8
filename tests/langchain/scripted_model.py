"""A chat model written against LangChain's ``BaseChatModel``: scripted replies, no network.

It answers the n-th model call of a run with ``replies[n]`` (n = AI messages so
far), and records the tools each ``bind_tools`` call was given (what the model
was shown), so a test can check what each user saw.
"""
# Imported by the tests (pytest puts this directory on sys.path).

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field


def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


class ScriptedChatModel(BaseChatModel):
    replies: list[AIMessage]
    bound: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    """One entry per ``bind_tools``: tool name -> its parameters schema as shown."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        shown = [convert_to_openai_tool(tool)["function"] for tool in tools]
        self.bound.append({fn["name"]: fn.get("parameters", {}) for fn in shown})
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = sum(isinstance(m, AIMessage) for m in messages)
        reply = self.replies[min(turn, len(self.replies) - 1)]
        return ChatResult(generations=[ChatGeneration(message=reply.model_copy())])
