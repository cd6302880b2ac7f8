"""Group commit under ``fsync="always"``: the callers a group answered share the next
fdatasync too. Without the writer's short wait the first of them to come back gets
a sync of its own and the groups halve (16 threads: 8 records per sync, not 16)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from guardrail.audit import ChainLog, verify


def _append_in_threads(log: ChainLog, count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=log.append, args=("event", {"i": i})) for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _group_of_three(log: ChainLog) -> None:
    """Commit one record, then three queued behind it in one group."""
    writer = log._writer
    with writer.lock:  # the writer takes the first record, then waits for the file
        threads = _append_in_threads(log, 4)
        deadline = time.monotonic() + 10
        while len(writer._queue) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(writer._queue) == 3
    for thread in threads:
        thread.join(10)
    assert log.commits == 2


def test_a_group_waits_for_as_many_records_as_it_held(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    log._writer.group_wait = 30.0  # long enough that only the refill ends the wait
    _group_of_three(log)
    first = _append_in_threads(log, 1)
    time.sleep(0.3)
    assert first[0].is_alive() and log.commits == 2  # waiting for the group, not synced alone
    rest = _append_in_threads(log, 2)
    for thread in first + rest:
        thread.join(10)
        assert not thread.is_alive()
    assert log.commits == 3  # the three shared one write and one fdatasync
    log.close()
    assert verify(tmp_path / "audit.jsonl").ok


def test_the_wait_is_bounded_and_a_lone_caller_goes_on(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    log._writer.group_wait = 0.2
    _group_of_three(log)
    lone = _append_in_threads(log, 1)
    lone[0].join(10)
    assert not lone[0].is_alive() and log.commits == 3
    log.append("event", {"i": "after"})  # the group is one now: no wait at all
    assert log.commits == 4
    log.close()
    assert verify(tmp_path / "audit.jsonl").ok


def test_close_ends_the_wait_and_writes_what_is_queued(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    log._writer.group_wait = 30.0
    _group_of_three(log)
    waiting = _append_in_threads(log, 1)
    time.sleep(0.2)
    log.close()
    waiting[0].join(10)
    assert not waiting[0].is_alive()
    assert verify(tmp_path / "audit.jsonl").events == 5  # none lost
