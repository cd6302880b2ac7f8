"""What a limit counts, per what key, over what time."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail.conditions import Condition

Level = Literal["user", "team", "org", "tool", "user+tool", "session", "global"]
Period = Literal["day", "month"]

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(.+)$")


def parse_duration(text: str | float) -> float:
    """Seconds in ``"30s"``, ``"1m"``, ``"2 hours"``, ``"minute"`` or a number."""
    if isinstance(text, int | float):
        return float(text)
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a duration: {text!r} (use e.g. '30s', '1m', '1h', '1d')")
    return float(match.group(1) or 1) * _UNITS[match.group(2)]


class Limit(BaseModel):
    """A budget or rate limit. Exactly one of ``calls``, ``cost`` or ``concurrent``.

    ``calls: "60/minute"`` is shorthand for ``calls: 60, window: "1m"``. A limit
    without ``window`` or ``period`` (and not ``concurrent``) never resets.
    """

    # NaN or infinity as a maximum or window would make a limit that never refuses.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    per: Level = "user"
    calls: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0)
    concurrent: int | None = Field(default=None, ge=0)
    window: float | None = Field(default=None, gt=0)
    """Sliding window length in seconds (accepts "30s", "1m", "1h")."""
    period: Period | None = None
    """Calendar period in UTC; resets at the start of the next day or month."""
    tools: tuple[str, ...] = Field(default=("*",), min_length=1)
    """Globs of the tools the limit counts (an empty list would count none: refused)."""
    when: Condition = Condition()
    refund_on_error: bool = True
    """Release the cost reservation when the tool raises or is cancelled (cost limits;
    a cost the tool reported with ``report_cost`` before failing is still charged)."""
    identical: bool = False
    """Count only calls of the same tool with identical arguments (runaway-loop
    detection): ``{per: session, calls: 3/minute, identical: true}`` denies the 4th
    identical call in a minute, with a reason the model can read."""

    @model_validator(mode="before")
    @classmethod
    def _rate_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("calls"), str):
            match = _RATE.match(data["calls"])
            if not match:
                raise ValueError(f"calls: expected a number or 'N/unit', got {data['calls']!r}")
            if data.get("window") is not None or data.get("period") is not None:
                raise ValueError("calls: 'N/unit' already sets the window")
            data = {**data, "calls": int(float(match.group(1))), "window": match.group(2)}
        return data

    @field_validator("window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @field_validator("tools", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_measure(self) -> Limit:
        measures = [m for m in ("calls", "cost", "concurrent") if getattr(self, m) is not None]
        if len(measures) != 1:
            raise ValueError("a limit needs exactly one of 'calls', 'cost' or 'concurrent'")
        if self.window is not None and self.period is not None:
            raise ValueError("a limit has either a 'window' or a 'period', not both")
        if self.concurrent is not None and (self.window or self.period):
            raise ValueError("a 'concurrent' limit counts calls in flight; it takes no window")
        if self.identical and self.calls is None:
            raise ValueError("'identical: true' counts repeated calls; it needs 'calls'")
        return self

    @property
    def measure(self) -> Literal["calls", "cost", "concurrent"]:
        if self.calls is not None:
            return "calls"
        return "cost" if self.cost is not None else "concurrent"

    @property
    def maximum(self) -> float:
        value = self.calls if self.calls is not None else self.cost
        return float(value if value is not None else self.concurrent or 0)
