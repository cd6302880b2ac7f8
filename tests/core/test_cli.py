"""The `guardrail` command: policy check and explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrail.cli import main

POLICY = """
rules:
  - id: own-orders-only
    allow: [get_order]
    when: {roles: [customer]}
    args:
      customer_id: {eq: $principal.subject}
limits:
  - {id: user-rate, per: user, calls: 60/minute}
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_check_lists_rules_and_limits(
    policy_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy check` validates and prints each rule and limit."""
    assert main(["policy", "check", str(policy_file)]) == 0
    out = capsys.readouterr().out
    assert "OK (1 rules, 1 limits)" in out
    assert "own-orders-only" in out and "user-rate" in out


def test_check_reports_the_location_of_a_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A malformed file exits 2 with the file, rule and field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: r\n    allow: [t]\n    args: {n: {between: 1}}\n")
    assert main(["policy", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "rule 'r'" in err and "unknown operator 'between'" in err


@pytest.mark.parametrize(("customer", "code", "word"), [("carol", 0, "ALLOW"), ("dave", 1, "DENY")])
def test_explain_prints_the_deciding_rule(
    policy_file: Path, capsys: pytest.CaptureFixture[str], customer: str, code: int, word: str
) -> None:
    """`policy explain` prints the decision, the rule and why; exit 1 on deny."""
    principal = json.dumps({"subject": "carol", "roles": ["customer"]})
    args = json.dumps({"customer_id": customer})
    argv = ["policy", "explain", str(policy_file), "--principal", principal]
    assert main([*argv, "--tool", "get_order", "--args", args]) == code
    out = capsys.readouterr().out
    assert out.startswith(word)
    assert "own-orders-only" in out
