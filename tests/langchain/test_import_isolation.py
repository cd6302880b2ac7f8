"""The core never imports LangChain; the adapter is found only through its entry point."""

from __future__ import annotations

import subprocess
import sys


def test_import_guardrail_does_not_import_langchain() -> None:
    """`import guardrail` (and the schema and adapter registry) leave langchain_core unloaded."""
    code = (
        "import guardrail, guardrail.schema, guardrail.adapters, sys; "
        "guardrail.Guard(guardrail.Policy()); "
        "assert 'langchain_core' not in sys.modules, 'langchain_core imported'; "
        "assert 'guardrail_langchain' not in sys.modules, 'adapter imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_installed_entry_point_is_the_langchain_adapter() -> None:
    """The distribution registers `langchain` under guardrail.adapters."""
    from importlib.metadata import entry_points

    from guardrail_langchain import LangChainAdapter

    (ep,) = [ep for ep in entry_points(group="guardrail.adapters") if ep.name == "langchain"]
    assert ep.load() is LangChainAdapter
