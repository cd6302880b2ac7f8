"""The runnable examples run offline and show what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_prints_every_kind_of_outcome() -> None:
    """Two users, one policy: allowed, denied by role, by an argument, and a rejected token."""
    out = run_example("quickstart.py")
    for outcome in ("allowed", "denied by role", "denied by arg constraint", "rejected token"):
        assert outcome in out
    assert "carol (customer)   lookup_order carol   allowed" in out
