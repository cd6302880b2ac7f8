"""What the model reads when guardrail refuses a CrewAI tool call: the observation text.

CrewAI hands a tool's result (or its error message) back to the model as the
next ``Observation:``; the agent loop goes on. A refusal is that text, in the
words every adapter uses (:func:`guardrail.adapters.denial_text`).
"""

from guardrail.adapters import denial_text

__all__ = ["denial_text"]
