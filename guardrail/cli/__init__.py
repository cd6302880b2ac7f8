"""The ``guardrail`` command. Each sub-command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from guardrail.errors import GuardrailError

# name -> module exposing ``add_parser(subparsers)``; each sets ``func`` on its parser.
COMMANDS = {
    "policy": "guardrail.cli.policy",
    "demo": "guardrail.cli.demo",
    "budgets": "guardrail.cli.budgets",
    "mcp": "guardrail.cli.mcp",
    "audit": "guardrail.cli.audit",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardrail", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except GuardrailError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return code
