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
