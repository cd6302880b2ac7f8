"""`guardrail policy test` edges: where each error points, how cases name themselves, which
cases run real calls through a guard, and the exact failure lines a mismatch gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrail.cli import main

POLICY: dict[str, Any] = {
    "rules": [
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {"id": "no-big", "deny": ["refund"], "args": {"amount": {"min": 1000}}},
    ],
    "limits": [
        {"id": "spend", "per": "user", "cost": 50, "period": "day"},
        {"id": "twice", "per": "user", "calls": "2/minute"},
    ],
}
SAM = {"subject": "sam", "roles": ["support"]}


def _suite(tmp_path: Path, cases: list[Any], **extra: Any) -> Path:
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    suite = tmp_path / "suite.yaml"
    suite.write_text(yaml.safe_dump({"policy": "policy.yaml", **extra, "cases": cases}))
    return suite


def _rows(capsys: pytest.CaptureFixture[str], suite: Path) -> tuple[int, list[dict[str, Any]]]:
    code = main(["policy", "test", str(suite), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, rows


def _error(capsys: pytest.CaptureFixture[str], suite: Path) -> str:
    assert main(["policy", "test", str(suite)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_each_case_reports_its_own_line_and_the_summary_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "suite.yaml"
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    suite.write_text(
        "policy: policy.yaml\n"
        "principals: {sam: {subject: sam, roles: [support]}}\n"
        "cases:\n"
        "  - {principal: sam, tool: refund, args: {amount: 5}, expect: allow}\n"
        "\n"
        "  - principal: sam\n"
        "    tool: refund\n"
        "    args: {amount: 500}\n"
        "    expect: allow\n"
    )
    code, rows = _rows(capsys, suite)
    assert code == 1
    assert [(r["line"], r["passed"], r["decision"]) for r in rows[:2]] == [
        (4, True, "allow"),
        (6, False, "deny"),
    ]
    assert rows[2] == {"passed": 1, "failed": 1}
    assert {r["file"] for r in rows[:2]} == {str(suite)}


def test_unnamed_cases_are_named_after_tool_and_principal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [
        {"principal": "sam", "tool": "refund", "args": {"amount": 5}, "expect": "allow"},
        {"principal": None, "tool": "refund", "expect": "deny"},
        {"name": "", "tool": "lookup", "expect": "deny"},
    ]
    code, rows = _rows(capsys, _suite(tmp_path, cases, principals={"sam": SAM}))
    assert code == 0
    assert [r["name"] for r in rows[:3]] == [
        "refund as sam",
        "refund as anonymous",
        "lookup as anonymous",
    ]


def test_the_suites_policy_is_found_next_to_the_suite_not_the_working_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "suites"
    here.mkdir()
    _suite(here, [{"principal": SAM, "tool": "refund", "args": {"amount": 5}, "expect": "allow"}])
    monkeypatch.chdir(tmp_path)
    code = main(["policy", "test", "suites/suite.yaml"])
    assert capsys.readouterr().out.strip() == "1 passed, 0 failed (suites/policy.yaml)"
    assert code == 0


def test_an_inline_principal_is_validated_and_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = [{"principal": SAM, "tool": "refund", "args": {"amount": 5}, "expect": "allow"}]
    code, rows = _rows(capsys, _suite(tmp_path, cases))
    assert (code, rows[0]["rule"]) == (0, "support-refunds")
    bad = _suite(tmp_path, [{"principal": {"roles": 3}, "tool": "refund", "expect": "deny"}])
    err = _error(capsys, bad)
    assert err.startswith(f"error: {bad}: line 2: principal is not a valid principal: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: [\n", "{suite}:2: not valid YAML: "),
        ("x: 1\ncases:\n  - {tool: a, args: {x: [}\n", "{suite}:3: not valid YAML: "),
        ("principals: [a]\ncases: []\n", "{suite}: 'principals' must map names to principals"),
        (
            "principals: {x: {roles: 3}}\ncases: []\n",
            "{suite}: principal 'x' is not a valid principal: ",
        ),
        ("cases:\n  - 3\n", "{suite}:2: a case must be a mapping"),
        ("cases:\n  - {tool: r, expect: deny, args: [1]}\n", "{suite}:2: 'args' must be a mapping"),
        ("cases:\n  - {tool: r, expect: deny, repeat: '2'}\n", "{suite}:2: 'args' must be"),
        (
            "cases:\n  - {tool: 3, expect: deny}\n",
            "{suite}:2: a case needs 'tool' and 'expect' (one of allow, deny, budget_exceeded)",
        ),
        (
            "cases:\n  - {tool: r, expect: deny, size: 1, colour: red}\n",
            "{suite}:2: unknown case field(s) colour, size",
        ),
        ("- 1\n", "{suite}: a suite is a mapping with a 'cases' list"),
    ],
)
def test_a_malformed_suite_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    assert _error(capsys, suite).startswith("error: " + message.format(suite=suite))


def test_a_missing_suite_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert (
        _error(capsys, missing) == f"error: cannot read suite {missing}: No such file or directory"
    )


def test_a_case_with_a_cost_runs_a_real_call_against_the_cost_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cost` alone makes the case a real call: a call costing more than the limit allows."""
    cases = [
        {"principal": SAM, "tool": "refund", "args": {"amount": 5}, "cost": 60, "expect": "allow"},
        {"principal": SAM, "tool": "refund", "args": {"amount": 5}, "cost": 40, "expect": "allow"},
    ]
    code, rows = _rows(capsys, _suite(tmp_path, cases))
    assert code == 1
    assert rows[0]["decision"] == "budget_exceeded" and rows[0]["limit"] == "spend"
    assert rows[0]["rule"] == "support-refunds"  # the rule the refused call got past
    assert rows[0]["failures"][0].startswith("expected allow, got budget_exceeded (")
    assert rows[1]["passed"] and rows[1]["limit"] is None


