"""``guardrail budgets show``: current use and remaining budget of a principal."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pydantic import ValidationError

from guardrail.budgets.keeper import BudgetKeeper, Usage
from guardrail.budgets.ledger import ledger_from_uri
from guardrail.cli import _args
from guardrail.cli._errors import printable
from guardrail.errors import ConfigurationError
from guardrail.identity import Principal
from guardrail.policy.policy import Policy

_COLUMNS = ("LIMIT", "LEVEL", "KEY", "MEASURE", "USED", "MAX", "REMAINING", "RESETS (UTC)")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("budgets", help="inspect budgets and rate limits")
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", required=True)
    show = actions.add_parser("show", help="print a principal's use of every applicable limit")
    show.add_argument("--policy", required=True, help="policy file (YAML, TOML or JSON)")
    show.add_argument("--ledger", default="memory://", help="memory:// or redis://host:port/db")
    show.add_argument(
        "--principal",
        required=True,
        help='the principal as JSON, e.g. \'{"subject": "alice", "teams": ["payments"]}\'',
    )
    show.add_argument(
        "--tool", action="append", default=[], help="tool for per-tool limits (repeatable)"
    )
    show.add_argument("--session", default=None, help="session id for per-session limits")
    show.set_defaults(func=show_budgets)


def show_budgets(args: argparse.Namespace) -> int:
    _args.require_files([args.policy], "--policy")
    policy = Policy.from_file(args.policy)
    try:
        principal = Principal.model_validate_json(args.principal)
    except ValidationError as exc:
        raise ConfigurationError(f"--principal is not a valid principal: {exc}") from None
    ledger = ledger_from_uri(args.ledger)
    try:
        keeper = BudgetKeeper(policy.limits, ledger)
        rows = keeper.usage(principal, tools=args.tool, session=args.session)
    finally:
        ledger.close()
    print(format_table(rows))
    return 0


def format_table(rows: Sequence[Usage]) -> str:
    """A plain-text table, one line per limit and key."""
    if not rows:
        return "no limits apply"
    cells = [_COLUMNS] + [
        (
            printable(r.limit),
            printable(r.level),
            printable(r.key),
            r.measure,
            f"{r.used:g}",
            f"{r.maximum:g}",
            f"{r.remaining:g}",
            r.resets_at.strftime("%Y-%m-%d %H:%M:%S") if r.resets_at else "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
