"""ChainLog: format, reopening, torn tails, rotation, checkpoints, threads, processes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guardrail.audit import ChainLog, verify
from guardrail.audit._format import GENESIS
from guardrail.errors import AuditError


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def fill(log: ChainLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("event", {"i": i, "tool": "refund", "note": "héllo"})


def test_lines_carry_seq_prev_and_hash(log_path: Path) -> None:
    """Each line links to the previous one's hash; the first to genesis."""
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 3)
    records = lines(log_path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[0]["kind"] == "start" and records[0]["prev"] == GENESIS
    for before, after in itertools.pairwise(records):
        assert after["prev"] == before["hash"]
    assert list(records[1]) == ["seq", "kind", "prev", "data", "hash"]
    assert verify(log_path).ok


def test_reopen_continues_the_chain(log_path: Path) -> None:
    """A second open appends after the last seq, linked to its hash."""
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 2)
    with ChainLog(log_path, fsync="never") as log:
        assert log.seq == 3
        fill(log, 2)
    report = verify(log_path)
    assert report.ok and report.records == 5 and report.events == 4


def test_tail_only_open_trusts_the_middle(log_path: Path) -> None:
    """verify_on_open=False reads only the ends yet continues the chain."""
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 50)
    with ChainLog(log_path, fsync="never", verify_on_open=False) as log:
        fill(log, 1)
    assert verify(log_path).ok


def test_tail_only_open_of_a_large_file(log_path: Path) -> None:
    """Past 1 MiB, verify_on_open=False reads only the ends, and still recovers a torn tail."""
    with ChainLog(log_path, fsync="never") as log:
        for i in range(30):
            log.append("event", {"i": i, "pad": "p" * 50_000})
    with open(log_path, "ab") as handle:
        handle.write(b'{"seq":32,"ki')
    with ChainLog(log_path, fsync="never", verify_on_open=False) as log:
        assert log.seq == 32  # the recovery record
        fill(log, 2)
    report = verify(log_path)
    assert report.ok and report.records == 34


