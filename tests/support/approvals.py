"""Approval test helpers: the policy, a chain-log reader, guards on a store, and the
refund tool every process of the race test defines identically (same approval digest).

Import it as ``support.approvals``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from guardrail import ApprovalRequired, ChainLog, Guard, JWTAuthenticator, Policy
from guardrail.approvals import ApprovalStore, SQLiteApprovalStore
from guardrail.approvals.redis import RedisApprovalStore

ISSUER = "https://idp.test/"
AUDIENCE = "refund-agent"

POLICY: dict[str, Any] = {
    "rules": [
        {
            "id": "refund-small",
            "allow": "refund",
            "when": {"roles": ["agent"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "refund-large",
            "approve": "refund",
            "when": {"roles": ["agent"]},
            "args": {"amount": {"min": 100}},
            "approvers": {"roles": ["finance-lead"]},
            "ttl": "1h",
        },
    ]
}


class Clock:
    """Epoch seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def open_store(uri: str) -> ApprovalStore:
    return RedisApprovalStore(uri) if uri.startswith("redis://") else SQLiteApprovalStore(uri)


class Records:
    """The chain log's records, parsed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [line["data"] for line in lines if line["kind"] == "event"]

    def approvals(self) -> list[tuple[str, str | None, str | None]]:
        """(event, approver, digest) of every approval notice, in order."""
        return [
            (r["detail"]["event"], r["detail"].get("approver"), r["detail"].get("digest"))
            for r in self.all()
            if r.get("phase") == "notice"
            and str(r["detail"].get("event", "")).startswith("approval.")
        ]

    def calls(self) -> list[tuple[str, str]]:
        """(phase, decision) of every call record, in order."""
        return [(r["phase"], r["decision"]) for r in self.all() if r.get("phase") != "notice"]


def make_guard(
    store: ApprovalStore | str,
    authenticator: JWTAuthenticator,
    chain: Path,
    policy: dict[str, Any] = POLICY,
) -> Guard:
    return Guard(
        Policy.from_dict(policy),
        authenticator=authenticator,
        audit=[ChainLog(chain)],
        approvals=store,
    )


def register(guard: Guard, ledger: Path) -> object:
    @guard.tool
    def refund(order: str, amount: float) -> str:
        """Refund an order."""
        with ledger.open("a") as out:  # one line per refund that really ran
            out.write(f"{order} {amount}\n")
        return "refunded"

    return refund


def race(
    store: str, policy: str, jwks_url: str, token: str, ledger: str, audit: str, start_at: str
) -> None:
    """One racing process: wait for the start time, then make the approved call."""
    guard = Guard(
        Policy.from_file(policy),
        authenticator=JWTAuthenticator(ISSUER, AUDIENCE, jwks_url=jwks_url),
        audit=[ChainLog(audit)],
        approvals=store,
    )
    refund = register(guard, Path(ledger))
    with guard.acting_as(token):
        while time.time() < float(start_at):  # start together, to race for real
            pass
        try:
            refund("A-1", 500.0)  # type: ignore[operator]
            print("ran")
        except ApprovalRequired as held:
            print(f"held {held.request_id}")
