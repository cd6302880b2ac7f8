"""What the model reads when guardrail refuses an ADK tool call: ADK's ``{"error": ...}`` shape.

ADK answers a call it will not run (a tool it cannot find, a rejected
confirmation) with a response dict holding ``"error"``; the model reads it as
the tool's result and the run goes on. A refusal is answered the same way, with
the facts under ``"guardrail"`` for application code. The words are the ones
every adapter uses (:func:`guardrail.adapters.denial_text`).
"""

from __future__ import annotations

from typing import Any

from guardrail import GuardrailDenied
from guardrail.adapters import denial_details, denial_text

__all__ = ["denial", "denial_text"]


def denial(exc: GuardrailDenied) -> dict[str, Any]:
    """The refusal as an ADK tool response: ``{"error": text, "guardrail": facts}``."""
    return {"error": denial_text(exc), "guardrail": denial_details(exc)}
