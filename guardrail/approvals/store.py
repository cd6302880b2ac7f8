"""``ApprovalStore``: where requests and grants live, shared by every process that
uses them; and :func:`store_from_uri`.

Every state change is one atomic step in the store (an SQLite write transaction,
a Redis Lua script), so a grant is consumed once however many processes race
for it, and a request is decided once however many approvers click.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from guardrail.approvals.model import ApprovalRequest, Status
from guardrail.errors import ConfigurationError


class ApprovalStore(ABC):
    """The five operations every backend provides, each atomic."""

    @abstractmethod
    def request(self, request: ApprovalRequest, now: float) -> ApprovalRequest:
        """Store ``request``; or return the pending, unexpired one for the same digest."""

    @abstractmethod
    def get(self, request_id: str) -> ApprovalRequest | None: ...

    @abstractmethod
    def list(self, status: Status | None = None) -> list[ApprovalRequest]:
        """Requests, newest first (only those with ``status`` when given)."""

    @abstractmethod
    def decide(
        self, request_id: str, status: Status, approver: str, now: float, note: str | None = None
    ) -> ApprovalRequest | None:
        """Grant or deny a pending, unexpired request; ``None`` if it was not one.

        A grant's ``expires`` becomes ``now + ttl``.
        """

    @abstractmethod
    def consume(self, digest: str, call_id: str, now: float) -> ApprovalRequest | None:
        """Use one unexpired grant for ``digest``; ``None`` if there is none left."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store can no longer be used)."""


def store_from_uri(uri: str | Path) -> ApprovalStore:
    """``sqlite:///path/to.db`` (or a plain path), ``redis://host:port/db`` or ``memory://``."""
    text = str(uri)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from guardrail.approvals.redis import RedisApprovalStore

        return RedisApprovalStore(text)
    from guardrail.approvals.sqlite import SQLiteApprovalStore

    if text == "memory://":
        return SQLiteApprovalStore(":memory:")
    if text.startswith("sqlite:"):
        # SQLAlchemy's spelling: sqlite:///relative.db, sqlite:////absolute.db
        text = text.removeprefix("sqlite:///") if text.startswith("sqlite:///") else ""
    if not text or "://" in text:
        raise ConfigurationError(
            f"not an approval store: {str(uri)!r} (use a file path, sqlite:///path, "
            "redis://host:port/db or memory://)"
        )
    return SQLiteApprovalStore(text)
