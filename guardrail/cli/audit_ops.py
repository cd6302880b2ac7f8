"""``guardrail audit replay`` and ``guardrail audit report``: operating on recorded calls."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from guardrail.audit.replay import CHANGES, Replayed, ReplayReport, replay
from guardrail.cli._errors import say
from guardrail.policy.policy import Policy

MAX_LISTED = 200


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    shadow = commands.add_parser(
        "replay", help="decide every recorded call again under a candidate policy"
    )
    shadow.add_argument("files", nargs="+", metavar="FILE")
    shadow.add_argument("--policy", required=True, help="the candidate policy file")
    shadow.add_argument("--json", action="store_true", help="the whole result as one JSON object")
    shadow.add_argument(
        "--strict",
        action="store_true",
        help="also fail (exit 1) on rule changes and undecidable calls",
    )
    shadow.set_defaults(func=run_replay)

    report = commands.add_parser("report", help="a self-contained HTML usage report")
    report.add_argument("files", nargs="+", metavar="FILE")
    report.add_argument("-o", "--output", required=True, help="the HTML file to write")
    report.add_argument("--policy", help="the policy whose cost limits the spend is drawn against")
    report.add_argument("--title", default="guardrail usage report")
    report.set_defaults(func=run_report)


def run_replay(args: argparse.Namespace) -> int:
    from guardrail.cli.audit import read_events

    candidate = Policy.from_file(args.policy)
    result = replay(read_events(args.files), candidate)
    if args.json:
        print(json.dumps(_replay_json(result, args.policy, candidate), indent=2))
    else:
        _print_replay(result, args.policy, candidate)
    return _replay_status(result, strict=args.strict)


def _replay_status(result: ReplayReport, *, strict: bool) -> int:
    """1 when the candidate would decide some recorded call differently (a deploy gate)."""
    counts = result.counts()
    if counts["newly_denied"] or counts["newly_allowed"]:
        return 1
    if strict and (counts["rule_changed"] or counts["undecidable"]):
        return 1
    return 0


def _replay_json(result: ReplayReport, path: str, candidate: Policy) -> dict[str, object]:
    return {
        "policy": path,
        "digest": candidate.digest,
        "counts": result.counts(),
        "by_user": {k: dict(v) for k, v in sorted(result.by_user.items())},
        "by_tool": {k: dict(v) for k, v in sorted(result.by_tool.items())},
        "changes": [item.as_json() for item in result.changed],
        "undecidable": [item.as_json() for item in result.undecidable],
        "not_policy": [item.as_json() for item in result.not_policy],
    }


def _print_replay(result: ReplayReport, path: str, candidate: Policy) -> None:
    counts = result.counts()
    say(
        f"replayed {counts['calls']} call(s) under {path} (digest {candidate.digest[:16]}): "
        f"{counts['decided']} decided, {counts['undecidable']} undecidable, "
        f"{counts['not_policy']} not policy decisions"
    )
    print("  " + ", ".join(f"{kind.replace('_', ' ')}: {counts[kind]}" for kind in CHANGES))
    for title, table in (("per user", result.by_user), ("per tool", result.by_tool)):
        if table:
            print(f"{title}:")
        for name, changes in sorted(table.items()):
            line = ", ".join(f"{changes[k]} {k.replace('_', ' ')}" for k in CHANGES if changes[k])
            say(f"  {name}: {line}")
    _listed("changes", [_change_line(item) for item in result.changed])
    _listed(
        "undecidable",
        [f"seq {i.seq} {i.subject or '-'} {i.tool}: {i.why_not}" for i in result.undecidable],
    )


def _change_line(item: Replayed) -> str:
    return (
        f"seq {item.seq} {item.time} {item.subject or '-'} {item.tool}: "
        f"{item.before} -> {item.after}"
    )


def _listed(title: str, lines: list[str]) -> None:
    if not lines:
        return
    print(f"{title}:")
    for line in lines[:MAX_LISTED]:
        say(f"  {line}")
    if len(lines) > MAX_LISTED:
        print(f"  ... and {len(lines) - MAX_LISTED} more (--json lists all)")


def run_report(args: argparse.Namespace) -> int:
    from guardrail.audit.report import render
    from guardrail.audit.stats import summarize
    from guardrail.cli.audit import read_events

    limits = Policy.from_file(args.policy).limits if args.policy else ()
    summary = summarize(read_events(args.files), limits)
    Path(args.output).write_text(render(summary, title=args.title), encoding="utf-8")
    say(f"wrote {args.output} ({summary['calls']} calls)")
    return 0
