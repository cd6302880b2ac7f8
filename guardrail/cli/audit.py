"""``guardrail audit verify|show|stats``: check and read hash-chained audit logs."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from guardrail.audit.fleet import chains, verify_each
from guardrail.audit.stats import summarize
from guardrail.audit.verify import VerifyReport, verify
from guardrail.cli import audit_ops
from guardrail.errors import ConfigurationError

MAX_BREAKS_SHOWN = 200
_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_AGO_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="verify and read audit logs")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    check = commands.add_parser("verify", help="check a hash-chained log (rotated files: all)")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--key", help="HMAC key the log was written with")
    check.add_argument("--key-file", help="file holding the HMAC key (bytes, as is)")
    check.add_argument(
        "--pubkey", action="append", default=[], help="Ed25519 public key (PEM) of checkpoints"
    )
    check.add_argument(
        "--checkpoints", action="append", help="checkpoint file (default: FILE.checkpoints)"
    )
    check.set_defaults(func=run_verify)

    show = commands.add_parser("show", help="list audit events as a table")
    show.add_argument("files", nargs="+", metavar="FILE")
    show.add_argument("--user", help="only this principal subject")
    show.add_argument("--tool", help="only this tool")
    show.add_argument("--decision", help="allowed, denied, budget_exceeded, error or auth_failed")
    show.add_argument("--since", help="ISO time (2026-11-25T10:00) or an age (30m, 2h, 1d)")
    show.add_argument("--all", action="store_true", help="also intent records")
    show.set_defaults(func=run_show)

    stats = commands.add_parser("stats", help="calls, denials by rule, spend by user/team/tool")
    stats.add_argument("files", nargs="+", metavar="FILE")
    stats.add_argument("--json", action="store_true", help="the figures as one JSON object")
    stats.set_defaults(func=run_stats)

    audit_ops.add_commands(commands)


def run_verify(args: argparse.Namespace) -> int:
    key: bytes | None = args.key.encode() if args.key else None
    if args.key_file:
        key = Path(args.key_file).read_bytes()
    options = {"key": key, "public_keys": args.pubkey, "checkpoints": args.checkpoints}
    groups = chains(args.files)
    if len(groups) <= 1:
        report = verify(args.files, **options)
        _print_breaks(report)
        print(report.summary())
        return 0 if report.ok else 1
    if args.checkpoints:
        raise ConfigurationError(
            "--checkpoints with several chains: keep each chain's FILE.checkpoints beside it"
        )
    # Many processes or hosts, one chain each: the breaks, then one line per chain.
    failed = 0
    for group, report in verify_each(args.files, **options):
        _print_breaks(report)
        print(f"{', '.join(str(p) for p in group)}: {report.summary()}")
        failed += not report.ok
    print(f"{len(groups)} chains: {len(groups) - failed} OK, {failed} FAILED")
    return 1 if failed else 0


def _print_breaks(report: VerifyReport) -> None:
    for problem in report.breaks[:MAX_BREAKS_SHOWN]:
        print(problem)
    if len(report.breaks) > MAX_BREAKS_SHOWN:
        print(f"... and {len(report.breaks) - MAX_BREAKS_SHOWN} more")


def read_events(files: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Audit events from chain logs (or plain one-event-per-line JSONL), unverified."""
    for name in files:
        with open(name, "rb") as handle:
            for raw in handle:
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(obj, dict):
                    continue
                if "kind" in obj and "data" in obj:
                    if obj["kind"] == "event" and isinstance(obj["data"], dict):
                        yield {**obj["data"], "_seq": obj.get("seq")}
                elif "event_id" in obj:
                    yield obj


def parse_since(text: str, now: datetime | None = None) -> datetime:
    match = _AGO.match(text.strip())
    now = now or datetime.now(UTC)
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _AGO_UNITS[match.group(2)])
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _when(event: dict[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_show(args: argparse.Namespace) -> int:
    since = parse_since(args.since) if args.since else None
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
    cost = event.get("cost_settled", event.get("cost_reserved"))
    duration = event.get("duration_ms")
    return (
        str(event.get("_seq") or ""),
        when.strftime("%Y-%m-%d %H:%M:%S") if when else "",
        str(event.get("phase") or ""),
        str(event.get("tool") or ""),
        str(event.get("subject") or "-"),
        str(event.get("decision") or ""),
        str(event.get("rule") or event.get("limit") or ""),
        str(event.get("outcome") or ""),
        "" if cost is None else f"{cost:g}",
        "" if duration is None else f"{duration:.1f}",
    )


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    line = "  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
    print(line.rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"({len(rows)} event(s))", file=sys.stderr)


def run_stats(args: argparse.Namespace) -> int:
    summary = summarize(read_events(args.files))
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"calls: {summary['calls']}")
    for decision, count in summary["decisions"].items():
        print(f"  {decision}: {count}")
    _section("denials by rule", summary["denials"]["rule"])
    _section("tool errors", summary["errors"])
    for level in ("user", "team", "org", "tool"):
        _section(f"spend by {level}", summary["spend"][level])
    return 0


def _section(title: str, counts: dict[str, float]) -> None:
    if not counts:
        return
    print(f"{title}:")
    for name, value in counts.items():
        print(f"  {name}: {value:g}")
