"""A writer SIGKILLed at random moments loses no acknowledged record and leaves a valid chain."""

from __future__ import annotations

import json
import os
import random
import signal
import time
import warnings
from pathlib import Path

from guardrail.audit import ChainLog, verify


def _writer(path: Path, ack_fd: int) -> None:
    """The child: append as fast as it can, acknowledging each returned seq."""
    try:
        warnings.simplefilter("ignore")  # the parent's garbage is not ours to judge
        log = ChainLog(path, fsync="always")
        os.write(ack_fd, b"ready\n")
        big = "x" * 256_000
        i = 0
        while True:
            # Every 4th record is large, so a kill may land in the middle of its write.
            seq = log.append("event", {"i": i, "pad": big if i % 4 == 3 else ""})
            os.write(ack_fd, b"%d\n" % seq)
            i += 1
    finally:
        os._exit(1)


def _run_and_kill(path: Path, delay: float) -> list[int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()  # a real child process, without paying the interpreter start-up again
    if pid == 0:
        os.close(read_fd)
        _writer(path, write_fd)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as acks:
        assert acks.readline() == b"ready\n"
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        out = acks.read()
    os.waitpid(pid, 0)
    return [int(line) for line in out.split()]


def test_sigkill_20_times_loses_no_acknowledged_record(tmp_path: Path) -> None:
    """Kill a writer 20 times: reopening recovers, verify passes, every acked seq is there."""
    path = tmp_path / "audit.jsonl"
    rng = random.Random(4)
    acked: set[int] = set()
    recoveries = 0
    for _ in range(20):
        acked.update(_run_and_kill(path, rng.uniform(0.0, 0.1)))
        recoveries += path.read_bytes()[-1:] not in (b"\n", b"")
        with ChainLog(path, fsync="never") as log:  # recovers a torn tail, if any
            assert log.seq >= max(acked, default=0)
        report = verify(path)
        assert report.ok, report.breaks
    rows = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    assert acked <= {row["seq"] for row in rows}
    assert len(acked) > 20
    assert [row["kind"] for row in rows].count("recovery") == recoveries
    print(f"acked={len(acked)} torn_tails_recovered={recoveries}")
