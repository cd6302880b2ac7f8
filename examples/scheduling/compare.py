"""Granular tools vs one skill: the same scripted agents, the same requests, the outcomes.

    python -m examples.scheduling.compare            # the summary tables
    python -m examples.scheduling.compare --runs     # and every run's outcome

Every strategy in :mod:`examples.scheduling.agents` runs every request in
:mod:`examples.scheduling.scenarios` twice, each time against a fresh clinic
database: once handed the thirteen granular tools, once handed the one skill.
Outcomes are read from the database afterwards by the judge; calls and policy
refusals are counted from the guard's audit records.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from examples.scheduling.agents import STRATEGIES, Agent, Careful, ToolFailed
from examples.scheduling.scenarios import REQUESTS, Request, Verdict, judge
from examples.scheduling.skill import Mode, build_guard
from guardrail.testing import capture_audit, make_principal

SCHEDULER = make_principal("sam", roles=["scheduler"], org="clinic")
MODES: dict[Mode, str] = {"raw": "granular tools", "skill": "one skill"}


@dataclass(frozen=True)
class Run:
    mode: Mode
    strategy: str
    request: Request
    verdict: Verdict
    calls: int
    """Tool calls the agent made (steps run inside a skill are not the agent's calls)."""
    refusals: int
    steps: int
    """Tool calls made on the agent's behalf by a skill."""


def run_one(mode: Mode, strategy: Careful, request: Request) -> Run:
    clinic, desk = request.clinic()
    guard = build_guard(clinic, mode=mode)
    agent = Agent(guard, SCHEDULER)
    # An agent that gives up stops there; the judge sees what it left behind.
    with capture_audit(guard) as events, contextlib.suppress(ToolFailed):
        (strategy.raw if mode == "raw" else strategy.skill)(agent, request)
    if desk is not None:
        desk.finish(clinic)
    started = [e for e in events if e.phase in ("intent", "refusal")]
    return Run(
        mode=mode,
        strategy=strategy.name,
        request=request,
        verdict=judge(clinic, request),
        calls=sum(1 for e in started if e.parent_call_id is None),
        refusals=sum(1 for e in started if e.phase == "refusal"),
        steps=sum(1 for e in started if e.parent_call_id is not None),
    )


def run_all(
    strategies: Sequence[Careful] = STRATEGIES, requests: Sequence[Request] = REQUESTS
) -> list[Run]:
    return [
        run_one(mode, strategy, request)
        for mode in MODES
        for strategy in strategies
        for request in requests
    ]


def summary(runs: Sequence[Run]) -> list[str]:
    """One row per mode: the table in the README."""
    lines = [
        "| agents given | distinct outcomes per request | wrong outcomes | double bookings "
        "| policy refusals | tool calls per request |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for mode, label in MODES.items():
        mine = [r for r in runs if r.mode == mode]
        distinct = [
            len({r.verdict.outcome for r in mine if r.request == request})
            for request in dict.fromkeys(r.request for r in mine)
        ]
        lines.append(
            f"| {label} | {' / '.join(map(str, distinct))} "
            f"| {sum(r.verdict.wrong for r in mine)} of {len(mine)} "
            f"| {sum(r.verdict.double_bookings for r in mine)} "
            f"| {sum(r.refusals for r in mine)} "
            f"| {sum(r.calls for r in mine) / len(mine):.1f} |"
        )
    return lines


def outcomes(runs: Sequence[Run]) -> list[str]:
    """Per request, each distinct outcome and the strategies that reached it."""
    lines = []
    for request in dict.fromkeys(r.request for r in runs):
        lines.append(f"\n{request.label}")
        for mode, label in MODES.items():
            seen: dict[str, list[str]] = {}
            for r in runs:
                if r.request == request and r.mode == mode:
                    seen.setdefault(r.verdict.outcome, []).append(r.strategy)
            for outcome, who in seen.items():
                expected = next(r.verdict for r in runs if r.request == request).expected
                mark = "ok   " if outcome == expected else "WRONG"
                lines.append(f"  {label:15} {mark} {outcome:48} <- {', '.join(who)}")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", action="store_true", help="print every run's outcome too")
    args = parser.parse_args(argv)
    runs = run_all()
    strategies = len({r.strategy for r in runs})
    print(f"{strategies} scripted agents x {len(REQUESTS)} requests, on each kind of tool set:\n")
    print("\n".join(summary(runs)))
    print("\n".join(outcomes(runs)))
    if args.runs:
        print("\nrun by run:")
        for r in runs:
            problems = "; ".join(r.verdict.problems) or "-"
            print(f"  {r.mode:5} {r.strategy:24} {r.request.label:34} calls={r.calls:2} {problems}")


if __name__ == "__main__":
    main()
