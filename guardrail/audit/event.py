"""``AuditEvent``: one record of a call's intent, outcome or refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DecisionKind = Literal["allowed", "denied", "budget_exceeded", "error", "auth_failed"]
Phase = Literal["intent", "outcome", "refusal", "notice"]


class AuditEvent(BaseModel):
    """Who did what, as whom, under which rule, and what it cost. Never the token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    time: datetime
    phase: Phase
    call_id: str
    tool: str
    tool_call_id: str | None = None
    session: str | None = None
    subject: str | None = None
    org: str | None = None
    teams: tuple[str, ...] = ()
    issuer: str | None = None
    decision: DecisionKind
    rule: str | None = None
    reason: str | None = None
    limit: str | None = None
    level: str | None = None
    limit_key: str | None = None
    retry_after: float | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    outcome: str | None = None
    """``"ok"`` or the error type; ``None`` on intent and refusal records."""
    duration_ms: float | None = None
    cost_reserved: float | None = None
    cost_settled: float | None = None
    remaining: dict[str, float] = Field(default_factory=dict)
    trace_id: str | None = None
    span_id: str | None = None
    policy: str | None = None
    """Digest of the policy that decided the call."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Extra facts for notices (e.g. old and new hashes of a changed MCP tool)."""
