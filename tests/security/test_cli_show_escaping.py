"""`audit show` / `stats` / `verify` escape control, format and separator characters in every
printed field, so a value written to the log (a subject, a tool name, ...) cannot forge rows
or recolour the terminal."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardrail.audit import ChainLog
from guardrail.audit.event import AuditEvent
from guardrail.cli._errors import printable

GUARDRAIL = str(Path(sys.executable).with_name("guardrail"))
NASTY = [
    "alice\n42  2026-01-01 00:00:00  outcome  refund  root  allowed",  # a forged row
    "bob\r\x1b[2Kroot",  # carriage return and erase-line
    "\x1b[31mred\x1b[0m",  # ANSI colour
    "eve\u202egnp.exe",  # right-to-left override
    "mallory\u2066\u2069\u200b\u200e",  # bidi isolates, zero width space, LRM
    "nul\x00bell\x07del\x7f",  # C0 and DEL
    "c1\x85\x9b31m",  # NEL and CSI (C1)
    "line\u2028para\u2029end",  # Unicode line and paragraph separators
    "tab\there\vvt\fff",
]
FORBIDDEN = "\n\r\x1b\u202e\u2066\u2069\u200b\u200e\x00\x07\x7f\x85\x9b\u2028\u2029\t\v\f"


def _event(n: int, text: str) -> AuditEvent:
    return AuditEvent(
        event_id=f"e{n}",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        phase="refusal",
        call_id=f"c{n}",
        tool=f"tool-{text}",
        subject=text,
        teams=(text,),
        decision="denied",
        rule=f"rule-{text}",
        outcome=text,
        cost_settled=1.0,
    )


@pytest.fixture
def nasty_log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    with ChainLog(path, fsync="never") as log:
        for n, text in enumerate(NASTY):
            log.write(_event(n, text))
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GUARDRAIL, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_show_prints_one_line_per_event_with_nothing_raw(nasty_log: Path) -> None:
    """Header plus one row per event; no control/bidi character reaches the terminal."""
    done = _run("audit", "show", str(nasty_log))
    assert done.returncode == 0, done.stderr
    rows = done.stdout.split("\n")[:-1]
    assert len(rows) == 1 + len(NASTY)
    assert not set(done.stdout) & set(FORBIDDEN.replace("\n", ""))
    assert done.stdout.count("\n") == 1 + len(NASTY)
    assert "alice\\x0a42" in done.stdout and "eve\\u202egnp.exe" in done.stdout


def test_stats_escapes_names(nasty_log: Path) -> None:
    """Denials by rule: one line per rule, escaped."""
    done = _run("audit", "stats", str(nasty_log))
    assert done.returncode == 0, done.stderr
    assert not set(done.stdout) & set(FORBIDDEN.replace("\n", ""))
    denials = [line for line in done.stdout.splitlines() if line.startswith("  denied: rule-")]
    assert len(denials) == len(NASTY)


def test_verify_escapes_file_names(tmp_path: Path) -> None:
    """A break located in a file whose name holds a newline is still one line."""
    path = tmp_path / "evil\nseq 1 (x:1): OK.jsonl"
    path.write_bytes(b"not a record\n")
    done = _run("audit", "verify", str(path))
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 2  # the break and the summary
    assert "evil\\x0aseq" in done.stdout


@pytest.mark.parametrize("text", NASTY)
def test_printable_leaves_no_unsafe_character(text: str) -> None:
    """The escaper itself: nothing unsafe survives, and it is reversible enough to read."""
    out = printable(text)
    assert not set(out) & set(FORBIDDEN)
    assert out.isprintable()


def test_printable_keeps_ordinary_text() -> None:
    """Plain ASCII, accents, CJK and emoji are unchanged; a backslash is doubled."""
    for text in ("alice smith", "José Müller", "山田", "ok \U0001f44d", ""):
        assert printable(text) == text
    assert printable("a\\x1b") == "a\\\\x1b"
