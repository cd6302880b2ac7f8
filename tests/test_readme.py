"""The README's policy snippets are valid policies."""

from __future__ import annotations

import re
from pathlib import Path

from guardrail import Policy

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_yaml_block_in_the_readme_loads_as_a_policy() -> None:
    """Each ```yaml block parses and validates (rules and limits as documented)."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        policy = Policy.from_yaml(block, source="README.md")
        assert policy.rules or policy.limits
