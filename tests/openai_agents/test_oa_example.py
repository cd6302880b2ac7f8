"""examples/openai_agents_agent.py runs offline and shows two users getting different outcomes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "openai_agents_agent.py"


def test_example_runs_offline() -> None:
    """Alice (support) is refused the 250 refund and the hidden account closure; Maria is not."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    alice, maria = done.stdout.split("=== maria ===")
    assert "tools shown to the model: ['lookup_order', 'refund']" in alice
    assert "call_1: order A-17" in alice
    assert "call_2: Tool call refused by guardrail" in alice
    assert "call_3: Tool call refused by guardrail: 'close_account' is not a tool" in alice
    assert "call_2: refunded 250.00 EUR on order A-17" in maria
    assert "call_3: account C-9 closed" in maria
    assert "alice  refund         call_2  refusal  denied    support-refunds" in maria
    assert "alice  close_account  call_3  refusal  denied" in maria
