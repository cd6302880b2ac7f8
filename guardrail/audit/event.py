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
    """Unique per record (uuid4 hex)."""
    time: datetime
    phase: Phase
    """``intent`` (before the tool), ``outcome`` (after it), ``refusal`` or ``notice``."""
    call_id: str
    """guardrail's id of the call: an intent and its outcome share it."""
    tool: str
    tool_call_id: str | None = None
    """The model's / framework's tool call id, when the adapter passed one."""
    session: str | None = None
    subject: str | None = None
    """Who the call was made as (``None``: no principal). The token is never recorded."""
    org: str | None = None
    teams: tuple[str, ...] = ()
    issuer: str | None = None
    decision: DecisionKind
    """``allowed``, ``denied``, ``budget_exceeded``, ``error`` (the tool raised) or
    ``auth_failed`` (no or bad identity)."""
    rule: str | None = None
    reason: str | None = None
    limit: str | None = None
    """The limit id that decided (a budget refusal) or was charged."""
    level: str | None = None
    """What the limit counts per: user, team, org, tool, ..."""
    limit_key: str | None = None
    retry_after: float | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    """The call's arguments after redaction."""
    outcome: str | None = None
    """``"ok"`` or the error type; ``None`` on intent and refusal records."""
    duration_ms: float | None = None
    cost_reserved: float | None = None
    cost_settled: float | None = None
    remaining: dict[str, float] = Field(default_factory=dict)
    """Budget left after the call, by limit id."""
    trace_id: str | None = None
    """OpenTelemetry ids (hex) of the call's ``execute_tool`` span, when recorded."""
    span_id: str | None = None
    policy: str | None = None
    """Digest of the policy that decided the call."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Extra facts for notices (e.g. old and new hashes of a changed MCP tool)."""
