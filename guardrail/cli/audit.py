"""``guardrail audit verify|show|stats``: check and read hash-chained audit logs."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

from guardrail.audit.event import DecisionKind
from guardrail.audit.verify import VerifyReport, verify
from guardrail.cli import _args
from guardrail.cli._errors import printable

MAX_BREAKS_SHOWN = 200
EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_RECOVERED = 3
"""``audit verify``: the chain holds, but the writer set a torn tail aside (see --strict)."""
DECISIONS = get_args(DecisionKind)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("audit", help="verify and read audit logs")
    commands = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "verify",
        help="check a hash-chained log (rotated files: all)",
        description="Exit status: 0 intact; 1 broken; 2 error; 3 intact, but the writer set "
        "a torn last line aside (a recovery record; 1 with --strict).",
    )
    check.add_argument("files", nargs="+", metavar="FILE", type=_args.readable_file)
    key = check.add_mutually_exclusive_group()
    key.add_argument("--key", type=_args.key_text, help="HMAC key the log was written with")
    key.add_argument(
        "--key-file", type=_args.key_file, help="file holding the HMAC key (bytes, as is)"
    )
    check.add_argument(
        "--pubkey",
        action="append",
        default=[],
        type=_args.readable_file,
        help="Ed25519 public key (PEM) of checkpoints",
    )
    check.add_argument(
        "--checkpoints",
        action="append",
        type=_args.readable_file,
        help="checkpoint file (default: FILE.checkpoints)",
    )
    check.add_argument(
        "--strict", action="store_true", help="a recovery record fails the check (exit 1)"
    )
    check.set_defaults(func=run_verify)

    show = commands.add_parser("show", help="list audit events as a table")
    show.add_argument("files", nargs="+", metavar="FILE", type=_args.readable_file)
    show.add_argument("--user", help="only this principal subject")
    show.add_argument("--tool", help="only this tool")
    show.add_argument("--decision", choices=DECISIONS, help="only this decision")
    show.add_argument(
        "--since", type=_args.since, help="ISO time (2026-11-25T10:00) or an age (30m, 2h, 1d)"
    )
    show.add_argument("--all", action="store_true", help="also intent records")
    show.set_defaults(func=run_show)

    stats = commands.add_parser("stats", help="calls, denials by rule, spend by user/team/tool")
    stats.add_argument("files", nargs="+", metavar="FILE", type=_args.readable_file)
    stats.set_defaults(func=run_stats)


def run_verify(args: argparse.Namespace) -> int:
    key: bytes | None = args.key_file or args.key
    report = verify(args.files, key=key, public_keys=args.pubkey, checkpoints=args.checkpoints)
    for problem in report.breaks[:MAX_BREAKS_SHOWN]:
        print(printable(str(problem)))
    if len(report.breaks) > MAX_BREAKS_SHOWN:
        print(f"... and {len(report.breaks) - MAX_BREAKS_SHOWN} more")
    for recovery in report.recoveries[:MAX_BREAKS_SHOWN]:
        print(printable(str(recovery)))
    print(printable(report.summary()))
    return verify_status(report, strict=args.strict)


def verify_status(report: VerifyReport, *, strict: bool = False) -> int:
    """0 intact, 1 broken (or recovered, with ``strict``), 3 intact with recovery records."""
    if not report.ok:
        return EXIT_BROKEN
    if report.recoveries:
        return EXIT_BROKEN if strict else EXIT_RECOVERED
    return EXIT_OK


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
    """``--since``: an ISO time or an age; ``argparse.ArgumentTypeError`` otherwise."""
    return _args.since(text, now)


def _when(event: dict[str, Any]) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(event.get("time")))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def run_show(args: argparse.Namespace) -> int:
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
    calls: set[str] = set()
    decisions: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    spend: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in read_events(args.files):
        phase = event.get("phase")
        if phase in ("intent", "refusal"):
            calls.add(str(event.get("call_id")))
        if phase == "refusal":
            decision = str(event.get("decision"))
            decisions[decision] += 1
            denials[
                f"{decision}: {event.get('rule') or event.get('limit') or '(default deny)'}"
            ] += 1
        elif phase == "outcome":
            outcome = str(event.get("outcome"))
            decisions["allowed" if outcome == "ok" else "error"] += 1
            if outcome != "ok":
                errors[f"{event.get('tool')}: {outcome}"] += 1
            cost = event.get("cost_settled")
            if isinstance(cost, int | float) and cost:
                spend["user"][str(event.get("subject") or "-")] += cost
                spend["tool"][str(event.get("tool"))] += cost
                teams = event.get("teams")
                for team in teams if isinstance(teams, list) and teams else ["(no team)"]:
                    spend["team"][str(team)] += cost
    print(f"calls: {len(calls)}")
    for decision, count in sorted(decisions.items()):
        print(f"  {printable(decision)}: {count}")
    _section("denials by rule", denials)
    _section("tool errors", errors)
    for level in ("user", "team", "tool"):
        _section(f"spend by {level}", Counter(spend[level]))
    return 0


def _section(title: str, counts: Counter[str]) -> None:
    if not counts:
        return
    print(f"{title}:")
    for name, value in counts.most_common():
        print(f"  {printable(name)}: {value:g}")
