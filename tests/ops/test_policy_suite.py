"""`guardrail policy test`: a suite of expected decisions run against a policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from guardrail import Policy
from guardrail.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
EXAMPLE_SUITE = ROOT / "examples" / "policy_suite.yaml"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["policy", "test", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_readme_policy_is_the_example_policy() -> None:
    """examples/policy.yaml is the README's quickstart policy, so its suite tests the README."""
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)[0]
    assert Policy.from_dict(yaml.safe_load(first)) == Policy.from_file(EXAMPLE_POLICY)


def test_the_readme_policy_passes_its_suite(capsys: pytest.CaptureFixture[str]) -> None:
    """Every case of the example suite holds; the summary counts them."""
    code, out, _ = _run(capsys, str(EXAMPLE_SUITE))
    cases = yaml.safe_load(EXAMPLE_SUITE.read_text())["cases"]
    assert code == 0
    assert out.strip() == f"{len(cases)} passed, 0 failed ({EXAMPLE_POLICY})"


def test_a_changed_policy_fails_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Raising the refund cap and dropping the contractor rule fail exactly those cases, by line."""
    data = yaml.safe_load(EXAMPLE_POLICY.read_text())
    data["rules"][0]["args"]["amount"]["max"] = 1000
    data["rules"] = [r for r in data["rules"] if r["id"] != "no-contractor-refunds"]
    loose = tmp_path / "loose.yaml"
    loose.write_text(yaml.safe_dump(data))
    code, out, _ = _run(capsys, str(EXAMPLE_SUITE), "--policy", str(loose))
    lines = out.strip().splitlines()
    suite_lines = EXAMPLE_SUITE.read_text().splitlines()
    assert code == 1
    assert lines[-1].startswith("8 passed, 2 failed")
    failing = {int(line.split(":")[1]) for line in lines[:-1]}
    names = {suite_lines[n - 1].strip() for n in failing}
    assert names == {
        "- name: support refunds stop at 100",
        "- name: contractors never refund, even inside the support limit",
    }
    assert "expected deny, got allow" in out


def test_limit_cases_count_real_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A limit expectation fails when the limit is looser than the case says."""
    data = yaml.safe_load(EXAMPLE_POLICY.read_text())
    data["limits"] = [{"id": "user-rate", "per": "user", "calls": "100/minute"}]
    loose = tmp_path / "loose.yaml"
    loose.write_text(yaml.safe_dump(data))
    code, out, _ = _run(capsys, str(EXAMPLE_SUITE), "--policy", str(loose), "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    failed = {row["name"]: row for row in rows[:-1] if not row["passed"]}
    assert code == 1
    assert rows[-1] == {"passed": 8, "failed": 2}
    assert failed["the 61st call in a minute is refused"]["decision"] == "allow"
    assert failed["a team spends at most 500 a day"]["failures"] == [
        "expected budget_exceeded, got allow (allowed by rule 'support-refunds')",
        "expected limit team-spend, got (none)",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: 3", "a suite is a mapping with a 'cases' list"),
        ("cases:\n  - {tool: refund}", "a case needs 'tool' and 'expect'"),
        ("cases:\n  - {tool: refund, expect: maybe}", "a case needs 'tool' and 'expect'"),
        ("cases:\n  - {tool: r, expect: allow, principal: zed}", "no principal named 'zed'"),
        ("cases:\n  - {tool: r, expect: allow, colour: red}", "unknown case field(s) colour"),
        ("cases:\n  - {tool: r, expect: allow, repeat: 0}", "'repeat' a positive int"),
        ("cases: [", "not valid YAML"),
        ("cases: []", "no 'policy' in the suite"),
    ],
)
def test_a_malformed_suite_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    """A broken suite exits 2 with one `error:` line saying what and where."""
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    code, out, err = _run(capsys, str(suite))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
