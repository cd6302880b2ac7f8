"""The outcome of a policy evaluation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a call is allowed, which rule decided it and a reason a human can read.

    ``rule`` is ``None`` when nothing matched and the default (deny) decided.
    ``approval`` marks a call an ``approve`` rule holds until a human grants it
    (``allowed`` is false until then).
    """

    allowed: bool
    rule: str | None
    reason: str
    approval: bool = False

    def __bool__(self) -> bool:
        return self.allowed
