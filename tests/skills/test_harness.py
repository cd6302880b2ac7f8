"""The comparison harness: granular tools give several outcomes, the skill gives one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.scheduling.agents import STRATEGIES
from examples.scheduling.compare import Run, run_all, run_one, summary
from examples.scheduling.scenarios import REQUESTS, Request

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    return run_all()


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: r.label)
def test_the_skill_reaches_the_same_right_outcome_for_every_strategy(request_: Request) -> None:
    """Whatever the agent's habits, the skill leaves the clinic in the one right state."""
    verdicts = [run_one("skill", strategy, request_).verdict for strategy in STRATEGIES]
    assert len({v.outcome for v in verdicts}) == 1, [v.outcome for v in verdicts]
    assert not verdicts[0].wrong, (verdicts[0].outcome, verdicts[0].expected)
    assert all(v.double_bookings == 0 and not v.problems for v in verdicts)


def test_granular_tools_reach_several_outcomes(runs: list[Run]) -> None:
    """The same agents on the raw tools disagree, and some get it wrong in each way."""
    raw = [r for r in runs if r.mode == "raw"]
    per_request = [len({r.verdict.outcome for r in raw if r.request == q}) for q in REQUESTS]
    assert max(per_request) >= 3 and sum(n > 1 for n in per_request) >= 3, per_request
    problems = {p for r in raw for p in r.verdict.problems}
    assert {"double booking", "booked the wrong slot", "left a hold behind"} <= problems
    assert "booked a visit the plan does not cover" in problems
    assert sum(r.refusals for r in raw) > 0
    careful = [r for r in raw if r.strategy == "careful"]
    assert all(r.calls > 1 for r in careful)


def test_skill_runs_count_one_call_and_the_steps_separately(runs: list[Run]) -> None:
    """Through the skill, the agent makes one call per request (two when it retries)."""
    skill = [r for r in runs if r.mode == "skill"]
    assert {r.calls for r in skill} == {1, 2}
    assert all(r.refusals == 0 for r in skill)
    assert all(r.steps >= 3 for r in skill if r.calls == 1)


def test_the_readme_table_is_what_the_harness_prints(runs: list[Run]) -> None:
    """The README shows the table `python -m examples.scheduling.compare` prints, unedited."""
    out = subprocess.run(
        [sys.executable, "-m", "examples.scheduling.compare"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    table = summary(runs)
    assert "\n".join(table) in out
    readme = (ROOT / "README.md").read_text()
    assert "python -m examples.scheduling.compare" in readme
    assert "\n".join(table) in readme
    raw, skill = (re.split(r"\s*\|\s*", line) for line in table[2:4])
    assert raw[2] != skill[2] and set(skill[2].split(" / ")) == {"1"}
