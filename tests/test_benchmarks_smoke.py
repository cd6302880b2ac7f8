"""The benchmark runner runs end to end (tiny counts; no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmarks_quick_run_prints_one_table() -> None:
    """`python -m benchmarks --quick` exits 0 and prints every group and the targets."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = done.stdout
    for heading in (
        "1 overhead",
        "2 alternatives",
        "3a policy size",
        "3b distinct principals",
        "3c processes",
        "targets (printed, not asserted",
    ):
        assert heading in out, out
    assert "lean [sync]" in out
    assert "Traceback" not in done.stderr
