"""The MCP examples run offline and show what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_mcp_client_example_runs() -> None:
    """examples/mcp_client.py starts the server, calls it as two users and sees 401s."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "mcp_client.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "alice (support) sees: lookup_customer, refund" in out
    assert "bob (customer) sees: lookup_customer" in out
    assert out.count("DENIED") == 3 and "refunded 40.00 on A-17 for alice" in out
    assert "expired token        -> HTTP 401" in out
    assert "wrong-audience token -> HTTP 401" in out


def test_downstream_mcp_example_runs() -> None:
    """examples/downstream_mcp.py: alice's call reaches the CRM as alice; bob is told why not."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "downstream_mcp.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "alice  -> c-42: good standing (read as alice, acted for by agent)" in out
    assert "bob    -> REFUSED: consent needed: bob has not granted scope(s) crm.read" in out
    assert "outcome  crm/lookup_customer  bob    denied" in out
    assert 'outcome  lookup_customer      alice  allowed  act={"sub": "agent"}' in out
    assert "lookup_customer      bob" not in out  # bob's call never reached the CRM
