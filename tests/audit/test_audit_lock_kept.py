"""ChainLog keeps the cross-process lock across a burst of appends (``fsync="batch"`` /
``"never"``): another process that waits gets it after the holder's next append, the
holder gives it back on its own after ``batch_interval``, and a log removed or renamed
from outside is noticed once the lock is taken again (fail closed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guardrail.audit import ChainLog, verify
from guardrail.errors import AuditError

ONE_LINE = """
import sys
from guardrail.audit.chain import ChainLog
log = ChainLog(sys.argv[1], fsync="never", batch_interval=3600)
log.append("event", {"from": "child"})
log.close()
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting for: {what}")
        time.sleep(0.005)


def someone_waits(log_path: Path) -> bool:
    return Path(f"{log_path}.lock").read_bytes()[:1] == b"\x01"


@pytest.mark.parametrize("mode", ["batch", "never"])
def test_a_waiting_process_gets_the_lock_after_the_holders_next_append(
    log_path: Path, mode: str
) -> None:
    """The holder never gives the lock back on its own here (an hour's batch_interval):
    the waiter's flag alone makes it let go after its next append."""
    log = ChainLog(log_path, fsync=mode, batch_interval=3600)  # type: ignore[arg-type]
    log.append("event", {"from": "parent", "i": 0})
    assert log._file.lock.held
    child = subprocess.Popen([sys.executable, "-c", ONE_LINE, str(log_path)])
    try:
        wait_for(lambda: someone_waits(log_path), "the child to flag that it waits")
        log.append("event", {"from": "parent", "i": 1})  # sees the flag: lets go after it
        assert not log._file.lock.held
        assert child.wait(timeout=60) == 0
        log.append("event", {"from": "parent", "i": 2})  # catches up with the child's line
    finally:
        child.kill()
        log.close()
    report = verify(log_path)
    assert report.ok, report.breaks
    assert report.events == 4
    assert not someone_waits(log_path)


def test_the_writer_gives_the_lock_back_after_batch_interval(log_path: Path) -> None:
    """An idle holder lets go on its own, so a process that comes later is not kept out."""
    with ChainLog(log_path, fsync="never", batch_interval=0.02) as log:
        log.append("event", {"i": 0})
        wait_for(lambda: not log._file.lock.held, "the writer to release the lock")
        out = subprocess.run([sys.executable, "-c", ONE_LINE, str(log_path)], timeout=60)
        assert out.returncode == 0
        log.append("event", {"i": 1})
    report = verify(log_path)
    assert report.ok and report.events == 3


def test_a_removed_log_is_noticed_when_the_lock_is_taken_again(log_path: Path) -> None:
    """Fail closed: once the kept lock is given back, the next append finds the file gone."""
    with ChainLog(log_path, fsync="batch", batch_interval=0.02) as log:
        log.append("event", {"i": 0})
        os.remove(log_path)
        wait_for(lambda: not log._file.lock.held, "the writer to release the lock")
        with pytest.raises(AuditError, match="removed"):
            log.append("event", {"i": 1})


def test_a_log_renamed_from_outside_fails_closed_and_keeps_its_lines(log_path: Path) -> None:
    """A rename (logrotate without copytruncate) is noticed like a removal: appends stop
    with AuditError, and every line acknowledged before is in the renamed file."""
    moved = log_path.with_name("audit.jsonl.moved")
    with ChainLog(log_path, fsync="never", batch_interval=0.02) as log:
        log.append("event", {"i": 0})
        os.rename(log_path, moved)
        wait_for(lambda: not log._file.lock.held, "the writer to release the lock")
        with pytest.raises(AuditError, match="removed"):
            log.append("event", {"i": 1})
    report = verify(moved)
    assert report.ok and report.events == 1


FORK_AND_DIE = """
import os, sys, time
from guardrail.audit.chain import ChainLog
log = ChainLog(sys.argv[1], fsync="never", batch_interval=3600)
log.append("event", {"from": "parent"})
assert log._file.lock.held
pid = os.fork()
if pid == 0:  # a child that never logs, and outlives its parent
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)  # (so that nobody waits for its output either)
    time.sleep(120)
    os._exit(0)
print(pid, flush=True)
os._exit(0)  # the parent dies holding the lock
"""


def test_a_forked_child_does_not_keep_a_dead_parents_lock(log_path: Path) -> None:
    """Only the parent held the lock: once it is gone, other processes append."""
    died = subprocess.run(
        [sys.executable, "-c", FORK_AND_DIE, str(log_path)],
        timeout=60,
        check=True,
        capture_output=True,
        text=True,
    )
    orphan = int(died.stdout)
    try:
        out = subprocess.run([sys.executable, "-c", ONE_LINE, str(log_path)], timeout=60)
    finally:
        os.kill(orphan, signal.SIGKILL)
    assert out.returncode == 0
    report = verify(log_path)
    assert report.ok and report.events == 2


TWO_IN_ONE = """
import sys
from guardrail.audit.chain import ChainLog
first = ChainLog(sys.argv[1], fsync="never", batch_interval=3600)
second = ChainLog(sys.argv[1], fsync="never", batch_interval=3600)
for i in range(20):
    first.append("event", {"log": 1, "i": i})
    second.append("event", {"log": 2, "i": i})
first.close()
second.close()
"""


def test_one_process_with_the_log_open_twice_keeps_no_lock(log_path: Path) -> None:
    """Two ChainLogs on one path in one thread take turns line by line (neither waits for
    the other's hour-long batch_interval) and extend one chain."""
    out = subprocess.run([sys.executable, "-c", TWO_IN_ONE, str(log_path)], timeout=60)
    assert out.returncode == 0
    report = verify(log_path)
    assert report.ok, report.breaks
    assert report.events == 40
