"""What the model reads when guardrail refuses a call (the words are shared by every adapter)."""

from __future__ import annotations

from langchain_core.messages import ToolMessage

from guardrail import GuardrailDenied
from guardrail.adapters import denial_details, denial_text

__all__ = ["denial_details", "denial_message", "denial_text"]


def denial_message(exc: GuardrailDenied, tool_call_id: str, name: str) -> ToolMessage:
    """The error ``ToolMessage`` a model reads for a refused call (the run goes on)."""
    return ToolMessage(
        content=denial_text(exc),
        tool_call_id=tool_call_id,
        name=name,
        status="error",
        artifact={"guardrail": denial_details(exc)},
    )
