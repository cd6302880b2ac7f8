"""The README's framework matrix: every row fills every column, every cited test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = 8  # framework + wrap, identity, denial, per-user list, async, streaming, audited


def _section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("\n## Frameworks\n", 1)[1].split("\n## ", 1)[0]


def _rows() -> list[list[str]]:
    lines = [line for line in _section().splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in line.strip().strip("|").split(" | ")] for line in lines]
    return cells[1:]  # after the header; the |---| line does not start with "| "


def test_every_row_fills_every_column() -> None:
    rows = _rows()
    assert len(rows) >= 4
    for row in rows:
        assert len(row) == COLUMNS, row[0]
        assert all(cell for cell in row), row[0]


def test_every_cited_test_exists() -> None:
    refs = re.findall(r"([\w/]+\.py)::(\w+)", _section())
    assert len(refs) >= 20
    for path, name in refs:
        source = (ROOT / "tests" / path).read_text()
        assert re.search(rf"^(async )?def {name}\(", source, flags=re.M), f"{path}::{name}"


def test_every_cited_example_exists() -> None:
    examples = re.findall(r"`(examples/[\w/]+\.py)`", _section())
    assert examples
    for example in examples:
        assert (ROOT / example).is_file(), example
