"""Adapters use only the core's public seam (issue 15): no private module, no engine."""

from __future__ import annotations

import ast
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parents[2] / "adapters"
ENGINE = {"guardrail.pipeline", "guardrail.call", "guardrail.tools"}
"""Public modules, but the engine's own parts: an adapter reaches them through
``guardrail.adapters`` (which re-exports what an adapter may use)."""


def _core_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.split(".")[0] == "guardrail"]


def _off_the_seam(module: str) -> bool:
    return module in ENGINE or any(part.startswith("_") for part in module.split("."))


def test_adapters_import_no_private_core_module_and_no_engine_part() -> None:
    sources = sorted(ADAPTERS.rglob("*.py"))
    assert len(sources) > 20  # the adapters are where this test looks
    offending = [
        f"{path.relative_to(ADAPTERS)}:{line}: {module}"
        for path in sources
        for line, module in _core_imports(path)
        if _off_the_seam(module)
    ]
    assert offending == []


def test_the_check_itself_flags_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from guardrail.cli._errors import say\nimport guardrail.pipeline\n")
    assert [m for _, m in _core_imports(sample) if _off_the_seam(m)] == [
        "guardrail.cli._errors",
        "guardrail.pipeline",
    ]
