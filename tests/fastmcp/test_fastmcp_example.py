"""examples/fastmcp_server.py runs offline on 127.0.0.1: two users, allowed and refused calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "fastmcp_server.py"


def test_fastmcp_example_runs_offline() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    alice, rest = done.stdout.split("=== bob ===")
    bob, audit = rest.split("Audit trail:")
    assert "shown: refund amount <= 100" in alice
    assert "[ok] refund: refunded 40.00 on A-1" in alice
    assert "[error] refund: alice may not call 'refund': rule 'support-refunds'" in alice
    assert "shown: lookup_customer customer_id in ['bob']" in bob and "refund" not in bob
    assert "[ok] lookup_customer: customer bob: gold tier (looked up by bob)" in bob
    assert "[error] lookup_customer: bob may not call" in bob
    assert [line.split() for line in audit.strip().splitlines()] == [
        ["alice", "refund", "allowed", "support-refunds"],
        ["alice", "refund", "denied", "support-refunds"],
        ["bob", "lookup_customer", "allowed", "own-record"],
        ["bob", "lookup_customer", "denied", "own-record"],
    ]
