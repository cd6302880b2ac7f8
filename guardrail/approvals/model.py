"""``ApprovalRequest``: one call waiting for, granted or denied a human approval."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Status = Literal["pending", "granted", "denied", "consumed"]
STATUSES: tuple[Status, ...] = ("pending", "granted", "denied", "consumed")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequest:
    """A request as the store keeps it; ``digest`` is the exact call it is for."""

    id: str
    digest: str
    """SHA-256 of the canonical call (:func:`guardrail.approvals.call_digest`)."""
    tool: str
    subject: str
    """Who asked (the call's principal); they can never approve it themselves."""
    rule: str
    """The ``approve`` rule that required the approval."""
    approvers: dict[str, Any]
    """The rule's ``approvers`` condition when the request was made."""
    args: dict[str, Any] = field(default_factory=dict)
    """The call's arguments, redacted, for the approver to read."""
    reason: str = ""
    policy: str = ""
    """Digest of the policy that asked for the approval."""
    ttl: float = 3600.0
    created: float = 0.0
    expires: float = 0.0
    """Until when a pending request can be decided, then until when a grant can be used."""
    status: Status = "pending"
    decided_by: str | None = None
    decided_at: float | None = None
    note: str | None = None
    consumed_at: float | None = None
    consumed_by: str | None = None
    """The ``call_id`` of the call that used the grant."""

    def expired(self, now: float) -> bool:
        return self.expires <= now

    def state(self, now: float) -> str:
        """``status``, or ``expired`` for a pending request or grant past its time."""
        if self.status in ("pending", "granted") and self.expired(now):
            return "expired"
        return self.status

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["approvers"] = json.dumps(self.approvers, sort_keys=True)
        row["args"] = json.dumps(self.args, sort_keys=True, default=str)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ApprovalRequest:
        values = dict(row)
        values["approvers"] = json.loads(values["approvers"])
        values["args"] = json.loads(values["args"])
        for name in ("ttl", "created", "expires"):
            values[name] = float(values[name])
        for name in ("decided_at", "consumed_at"):
            values[name] = None if values.get(name) in (None, "") else float(values[name])
        for name in ("decided_by", "note", "consumed_by"):
            values[name] = values.get(name) or None
        return cls(**values)

    def evolve(self, **changes: Any) -> ApprovalRequest:
        return replace(self, **changes)


FIELDS = tuple(ApprovalRequest.__dataclass_fields__)
