"""The README's "Operating guardrail" commands are real commands with real options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from guardrail.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def test_operating_commands_parse() -> None:
    """Every `guardrail ...` line of the section parses with the command's own parser."""
    section = README.read_text().split("## Operating guardrail", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```sh\n(.*?)```", section, flags=re.S)[0]
    commands = [line.split("#", 1)[0] for line in block.splitlines()]
    commands = [c for c in commands if c.startswith("guardrail ")]
    assert len(commands) >= 5
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert callable(args.func), command
