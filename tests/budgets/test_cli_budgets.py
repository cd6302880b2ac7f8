"""``guardrail budgets show`` prints a principal's use as a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.redis_server import RedisServer

from guardrail import Guard, Policy
from guardrail.cli import main
from guardrail.testing import make_principal

POLICY = """
rules:
  - {id: everyone, allow: ["*"]}
limits:
  - {id: user-rate, per: user, calls: 60/minute}
  - {id: team-spend, per: team, cost: 500, period: day}
  - {id: per-tool, per: user+tool, calls: 10}
"""


def test_show_prints_use_and_remaining_from_redis(
    tmp_path: Path, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Use made through a Guard on Redis is what the CLI shows for that principal."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    alice = make_principal("cli-alice", teams=["payments", "risk"])
    guard = Guard(Policy.from_file(path), ledger=redis_server.url)

    @guard.tool(cost=120)
    def refund() -> None:
        return None

    with guard.acting_as(alice):
        refund()
        refund()
    who = json.dumps({"subject": "cli-alice", "teams": ["payments", "risk"]})
    argv = ["budgets", "show", "--policy", str(path), "--ledger", redis_server.url]
    assert main([*argv, "--principal", who, "--tool", "refund"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "LIMIT", "LEVEL", "KEY", "MEASURE", "USED", "MAX", "REMAINING", "RESETS", "(UTC)",
    ]  # fmt: skip
    rows = {tuple(line.split()[:7]) for line in lines[1:]}
    assert ("user-rate", "user", "cli-alice", "calls", "2", "60", "58") in rows
    assert ("team-spend", "team", "payments", "cost", "240", "500", "260") in rows
    assert ("team-spend", "team", "risk", "cost", "240", "500", "260") in rows
    assert ("per-tool", "user+tool", "cli-alice/refund", "calls", "2", "10", "8") in rows
    assert len(rows) == 4


def test_show_rejects_a_bad_principal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A principal that is not valid JSON for Principal is an error, not a traceback."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    assert main(["budgets", "show", "--policy", str(path), "--principal", "{}"]) == 2
    assert "--principal is not a valid principal" in capsys.readouterr().err
