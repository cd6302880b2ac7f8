"""The core imports without any agent framework."""

import subprocess
import sys


def test_import_guardrail_pulls_in_no_framework() -> None:
    """`import guardrail` never imports langchain, mcp or redis."""
    code = (
        "import guardrail, sys; "
        "bad = [m for m in ('langchain_core', 'mcp', 'mcp_types', 'redis') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
