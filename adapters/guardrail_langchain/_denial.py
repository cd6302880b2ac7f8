"""What the model reads when guardrail refuses a call (shared by every adapter)."""

from guardrail.adapters import denial_details, denial_text

__all__ = ["denial_details", "denial_text"]
