"""examples/langchain_agent.py runs offline and shows two users getting different outcomes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "langchain_agent.py"


def test_example_runs_offline() -> None:
    """Alice (support) is refused the 250 refund and the account closure; Maria is not."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    )
    out = done.stdout
    alice, maria = out.split("=== maria ===")
    assert "[error] refund: Tool call refused by guardrail" in alice
    assert "[error] close_account" in alice
    assert "refund narrowed for alice: {'amount': {'maximum': 100}" in alice
    assert "[success] refund: refunded 250.00 EUR" in maria
    assert "[success] close_account" in maria
    assert "alice  refund         call_2       refusal  denied    support-refunds" in out
