"""``SQLiteApprovalStore``: the default, durable approval store (stdlib ``sqlite3``, WAL).

One file shared by every process on a host. Each change is one statement or one
``BEGIN IMMEDIATE`` transaction, so SQLite's write lock makes it atomic across
processes: of two processes consuming the same grant, exactly one gets it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from guardrail.approvals.model import FIELDS, ApprovalRequest, Status
from guardrail.approvals.store import ApprovalStore
from guardrail.errors import BackendError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, tool TEXT NOT NULL, subject TEXT NOT NULL,
    rule TEXT NOT NULL, approvers TEXT NOT NULL, args TEXT NOT NULL, reason TEXT NOT NULL,
    policy TEXT NOT NULL, ttl REAL NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
    status TEXT NOT NULL, decided_by TEXT, decided_at REAL, note TEXT,
    consumed_at REAL, consumed_by TEXT
);
CREATE INDEX IF NOT EXISTS approvals_digest ON approvals (digest, status);
"""
_COLUMNS = ", ".join(FIELDS)
_INSERT = f"INSERT INTO approvals ({_COLUMNS}) VALUES ({', '.join(':' + f for f in FIELDS)})"
_CONSUME = f"""
UPDATE approvals SET status = 'consumed', consumed_at = :now, consumed_by = :call
WHERE id = (
    SELECT id FROM approvals WHERE digest = :digest AND status = 'granted' AND expires > :now
    ORDER BY decided_at LIMIT 1
) AND status = 'granted'
RETURNING {_COLUMNS}
"""
_DECIDE = f"""
UPDATE approvals SET status = :status, decided_by = :approver, decided_at = :now,
    note = :note, expires = CASE WHEN :status = 'granted' THEN :now + ttl ELSE expires END
WHERE id = :id AND status = 'pending' AND expires > :now
RETURNING {_COLUMNS}
"""


class SQLiteApprovalStore(ApprovalStore):
    """Requests and grants in one SQLite file (``":memory:"``: this process only)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            # Autocommit (isolation_level=None): every statement is its own transaction
            # unless we BEGIN one; waits up to `timeout` for another writer's lock.
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise BackendError(f"cannot open the approval store {self.path}: {exc}") from exc

    def _run(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        try:
            with self._lock:
                return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise BackendError(f"approval store {self.path}: {exc}") from exc

    def request(self, request: ApprovalRequest, now: float) -> ApprovalRequest:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    found = self._db.execute(
                        f"SELECT {_COLUMNS} FROM approvals WHERE digest = ? "
                        "AND status = 'pending' AND expires > ? ORDER BY created LIMIT 1",
                        (request.digest, now),
                    ).fetchone()
                    if found is None:
                        row = request.to_row()
                        marks = ", ".join(f":{name}" for name in FIELDS)
                        self._db.execute(
                            f"INSERT INTO approvals ({_COLUMNS}) VALUES ({marks})", row
                        )
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise BackendError(f"approval store {self.path}: {exc}") from exc
        return request if found is None else _request(found)

    def get(self, request_id: str) -> ApprovalRequest | None:
        rows = self._run(f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (request_id,))
        return _request(rows[0]) if rows else None

    def list(self, status: Status | None = None) -> list[ApprovalRequest]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        sql = f"SELECT {_COLUMNS} FROM approvals {where} ORDER BY created DESC, id"
        return [_request(row) for row in self._run(sql, params)]

    def decide(
        self, request_id: str, status: Status, approver: str, now: float, note: str | None = None
    ) -> ApprovalRequest | None:
        params = {"id": request_id, "status": status, "approver": approver, "now": now}
        rows = self._run(_DECIDE, {**params, "note": note})
        return _request(rows[0]) if rows else None

    def consume(self, digest: str, call_id: str, now: float) -> ApprovalRequest | None:
        rows = self._run(_CONSUME, {"digest": digest, "call": call_id, "now": now})
        return _request(rows[0]) if rows else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _request(row: sqlite3.Row) -> ApprovalRequest:
    return ApprovalRequest.from_row(dict(zip(row.keys(), tuple(row), strict=True)))
