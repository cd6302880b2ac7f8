"""examples/crewai_agent.py runs offline, and guardrail never imports crewai by itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "crewai_agent.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CREWAI_DISABLE_TELEMETRY": "true", "CREWAI_TESTING": "true"}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=180, env=env
    )


def test_the_crewai_example_shows_both_users_outcomes() -> None:
    result = _run(str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    alice, maria = result.stdout.split("=== maria ===")
    assert "tool : Tool call refused by guardrail" in alice
    assert "rule 'support-refunds' allows 'refund' only when" in alice
    assert "tool : refunded 250.00 EUR on order A-17" in maria
    assert "alice  refund         refusal  denied" in result.stdout
    assert "maria  refund         outcome  allowed" in result.stdout


def test_wrapping_other_tools_never_imports_crewai() -> None:
    """crewai's import patches warnings.warn and may phone home: only the app imports it."""
    code = (
        "import sys, guardrail_crewai\n"
        "from guardrail import Guard, Policy\n"
        "from guardrail.adapters import registry\n"
        "from langchain_core.tools import tool\n"
        "@tool\n"
        "def ping(x: str) -> str:\n"
        "    'Ping.'\n"
        "    return x\n"
        "guard = Guard(Policy.model_validate({'rules': [{'id': 'r', 'allow': ['*']}]}))\n"
        "guard.wrap([ping])\n"
        "assert 'crewai' in [a.name for a in registry.adapters()]\n"
        "print(sorted(m for m in sys.modules if m == 'crewai' or m.startswith('crewai.')))\n"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