def test_a_case_naming_a_limit_runs_a_real_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`limit` alone makes the case a real call, so a limit of zero calls refuses it."""
    policy = {**POLICY, "limits": [{"id": "none", "per": "user", "calls": "0/minute"}]}
    cases = [{"principal": SAM, "tool": "refund", "args": {"amount": 5}, "expect": "allow"}]
    suite = _suite(tmp_path, [{**cases[0], "limit": "none"}, *cases])
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    code, rows = _rows(capsys, suite)
    assert code == 1
    (failure,) = rows[0]["failures"]  # the limit is the one named: only the decision differs
    assert failure.startswith("expected allow, got budget_exceeded (")
    assert rows[0]["limit"] == "none"
    assert rows[1]["passed"]  # decided by the policy alone: no call made


def test_repeated_calls_count_and_the_last_one_decides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"principal": SAM, "tool": "refund", "args": {"amount": 5}}
    cases = [
        {**base, "repeat": 2, "expect": "allow", "rule": "support-refunds"},
        {**base, "repeat": 3, "expect": "budget_exceeded", "limit": "twice"},
        {**base, "repeat": 3, "expect": "budget_exceeded", "limit": "spend"},
        {**base, "args": {"amount": 5000}, "repeat": 2, "expect": "deny", "rule": "no-big"},
        {**base, "args": {"amount": 500}, "repeat": 2, "expect": "deny", "rule": "support-refunds"},
    ]
    code, rows = _rows(capsys, _suite(tmp_path, cases))
    assert [r["failures"] for r in rows[:5]] == [
        [],
        [],
        ["expected limit spend, got twice"],
        [],
        [],
    ]
    assert code == 1
    assert [(r["decision"], r["rule"], r["limit"]) for r in rows[:5]] == [
        ("allow", "support-refunds", None),
        ("budget_exceeded", "support-refunds", "twice"),
        ("budget_exceeded", "support-refunds", "twice"),
        ("deny", "no-big", None),
        ("deny", "support-refunds", None),
    ]


def test_failure_lines_name_the_default_deny_and_missing_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"principal": SAM, "tool": "refund", "args": {"amount": 5}}
    cases = [
        {**base, "expect": "allow", "rule": None},
        {"principal": None, "tool": "refund", "expect": "deny", "rule": "support-refunds"},
        {**base, "expect": "budget_exceeded", "limit": "spend"},
        {**base, "expect": "allow", "rule": "support-refunds", "limit": None},
    ]
    code, rows = _rows(capsys, _suite(tmp_path, cases))
    assert code == 1
    assert rows[0]["failures"] == ["expected rule (default deny), got support-refunds"]
    assert rows[1]["failures"] == ["expected rule support-refunds, got (default deny)"]
    assert rows[2]["failures"] == [
        "expected budget_exceeded, got allow (allowed by rule 'support-refunds')",
        "expected limit spend, got (none)",
    ]
    assert rows[3]["failures"] == []
    assert rows[-1] == {"passed": 1, "failed": 3}


def test_a_real_call_and_a_decision_agree_on_an_omitted_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deny rule on an argument the case leaves out applies in doubt, whether the case is
    decided or called, and whatever cases ran before it (a call's stand-in tool does not
    leak into later decisions)."""
    policy = {
        "rules": [
            {"id": "ok", "allow": ["refund"], "args": {"amount": {"max": 100}}},
            {"id": "no", "deny": ["refund"], "args": {"note": {"regex": ".*drop.*"}}},
        ]
    }
    base = {"principal": {"subject": "s"}, "tool": "refund", "expect": "allow"}
    omitted = {**base, "args": {"amount": 5}}
    given = {**base, "args": {"amount": 5, "note": "fine"}}
    cases = [omitted, {**omitted, "repeat": 2}, omitted, given, {**given, "repeat": 2}, omitted]
    suite = _suite(tmp_path, cases)
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    code, rows = _rows(capsys, suite)
    assert [(r["decision"], r["rule"]) for r in rows[:6]] == [
        ("deny", "no"),
        ("deny", "no"),
        ("deny", "no"),
        ("allow", "ok"),
        ("allow", "ok"),
        ("deny", "no"),
    ]
    assert code == 1


def test_failure_lines_carry_the_reason_of_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"principal": {"subject": "s", "roles": ["support"]}, "tool": "refund"}
    cases = [
        {**base, "args": {"amount": 500}, "expect": "allow"},
        {**base, "args": {"amount": 500}, "repeat": 2, "expect": "allow"},
        {**base, "args": {"amount": 5}, "cost": 60, "expect": "allow"},
    ]
    code, rows = _rows(capsys, _suite(tmp_path, cases))
    assert code == 1
    assert [r["failures"] for r in rows[:3]] == [
        [
            "expected allow, got deny (rule 'support-refunds' allows 'refund' only when "
            "argument 'amount' is <= 100)"
        ],
        [
            "expected allow, got deny (s may not call 'refund': rule 'support-refunds' allows "
            "'refund' only when argument 'amount' is <= 100)"
        ],
        [
            "expected allow, got budget_exceeded (budget exceeded for 'refund': user 's' has "
            "used 0 of 50 cost today (UTC) (limit 'spend'). This call needs 60, more than the "
            "whole limit.)"
        ],
    ]
