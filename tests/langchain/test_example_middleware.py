"""examples/langchain_middleware.py runs offline: two users, allowed and refused calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "langchain_middleware.py"


def test_middleware_example_runs_offline() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True
    )
    alice, maria = done.stdout.split("=== maria ===")
    assert "tools shown to the model: lookup_order, refund (amount <= 100)\n" in alice
    assert "[success] lookup_order" in alice
    assert "[error] refund: Tool call refused by guardrail" in alice
    assert "[error] close_account: Tool call refused by guardrail" in alice
    assert "tools shown to the model: lookup_order, refund, close_account\n" in maria
    assert "[success] refund: refunded 250.00 EUR" in maria
    assert "[success] close_account" in maria
    assert "alice  refund         call_2  denied   support-refunds" in maria  # audit trail
    assert "maria  close_account  call_3  allowed  managers" in maria
