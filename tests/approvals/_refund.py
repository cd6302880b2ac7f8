"""The refund tool as every process of the race test defines it (the same definition,
so the same approval digest), and the racer's entry point."""

from __future__ import annotations

import time
from pathlib import Path

from guardrail import ApprovalRequired, ChainLog, Guard, JWTAuthenticator, Policy


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
    from conftest import AUDIENCE, ISSUER

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
