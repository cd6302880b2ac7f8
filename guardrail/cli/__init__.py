"""The ``guardrail`` command. Each sub-command group lives in its own module.

Every error, whatever the sub-command, is one ``error: ...`` line on stderr and
exit status 2 (see :mod:`guardrail.cli._errors`); never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from guardrail.cli._errors import CommandParser, report_errors

# name -> module exposing ``add_parser(subparsers)``; each sets ``func`` on its parser.
COMMANDS = {
    "policy": "guardrail.cli.policy",
    "demo": "guardrail.cli.demo",
    "budgets": "guardrail.cli.budgets",
    "mcp": "guardrail.cli.mcp",
    "audit": "guardrail.cli.audit",
    "approvals": "guardrail.cli.approvals",
}


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="guardrail", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    def run() -> int:
        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        return code

    return report_errors(run)
