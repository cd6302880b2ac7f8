"""A torn tail healed on reopen is visible to `audit verify`: a warning, exit 3, fails --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from guardrail.audit import ChainLog, verify
from guardrail.audit.verify import Recovery, verify_bytes

KEY = b"k" * 32


def _guardrail(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guardrail", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def _keyed_log_cut_without_the_key(path: Path) -> int:
    """A keyed log whose last (large) record is cut mid-line by someone without the key,
    then reopened by the writer, which appends a keyed recovery record. Returns its seq."""
    with ChainLog(path, key=KEY, fsync="never") as log:
        for i in range(3):
            log.append("event", {"i": i})
        log.append("event", {"wire": "to-account-666", "pad": "x" * 5000})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2000])  # no key needed for this
    with ChainLog(path, key=KEY, fsync="never") as log:
        return log.seq


def test_verify_reports_the_recovery_record(tmp_path: Path) -> None:
    """The report is still ok (the chain holds) but not clean, with the recovery located."""
    path = tmp_path / "audit.jsonl"
    seq = _keyed_log_cut_without_the_key(path)
    report = verify(path, key=KEY)
    assert report.ok and not report.clean
    assert report.recoveries == [
        Recovery(
            seq,
            str(path),
            seq,
            torn_bytes=report.recoveries[0].torn_bytes,
            after_seq=4,
            set_aside="audit.jsonl.torn",
        )
    ]
    assert (report.recoveries[0].torn_bytes or 0) > 3000
    assert "recovery record" in report.summary()
    assert "OK:" not in report.summary()


def test_cli_verify_warns_and_exits_3(tmp_path: Path) -> None:
    """`audit verify` prints a warning line and exits 3; with --strict it exits 1."""
    path = tmp_path / "audit.jsonl"
    _keyed_log_cut_without_the_key(path)
    done = _guardrail("audit", "verify", str(path), "--key", KEY.decode())
    assert done.returncode == 3, done.stdout + done.stderr
    warnings = [line for line in done.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "set aside" in warnings[0] and "seq 5" in warnings[0]
    assert "OK with 1 recovery record(s)" in done.stdout
    strict = _guardrail("audit", "verify", str(path), "--key", KEY.decode(), "--strict")
    assert strict.returncode == 1


def test_a_clean_log_still_exits_0_with_strict(tmp_path: Path) -> None:
    """No recovery, no warning: exit 0, and --strict changes nothing."""
    path = tmp_path / "audit.jsonl"
    with ChainLog(path, fsync="never") as log:
        log.append("event", {"i": 1})
    done = _guardrail("audit", "verify", str(path), "--strict")
    assert done.returncode == 0 and "warning" not in done.stdout
    assert verify(path).clean


@pytest.mark.parametrize("count", [1, 2])
def test_every_recovery_is_counted(tmp_path: Path, count: int) -> None:
    """Two crashes, two recovery records, both reported."""
    path = tmp_path / "audit.jsonl"
    for _ in range(count):
        with ChainLog(path, fsync="never") as log:
            log.append("event", {"i": 1})
        with open(path, "ab") as handle:
            handle.write(b'{"seq":99,"kind":"ev')
        ChainLog(path, fsync="never").close()
    report = verify_bytes(path.read_bytes())
    assert report.ok and len(report.recoveries) == count
    assert [r.after_seq for r in report.recoveries] == [2, 4][:count]


def test_a_broken_log_with_a_recovery_exits_1(tmp_path: Path) -> None:
    """A break wins over a recovery: exit 1 without --strict too."""
    path = tmp_path / "audit.jsonl"
    _keyed_log_cut_without_the_key(path)
    done = _guardrail("audit", "verify", str(path), "--key", "wrong-key")
    assert done.returncode == 1 and "FAILED" in done.stdout