def test_torn_tail_is_set_aside_and_recorded(
    log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written last line goes to .torn and a recovery record is appended."""
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 3)
    torn = b'{"seq":5,"kind":"event","prev":"ab'
    with open(log_path, "ab") as handle:
        handle.write(torn)
    assert not verify(log_path).ok
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 1)
    assert Path(f"{log_path}.torn").read_bytes() == torn + b"\n"
    assert "torn last line (34 bytes)" in caplog.text
    records = lines(log_path)
    recovery = records[4]
    assert recovery["kind"] == "recovery" and recovery["seq"] == 5
    assert recovery["data"]["torn_bytes"] == len(torn)  # type: ignore[index]
    assert verify(log_path).ok


def test_bad_line_in_the_middle_refuses_to_open(log_path: Path) -> None:
    """An altered complete line is tampering, not a crash: opening raises AuditError."""
    with ChainLog(log_path, fsync="never") as log:
        fill(log, 5)
    data = bytearray(log_path.read_bytes())
    at = data.index(b'"i":2')
    data[at + 4] = ord("7")
    log_path.write_bytes(bytes(data))
    with pytest.raises(AuditError, match="seq 4"):
        ChainLog(log_path)


def test_keyed_log_needs_its_key(log_path: Path) -> None:
    """An HMAC log opens and verifies only with the key."""
    with ChainLog(log_path, key="k1", fsync="never") as log:
        fill(log, 3)
    assert verify(log_path, key="k1").ok
    assert not verify(log_path).ok
    assert not verify(log_path, key="k2").ok
    with pytest.raises(AuditError):
        ChainLog(log_path)
    with pytest.raises(AuditError):
        ChainLog(log_path, key="k2")


def test_rotation_by_size_chains_files(log_path: Path) -> None:
    """Rotated files begin with a rotate record whose prev is the old file's last hash."""
    with ChainLog(log_path, fsync="never", rotate_bytes=2_000) as log:
        fill(log, 40)
    files = sorted(log_path.parent.glob("audit.jsonl*"))
    chain_files = [f for f in files if not f.name.endswith((".lock", ".torn"))]
    assert len(chain_files) > 3
    rotated = [f for f in chain_files if f != log_path]
    first_new = lines(log_path)[0]
    assert first_new["kind"] == "rotate"
    previous = log_path.parent / str(first_new["data"]["previous"])  # type: ignore[index]
    assert first_new["prev"] == lines(previous)[-1]["hash"]
    report = verify(list(reversed(chain_files)))
    assert report.ok, report.breaks
    assert report.events == 40
    middle = sorted(rotated)[1]
    middle.unlink()
    broken = verify([f for f in chain_files if f != middle])
    assert not broken.ok and "missing" in broken.breaks[0].reason


def test_rotation_signs_the_end_of_each_file(log_path: Path) -> None:
    """Each rotated file's last record is covered by a signed checkpoint."""
    key = Ed25519PrivateKey.generate()
    with ChainLog(log_path, fsync="never", rotate_bytes=1_000, signing_key=key) as log:
        fill(log, 20)
    rotated = sorted(log_path.parent.glob("audit.jsonl.0*"))
    assert rotated
    signed = {json.loads(p)["seq"] for p in Path(f"{log_path}.checkpoints").read_text().split()}
    assert {int(f.name.rsplit(".", 1)[1]) for f in rotated} <= signed
    report = verify([*rotated, log_path], public_keys=[key.public_key()])
    assert report.ok and report.checkpoints == len(signed)


def test_rotation_by_day(log_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new UTC day starts a new file."""
    from guardrail.audit import chain

    with ChainLog(log_path, fsync="never", rotate_daily=True) as log:
        fill(log, 2)
        monkeypatch.setattr(chain, "_today", lambda: "2999-01-01")
        fill(log, 2)
    assert lines(log_path)[0]["kind"] == "rotate"
    assert verify([*sorted(log_path.parent.glob("audit.jsonl.0*")), log_path]).ok


def test_checkpoints_are_signed_and_checked(log_path: Path) -> None:
    """Checkpoints every N records and on close verify with the public key."""
    key = Ed25519PrivateKey.generate()
    with ChainLog(log_path, fsync="never", signing_key=key, checkpoint_every=10) as log:
        fill(log, 25)
    points = Path(f"{log_path}.checkpoints").read_text().splitlines()
    assert [json.loads(p)["seq"] for p in points] == [10, 20, 26]
    report = verify(log_path, public_keys=[key.public_key()])
    assert report.ok and report.checkpoints == 3
    globbed = verify(sorted(log_path.parent.glob("audit.jsonl*")), public_keys=[key.public_key()])
    assert globbed.ok and globbed.checkpoints == 3 and globbed.files == [str(log_path)]
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify(log_path, public_keys=[other]).ok


@pytest.mark.parametrize("mode", ["always", "batch", "never"])
def test_every_fsync_mode_writes_a_valid_chain(log_path: Path, mode: str) -> None:
    """The fsync mode changes durability, never the format."""
    with ChainLog(log_path, fsync=mode, batch_size=4) as log:  # type: ignore[arg-type]
        fill(log, 10)
    assert verify(log_path).ok


def test_closed_log_refuses_writes(log_path: Path) -> None:
    """Closing twice is fine; appending after close raises AuditError."""
    log = ChainLog(log_path, fsync="never")
    log.close()
    log.close()
    with pytest.raises(AuditError, match="closed"):
        fill(log, 1)


def test_unopenable_path_raises_audit_error(tmp_path: Path) -> None:
    """A path that cannot be created fails as AuditError at construction."""
    with pytest.raises(AuditError, match="cannot open"):
        ChainLog(tmp_path / "missing-dir" / "audit.jsonl")


def test_sixteen_threads_make_one_chain(log_path: Path) -> None:
    """16 threads x 625 appends: one valid chain, every seq once, no record lost."""
    log = ChainLog(log_path, fsync="batch")
    seqs: list[int] = []
    guard = threading.Lock()

    def work(t: int) -> None:
        mine = [log.append("event", {"thread": t, "i": i}) for i in range(625)]
        with guard:
            seqs.extend(mine)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert sorted(seqs) == list(range(2, 10_002))
    report = verify(log_path)
    assert report.ok and report.events == 10_000
    payloads = {(r["data"]["thread"], r["data"]["i"]) for r in lines(log_path)[1:]}  # type: ignore[index]
    assert len(payloads) == 10_000


WRITER = """
import sys
from guardrail.audit.chain import ChainLog
log = ChainLog(sys.argv[1], fsync="never", rotate_bytes=int(sys.argv[3]) or None)
for i in range(int(sys.argv[2])):
    log.append("event", {"pid": __import__("os").getpid(), "i": i})
log.close()
"""


@pytest.mark.parametrize("rotate", [0, 4_000])
def test_processes_share_one_chain(log_path: Path, rotate: int) -> None:
    """Four processes appending to one path (flock) extend one chain, rotation included."""
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(log_path), "150", str(rotate)])
        for _ in range(4)
    ]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    files = [f for f in log_path.parent.glob("audit.jsonl*") if f.suffix not in (".lock",)]
    report = verify(files)
    assert report.ok, report.breaks
    assert report.events == 600
    if rotate:
        assert len(files) > 1


def test_append_cost_is_reported(log_path: Path) -> None:
    """(Smoke) appends are cheap enough to run 2,000 in well under a second unsynced."""
    import time

    with ChainLog(log_path, fsync="never") as log:
        start = time.perf_counter()
        fill(log, 2_000)
        elapsed = time.perf_counter() - start
    assert elapsed < 2.0, elapsed
    assert os.path.getsize(log_path) > 0


def test_forked_children_do_not_share_the_lock(log_path: Path) -> None:
    """A log opened before fork (pre-forking servers): parent and children still make one chain."""
    log = ChainLog(log_path, fsync="never")
    fill(log, 1)
    pids = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            try:
                warnings.simplefilter("ignore")  # the parent's garbage is not ours to judge
                fill(log, 300)
            finally:
                os._exit(0)
        pids.append(pid)
    fill(log, 300)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0
    log.close()
    report = verify(log_path)
    assert report.ok, report.breaks[:3]
    assert report.events == 1_201


def test_configuration_mistakes_are_caught(log_path: Path) -> None:
    """Bad fsync modes and checkpointing without a key are developer errors."""
    from guardrail.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        ChainLog(log_path, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        ChainLog(log_path, checkpoint_every=10)
    with ChainLog(log_path) as log, pytest.raises(ConfigurationError):
        log.checkpoint()


def test_manual_checkpoint_and_flush(log_path: Path) -> None:
    """flush() and checkpoint() work on demand in batch mode."""
    key = Ed25519PrivateKey.generate()
    with ChainLog(log_path, fsync="batch", signing_key=key) as log:
        fill(log, 3)
        log.flush()
        log.checkpoint()
        assert log.chain is not None and "seq=4" in repr(log)
    report = verify(log_path, public_keys=[key.public_key()])
    assert report.ok and report.checkpoints == 1  # close adds none: nothing new since
