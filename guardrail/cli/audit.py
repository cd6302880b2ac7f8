"""``guardrail audit verify|show|stats``: check and read hash-chained audit logs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

from guardrail.audit.event import DecisionKind
from guardrail.audit.fleet import chains, verify_each
from guardrail.audit.stats import summarize
from guardrail.audit.verify import VerifyReport, verify
from guardrail.cli import _args, audit_ops
from guardrail.cli._errors import printable
from guardrail.errors import ConfigurationError

MAX_BREAKS_SHOWN = 200
EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_RECOVERED = 3
"""``audit verify``: the chain holds, but the writer set a torn tail aside (see --strict)."""
DECISIONS = get_args(DecisionKind)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="verify and read audit logs")
    commands = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    _add_verify(commands)
    _add_show(commands)
    stats = commands.add_parser(
        "stats", help="calls, denials by rule, spend by user/team/tool, approvals by tool"
    )
    stats.add_argument("files", nargs="+", metavar="FILE")
    stats.add_argument("--json", action="store_true", help="the figures as one JSON object")
    stats.set_defaults(func=run_stats)
    audit_ops.add_commands(commands)


def _add_verify(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "verify",
        help="check a hash-chained log (rotated files: all)",
        description="Exit status: 0 intact; 1 broken; 2 error; 3 intact, but the writer set "
        "a torn last line aside (a recovery record; 1 with --strict).",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    key = check.add_mutually_exclusive_group()
    key.add_argument("--key", type=_args.key_text, help="HMAC key the log was written with")
    key.add_argument("--key-file", help="file holding the HMAC key (bytes, as is)")
    check.add_argument(
        "--pubkey",
        action="append",
        default=[],
        help="Ed25519 public key (PEM) of checkpoints",
    )
    check.add_argument(
        "--checkpoints",
        action="append",
        help="checkpoint file (default: FILE.checkpoints)",
    )
    check.add_argument(
        "--strict", action="store_true", help="a recovery record fails the check (exit 1)"
    )
    check.set_defaults(func=run_verify)


def _add_show(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser("show", help="list audit events as a table")
    show.add_argument("files", nargs="+", metavar="FILE")
    show.add_argument("--user", help="only this principal subject")
    show.add_argument("--tool", help="only this tool")
    show.add_argument("--decision", choices=DECISIONS, help="only this decision")
    show.add_argument(
        "--since", type=_args.since, help="ISO time (2026-11-25T10:00) or an age (30m, 2h, 1d)"
    )
    show.add_argument("--all", action="store_true", help="also intent records")
    show.set_defaults(func=run_show)


def run_verify(args: argparse.Namespace) -> int:
    _args.require_files(args.files)
    _args.require_files(args.pubkey, "--pubkey")
    _args.require_files(args.checkpoints or (), "--checkpoints")
    key: bytes | None = _args.read_key_file(args.key_file) if args.key_file else args.key
    options = {"key": key, "public_keys": args.pubkey, "checkpoints": args.checkpoints}
    groups = chains(args.files)
    if len(groups) <= 1:
        report = verify(args.files, **options)
        _print_breaks(report)
        print(printable(report.summary()))
        return verify_status([report], strict=args.strict)
    if args.checkpoints:
        raise ConfigurationError(
            "--checkpoints with several chains: keep each chain's FILE.checkpoints beside it"
        )
    # Many processes or hosts, one chain each: the breaks, then one line per chain.
    reports = []
    for group, report in verify_each(args.files, **options):
        _print_breaks(report)
        print(printable(f"{', '.join(str(p) for p in group)}: {report.summary()}"))
        reports.append(report)
    failed = sum(not report.ok for report in reports)
    print(f"{len(groups)} chains: {len(groups) - failed} OK, {failed} FAILED")
    return verify_status(reports, strict=args.strict)


def verify_status(reports: Sequence[VerifyReport], *, strict: bool = False) -> int:
    """0 intact, 1 broken (or recovered, with ``strict``), 3 intact with recovery records."""
    if not all(report.ok for report in reports):
        return EXIT_BROKEN
    if any(report.recoveries for report in reports):
        return EXIT_BROKEN if strict else EXIT_RECOVERED
    return EXIT_OK


def _print_breaks(report: VerifyReport) -> None:
    """The breaks, then the recovery warnings, each one escaped line."""
    for problem in report.breaks[:MAX_BREAKS_SHOWN]:
        print(printable(str(problem)))
    if len(report.breaks) > MAX_BREAKS_SHOWN:
        print(f"... and {len(report.breaks) - MAX_BREAKS_SHOWN} more")
    for recovery in report.recoveries[:MAX_BREAKS_SHOWN]:
        print(printable(str(recovery)))


def read_events(files: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Audit events from chain logs (or plain one-event-per-line JSONL), unverified.

    A line that is no audit record is an error, not a row quietly left out (a wrong
    file, or a log someone edited, would otherwise read as "no calls"); only a torn
    last line (no newline: a write cut short) and blank lines are passed over.
    """
    for name in files:
        with open(name, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                torn = number > 1 and not raw.endswith(b"\n") and not handle.peek(1)
                if torn or not raw.strip():
                    continue
                obj = _record(raw)
                if obj is None:
                    raise ConfigurationError(f"{name}:{number}: not an audit record")
                if "kind" not in obj:
                    yield obj
                elif obj["kind"] == "event" and isinstance(obj["data"], dict):
                    yield {**obj["data"], "_seq": obj.get("seq")}


def _record(raw: bytes) -> dict[str, Any] | None:
    """A chain record (``kind`` and ``data``) or a plain event (``event_id``), else None."""
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    if ("kind" in obj and "data" in obj) or ("event_id" in obj and "kind" not in obj):
        return obj
    return None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: an ISO time or an age; ``argparse.ArgumentTypeError`` otherwise."""
    return _args.since(text, now)


def _when(event: dict[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_show(args: argparse.Namespace) -> int:
    _args.require_files(args.files)
    since: datetime | None = args.since
    columns = ("seq", "time", "phase", "tool", "user", "decision", "rule", "outcome", "cost", "ms")
    rows: list[tuple[str, ...]] = []
    for event in read_events(args.files):
        if not args.all and event.get("phase") == "intent":
            continue
        if args.user and event.get("subject") != args.user:
            continue
        if args.tool and event.get("tool") != args.tool:
            continue
        if args.decision and event.get("decision") != args.decision:
            continue
        when = _when(event)
        if since and (when is None or when < since):
            continue
        rows.append(_row(event, when))
    _table(columns, rows)
    return 0


def _row(event: dict[str, Any], when: datetime | None) -> tuple[str, ...]:
    """One table row; every field escaped, so a logged value cannot forge rows."""
    cells = (
        str(event.get("_seq") or ""),
        when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
        str(event.get("phase") or ""),
        str(event.get("tool") or ""),
        str(event.get("subject") or "-"),
        str(event.get("decision") or ""),
        str(event.get("rule") or event.get("limit") or ""),
        str(event.get("outcome") or ""),
        _number(event.get("cost_settled", event.get("cost_reserved")), "g"),
        _number(event.get("duration_ms"), ".1f"),
    )
    return tuple(printable(cell) for cell in cells)


def _number(value: object, spec: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, spec)
    return str(value)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    line = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    print(line.rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} event(s))", file=sys.stderr)


def run_stats(args: argparse.Namespace) -> int:
    _args.require_files(args.files)
    summary = summarize(read_events(args.files))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"calls: {summary['calls']}")
    for decision, count in summary["decisions"].items():
        print(f"  {printable(str(decision))}: {count}")
    _section("denials by rule", summary["denials"]["rule"])
    _section("tool errors", summary["errors"])
    for level in ("user", "team", "org", "tool"):
        _section(f"spend by {level}", summary["spend"][level])
    if summary["approvals"]:
        print("approvals by tool:")
    for tool, counts in summary["approvals"].items():
        print(f"  {printable(tool)}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    return 0


def _section(title: str, counts: dict[str, float]) -> None:
    if not counts:
        return
    print(f"{title}:")
    for name, value in counts.items():
        print(f"  {printable(str(name))}: {value:g}")
