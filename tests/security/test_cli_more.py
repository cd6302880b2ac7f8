"""Every command's output escapes what a terminal would interpret, and a file that is no
audit log is an error, not "0 events" (issue 16, CLI, new members).

Found on main at 08b4769: ``audit replay`` printed subjects and rule ids raw,
``policy explain`` the principal's subject and the decision's reason, ``policy
check`` rule ids and globs; ``audit show`` / ``stats`` / ``replay`` on a SQLite
file, a JSON document or any other file printed "0 events" with exit status 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardrail.audit import ChainLog
from guardrail.audit.event import AuditEvent

GUARDRAIL = str(Path(sys.executable).with_name("guardrail"))
NASTY = "eve\x1b[2J\x1b[31m\r\n42  forged row\u202e\x07"
FORBIDDEN = "\x1b\r\u202e\x07"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GUARDRAIL, *args], capture_output=True, text=True, timeout=120, check=False
    )


def assert_escaped(out: str) -> None:
    assert not any(ch in out for ch in FORBIDDEN), repr(out)
    assert not any(line.startswith("42  forged row") for line in out.splitlines())


@pytest.fixture
def nasty_log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    with ChainLog(path, fsync="never") as log:
        for n, decision in enumerate(("allowed", "denied")):
            log.write(
                AuditEvent(
                    event_id=f"e{n}",
                    time=datetime(2026, 1, 1, tzinfo=UTC),
                    phase="outcome" if decision == "allowed" else "refusal",
                    call_id=f"c{n}",
                    tool="refund",
                    subject=NASTY,
                    decision=decision,  # type: ignore[arg-type]
                    rule=f"rule{NASTY}",
                    reason="x",
                    args={"amount": 5},
                )
            )
    return path


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    rule_id = json.dumps(f"r{NASTY}")
    path.write_text(f"rules:\n- {{id: {rule_id}, allow: refund}}\n")
    return path


def test_audit_replay_escapes_subjects_and_rules(nasty_log: Path, policy: Path) -> None:
    done = run("audit", "replay", "--policy", str(policy), str(nasty_log))
    assert done.returncode in (0, 1), done.stderr
    assert "eve\\x1b[2J" in done.stdout
    assert_escaped(done.stdout)


def test_policy_check_escapes_rule_ids(policy: Path) -> None:
    done = run("policy", "check", str(policy))
    assert done.returncode == 0, done.stderr
    assert "reve\\x1b[2J" in done.stdout
    assert_escaped(done.stdout)


def test_policy_explain_escapes_the_subject_and_the_reason(policy: Path) -> None:
    who = json.dumps({"subject": NASTY})
    done = run("policy", "explain", str(policy), "--principal", who, "--tool", "refund")
    assert done.returncode == 0, done.stderr
    assert "eve\\x1b[2J" in done.stdout
    assert_escaped(done.stdout)


NOT_LOGS = {
    "sqlite": b"SQLite format 3\x00\x10\x00\x02\x02\x00@  \n\x00\x00\x00\x02\n",
    "json-document": b'{\n  "rules": []\n}\n',
    "json-object": b'{"a": 1}\n',
    "json-list": b"[1, 2]\n",
    "scalars": b'null\n"x"\n3\n',
    "yaml": b"rules:\n- {id: a, allow: x}\n",
    "event-then-junk": (
        b'{"event_id": "e1", "phase": "outcome", "tool": "t", "decision": "allowed"}\n'
        b"not json\n"
        b'{"event_id": "e2", "phase": "outcome", "tool": "t", "decision": "allowed"}\n'
    ),
}
COMMANDS = [["audit", "show"], ["audit", "stats"], ["audit", "stats", "--json"]]


@pytest.mark.parametrize("kind", sorted(NOT_LOGS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_file_that_is_no_audit_log_is_one_error_line(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    path = tmp_path / "file.log"
    path.write_bytes(NOT_LOGS[kind])
    done = run(*command, str(path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "not an audit record" in done.stderr
    assert done.stdout == ""


def test_audit_replay_refuses_such_a_file_too(tmp_path: Path, policy: Path) -> None:
    path = tmp_path / "file.log"
    path.write_bytes(NOT_LOGS["json-object"])
    done = run("audit", "replay", "--policy", str(policy), str(path))
    assert done.returncode == 2 and "not an audit record" in done.stderr


def test_a_torn_last_line_is_still_passed_over(nasty_log: Path) -> None:
    """A write cut short (no newline at the end) is what a crash leaves: not an error."""
    with nasty_log.open("ab") as handle:
        handle.write(b'{"seq": 9, "kind": "ev')
    done = run("audit", "show", str(nasty_log))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refund") == 2
