"""Every `guardrail` error is one `error: ...` line on stderr with exit status 2, never a
traceback: run through the real console script, for every sub-command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guardrail.audit import ChainLog

GUARDRAIL = str(Path(sys.executable).with_name("guardrail"))
PRINCIPAL = '{"subject": "alice"}'
OK_POLICY = "rules:\n  - {id: r, allow: [t]}\nlimits:\n  - {id: u, per: user, calls: 5/minute}\n"

# {log} a valid chain log, {ok} / {bad} a good / malformed policy, {dir} a directory,
# {empty} an empty file, {missing} a path that does not exist.
BAD = {
    "no-command": [],
    "unknown-command": ["nope"],
    "audit-no-command": ["audit"],
    "verify-no-file": ["audit", "verify"],
    "verify-missing": ["audit", "verify", "{missing}"],
    "verify-directory": ["audit", "verify", "{dir}"],
    "verify-missing-key-file": ["audit", "verify", "{log}", "--key-file", "{missing}"],
    "verify-key-file-directory": ["audit", "verify", "{log}", "--key-file", "{dir}"],
    "verify-empty-key-file": ["audit", "verify", "{log}", "--key-file", "{empty}"],
    "verify-empty-key": ["audit", "verify", "{log}", "--key="],
    "verify-key-and-key-file": ["audit", "verify", "{log}", "--key", "a", "--key-file", "{ok}"],
    "verify-missing-pubkey": ["audit", "verify", "{log}", "--pubkey", "{missing}"],
    "verify-bad-pubkey": ["audit", "verify", "{log}", "--pubkey", "{ok}"],
    "verify-missing-checkpoints": ["audit", "verify", "{log}", "--checkpoints", "{missing}"],
    "verify-unknown-option": ["audit", "verify", "{log}", "--frobnicate"],
    "show-missing": ["audit", "show", "{missing}"],
    "show-directory": ["audit", "show", "{dir}"],
    "show-since-yesterday": ["audit", "show", "{log}", "--since", "yesterday"],
    "show-since-empty": ["audit", "show", "{log}", "--since", ""],
    "show-since-huge-age": ["audit", "show", "{log}", "--since", "99999999999999w"],
    "show-decision-typo": ["audit", "show", "{log}", "--decision", "alowed"],
    "show-decision-case": ["audit", "show", "{log}", "--decision", "DENIED"],
    "stats-missing": ["audit", "stats", "{missing}"],
    "stats-directory": ["audit", "stats", "{dir}"],
    "policy-check-malformed": ["policy", "check", "{bad}"],
    "policy-check-missing": ["policy", "check", "{missing}"],
    "policy-check-directory": ["policy", "check", "{dir}"],
    "explain-bad-principal-json": ["policy", "explain", "{ok}", "--principal", "{x", "--tool", "t"],
    "explain-principal-not-object": [
        "policy", "explain", "{ok}", "--principal", "[1]", "--tool", "t",
    ],
    "explain-principal-no-subject": [
        "policy", "explain", "{ok}", "--principal", "{}", "--tool", "t",
    ],
    "explain-bad-args-json": ["policy", "explain", "{ok}", "--anonymous", "--tool", "t",
                              "--args", "{'a': 1}"],
    "explain-args-not-object": ["policy", "explain", "{ok}", "--anonymous", "--tool", "t",
                                "--args", "[1]"],
    "explain-token-without-issuer": ["policy", "explain", "{ok}", "--token", "x", "--tool", "t"],
    "budgets-bad-principal": ["budgets", "show", "--policy", "{ok}", "--principal", "{"],
    "budgets-missing-policy": ["budgets", "show", "--policy", "{missing}",
                               "--principal", PRINCIPAL],
    "budgets-malformed-policy": ["budgets", "show", "--policy", "{bad}", "--principal", PRINCIPAL],
    "budgets-unknown-ledger": ["budgets", "show", "--policy", "{ok}", "--principal", PRINCIPAL,
                               "--ledger", "mongo://x"],
    "budgets-unreachable-redis": ["budgets", "show", "--policy", "{ok}", "--principal", PRINCIPAL,
                                  "--ledger", "redis://127.0.0.1:1/0"],
    "mcp-pin-nothing-to-pin": ["mcp", "pin", "--pins", "{tmp}/pins.json"],
    "mcp-pin-bad-url": ["mcp", "pin", "--url", "ftp://127.0.0.1/mcp"],
    "mcp-pin-bad-timeout": ["mcp", "pin", "--timeout", "-1", "--", "x"],
    "mcp-pin-nan-timeout": ["mcp", "pin", "--timeout", "nan", "--", "x"],
    "mcp-pin-unreachable-url": ["mcp", "pin", "--pins", "{tmp}/pins.json",
                                "--url", "http://127.0.0.1:1/mcp", "--timeout", "5"],
    "mcp-pin-missing-command": ["mcp", "pin", "--pins", "{tmp}/pins.json", "--timeout", "5",
                                "--", "{missing}"],
    "mcp-pin-server-exits": ["mcp", "pin", "--pins", "{tmp}/pins.json", "--timeout", "5",
                             "--", "false"],
    "mcp-pin-pins-is-directory": ["mcp", "pin", "--pins", "{dir}", "--timeout", "5",
                                  "--", "false"],
}  # fmt: skip


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, str]:
    log = tmp_path / "audit.jsonl"
    with ChainLog(log, fsync="never") as chain:
        chain.append("event", {"i": 1})
    (tmp_path / "ok.yaml").write_text(OK_POLICY)
    (tmp_path / "bad.yaml").write_text("rules: [\n  - {id: r, allow: [t]\n")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "adir").mkdir()
    return {
        "log": str(log),
        "ok": str(tmp_path / "ok.yaml"),
        "bad": str(tmp_path / "bad.yaml"),
        "empty": str(tmp_path / "empty"),
        "dir": str(tmp_path / "adir"),
        "missing": str(tmp_path / "missing"),
        "tmp": str(tmp_path),
    }


def fill(arg: str, paths: dict[str, str]) -> str:
    for name, value in paths.items():
        arg = arg.replace(f"{{{name}}}", value)
    return arg


def assert_one_error_line(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert len(lines[0]) > len("error: ") + 5


@pytest.mark.parametrize("argv", list(BAD.values()), ids=list(BAD))
def test_bad_invocation_is_one_error_line(argv: list[str], paths: dict[str, str]) -> None:
    """Exit 2, exactly one stderr line starting 'error: ', no traceback."""
    done = subprocess.run(
        [GUARDRAIL, *(fill(arg, paths) for arg in argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert_one_error_line(done)


def test_the_decision_choices_are_named(paths: dict[str, str]) -> None:
    """A misspelt --decision says which values exist (it used to print 0 rows and exit 0)."""
    done = subprocess.run(
        [GUARDRAIL, "audit", "show", paths["log"], "--decision", "alowed"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_error_line(done)
    assert "'alowed'" in done.stderr and "denied" in done.stderr
    assert done.stdout == ""


def test_ctrl_c_is_one_error_line(tmp_path: Path) -> None:
    """SIGINT while a command waits (reading a FIFO nobody writes to): `error: interrupted`."""
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    with subprocess.Popen(
        [GUARDRAIL, "audit", "show", str(fifo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        # Opening the FIFO for writing returns once the command has opened it for reading:
        # it is then past start-up and about to block reading, where a Ctrl-C lands. (A
        # signal that comes between two reads is only seen at the next one, as in any
        # Python program: give it the moment to get there.)
        writer = os.open(fifo, os.O_WRONLY)
        try:
            time.sleep(1.0)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            os.close(writer)
    assert_one_error_line(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert err.strip() == "error: interrupted"


def test_a_multi_line_error_message_becomes_one_line(paths: dict[str, str]) -> None:
    """pydantic's several-line validation errors are joined into the one line."""
    done = subprocess.run(
        [GUARDRAIL, "budgets", "show", "--policy", paths["ok"], "--principal", '{"teams": 5}'],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert_one_error_line(done)
    assert "subject" in done.stderr and "teams" in done.stderr
