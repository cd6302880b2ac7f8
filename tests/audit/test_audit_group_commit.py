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


def _after_a_group_of_three(log: ChainLog, wait: float) -> int:
    """The writer as after answering a group of three records (its last group size is
    what sizes the next wait), waiting at most ``wait`` seconds; the commits so far."""
    log.append("event", {"i": "first"})
    log._writer._group = 3
    log._writer.group_wait = wait
    return log.commits


def test_a_group_waits_for_as_many_records_as_it_held(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    commits = _after_a_group_of_three(log, wait=30.0)  # only the refill ends the wait
    first = _append_in_threads(log, 1)
    time.sleep(0.3)
    assert first[0].is_alive() and log.commits == commits  # waiting, not synced alone
    rest = _append_in_threads(log, 2)
    for thread in first + rest:
        thread.join(10)
        assert not thread.is_alive()
    assert log.commits == commits + 1  # the three shared one write and one fdatasync
    log.close()
    assert verify(tmp_path / "audit.jsonl").ok


def test_the_wait_is_bounded_and_a_lone_caller_goes_on(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    commits = _after_a_group_of_three(log, wait=0.2)
    lone = _append_in_threads(log, 1)
    lone[0].join(10)
    assert not lone[0].is_alive() and log.commits == commits + 1
    log._writer.group_wait = 30.0
    log.append("event", {"i": "after"})  # the last group was one: no wait at all
    assert log.commits == commits + 2
    log.close()
    assert verify(tmp_path / "audit.jsonl").ok


def test_close_ends_the_wait_and_writes_what_is_queued(tmp_path: Path) -> None:
    log = ChainLog(tmp_path / "audit.jsonl", fsync="always")
    _after_a_group_of_three(log, wait=30.0)
    waiting = _append_in_threads(log, 1)
    time.sleep(0.2)
    log.close()
    waiting[0].join(10)
    assert not waiting[0].is_alive()
    assert verify(tmp_path / "audit.jsonl").events == 2  # none lost
