"""``AuditEvent``: one record of a call's intent, outcome or refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DecisionKind = Literal[
    "allowed", "denied", "budget_exceeded", "error", "auth_failed", "approval_required"
]
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
    parent_call_id: str | None = None
    """The ``call_id`` of the guarded call (a skill) whose body made this call, if any."""
    skill: str | None = None
    """The skill this call is a step of: the nearest enclosing ``@guard.skill``, if any."""
    subject: str | None = None
    """Who the call was made as (``None``: no principal). The token is never recorded."""
    org: str | None = None
    teams: tuple[str, ...] = ()
    issuer: str | None = None
    roles: tuple[str, ...] = ()
    """The principal's roles, scopes and (redacted) attributes: what its policy read,
    so a recorded call can be decided again (``guardrail audit replay``)."""
    scopes: tuple[str, ...] = ()
    attributes: dict[str, Any] = Field(default_factory=dict)
    decision: DecisionKind
    """``allowed``, ``denied``, ``budget_exceeded``, ``error`` (the tool raised) or
    ``auth_failed`` (no or bad identity) or ``approval_required`` (waiting for a human)."""
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
    delegations: list[dict[str, Any]] | None = None
    """Downstream tokens the tool used, one each: subject, actor, audience, scopes and
    ``token_id_sha256`` (a hash of the token's id). Never the token."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Extra facts for notices (e.g. old and new hashes of a changed MCP tool)."""


_FIELD_DEFAULTS: dict[str, Any] = {
    name: None if info.is_required() else info.get_default(call_default_factory=True)
    for name, info in AuditEvent.model_fields.items()
}
"""Every field in order (so ``repr`` keeps it); the required ones must be given."""


class _PlainFields(set[str]):
    """The ``model_fields_set`` of a :func:`build_event` event: a set that marks it.

    Its copies are plain sets, so ``model_copy(update=...)`` (whose values nobody
    vouched for) does not pass the mark on.
    """

    __slots__ = ()

    def __copy__(self) -> set[str]:
        return set(self)

    def __deepcopy__(self, memo: Any) -> set[str]:
        return set(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (set, (list(self),))


_new = object.__new__
_set = object.__setattr__


def build_event(fields: dict[str, Any]) -> AuditEvent:
    """An ``AuditEvent`` from values guardrail made itself, without validating them.

    About 1 us instead of 5 (``model_construct`` takes longer than validating).
    The caller vouches that ``fields`` are well typed, as validation would leave them
    (``teams`` a tuple, floats as floats, ``time`` aware), and that ``args``,
    ``detail`` and ``remaining`` hold only JSON values under ``str`` keys, so that
    :func:`is_plain` events can be serialized without pydantic. ``fields`` is
    consumed: its dicts become the event's.
    """
    values = _FIELD_DEFAULTS.copy()
    values["args"] = {}
    values["remaining"] = {}
    values["detail"] = {}
    values["attributes"] = {}
    values.update(fields)
    event: AuditEvent = _new(AuditEvent)
    _set(event, "__dict__", values)
    _set(event, "__pydantic_fields_set__", _PlainFields(fields))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


def is_plain(event: AuditEvent) -> bool:
    """Whether ``event`` came from :func:`build_event` (its values are plain JSON)."""
    return type(event.__pydantic_fields_set__) is _PlainFields
