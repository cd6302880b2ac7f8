"""examples/adk_agent.py runs offline: two users, an allowed and a refused call each way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adk_agent.py"


def test_the_adk_example_shows_both_users_outcomes() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    alice, maria = result.stdout.split("=== maria ===")
    assert "tools shown to the model: ['lookup_order', 'refund']" in alice
    assert "refund: Tool call refused by guardrail" in alice
    assert "rule 'support-refunds' allows 'refund' only when" in alice
    assert "close_account: Tool call refused by guardrail" in alice
    assert "tool : refund: {'refunded': 250" in maria
    assert "tool : close_account: {'closed': 'C-9'}" in maria
    assert "alice  refund         call_2   refusal  denied" in result.stdout
    assert "maria  refund         call_2   outcome  allowed" in result.stdout
