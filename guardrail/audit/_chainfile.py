"""The file side of a :class:`~guardrail.audit.ChainLog`: descriptors, the lock
shared with other processes, the chain's position, appending lines and rotating.

Only the log's writer thread (and ``flush``/``checkpoint``/``close``, under the
writer's lock) touch a ``ChainFile``; it does no locking between threads itself.
The lock between processes is :class:`~guardrail.audit._filelock.SharedLock`.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from guardrail.audit import _recovery
from guardrail.audit._filelock import HAS_FLOCK, SharedLock
from guardrail.audit._format import (
    ALG_HMAC,
    ALG_SHA256,
    GENESIS,
    Scanner,
    canonical,
    encode,
    utc_now,
    utc_today,
)
from guardrail.audit.checkpoint import Checkpointer

__all__ = ["HAS_FLOCK", "ChainFile", "Fsync"]

Fsync = Literal["always", "batch", "never"]


class ChainFile:
    """One chained log file (and the files rotated out of it), as this process sees it."""

    def __init__(
        self,
        path: Path,
        key: bytes | None,
        *,
        fsync: Fsync,
        rotate_bytes: int | None,
        rotate_daily: bool,
        verify_on_open: bool,
        checkpointer: Checkpointer | None,
        today: Callable[[], str] = utc_today,
    ) -> None:
        self.path = path
        self.path_text = str(path)
        """``path`` as text: ``os.stat`` takes it without a conversion per append."""
        self.key = key
        self.fsync = fsync
        self.rotate_bytes = rotate_bytes
        self.rotate_daily = rotate_daily
        self.verify_on_open = verify_on_open
        self.checkpointer = checkpointer
        self.today = today
        """The UTC date (ISO); the day a file began decides a daily rotation."""
        self.torn_path = Path(f"{path}.torn")
        self.scanner = Scanner(key=key)
        self.fd = -1
        self.lock = SharedLock(f"{path}.lock")
        self.keeps_lock = fsync != "always"
        """Whether the lock is kept across a burst of appends (see ``_filelock``); with
        ``fsync="always"`` each group commit takes it, its fdatasync costing far more."""
        self.ino: tuple[int, int] = (0, 0)
        self.end = 0
        """Bytes of the current file this process has read or written (a line end)."""
        self.line = 0
        self.day = today()
        self.unsynced = 0
        self.synced_at = time.monotonic()

    @property
    def seq(self) -> int:
        expected = self.scanner.expected
        return expected - 1 if expected is not None else 0

    # -- descriptors -------------------------------------------------------------------

    def open(self) -> None:
        """Open (creating) the file and its lock, then check and catch up with it."""
        self.open_lock()
        self.open_file()
        with self.flock():
            _recovery.sync(self)
            if self.fsync == "always" and self.unsynced:
                self.datasync()

    def open_lock(self) -> None:
        self.lock.open()

    def open_file(self, rotated: Path | None = None) -> None:
        if rotated is not None:
            self.fd = os.open(rotated, os.O_RDONLY | os.O_CLOEXEC)
        else:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            self.fd = os.open(self.path, flags, 0o640)
        st = os.fstat(self.fd)
        self.ino = (st.st_dev, st.st_ino)
        self.end = 0
        self.line = 0

    def close_fds(self) -> None:
        with contextlib.suppress(OSError):
            self.lock.close()
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = -1

    @contextlib.contextmanager
    def flock(self) -> Iterator[None]:
        """Exclusive use of the path among processes (local host only: not NFS)."""
        lock = self.lock
        if lock.held:  # kept since our last append: nobody else touched the file
            yield
            return
        lock.take()
        try:
            yield
        finally:
            lock.release()

    def datasync(self) -> None:
        os.fdatasync(self.fd)
        self.unsynced = 0
        self.synced_at = time.monotonic()

    def sync_due(self, batch_size: int, batch_interval: float) -> bool:
        """Whether ``fsync="batch"`` owes the disk a sync now."""
        return self.unsynced > 0 and (
            self.unsynced >= batch_size or time.monotonic() - self.synced_at >= batch_interval
        )

    def sync_dir(self) -> None:
        if self.fsync == "never":
            return
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- appending (the caller holds ``flock``) ----------------------------------------

    def stale(self) -> bool:
        """Whether someone else touched the path since our last append (one ``stat``):
        a different file (rotated) or not the size we left it at."""
        try:
            st = os.stat(self.path_text)
        except FileNotFoundError:
            return True
        return st.st_size != self.end or (st.st_dev, st.st_ino) != self.ino or not self.end

    def append(self, records: Sequence[tuple[str, str]]) -> int:
        """Append ``(kind, data JSON)`` records after whatever is in the file now, in
        one write under the lock (synced with ``fsync="always"``); return the first
        one's seq. The file is looked at (one ``stat``) only when the lock was not
        kept since our last append: then others may have appended or rotated."""
        lock = self.lock
        looked = lock.held
        if not looked:
            lock.take()
        try:
            if not looked and self.stale():
                _recovery.sync(self)  # says so if the file was removed
            if self.rotate_bytes is not None or self.rotate_daily:
                self.maybe_rotate()
            first = self.write(records)
            if self.checkpointer is not None:
                self.checkpointer.maybe(self.scanner, self.seq)
            if self.fsync == "always":
                self.datasync()
        except BaseException:
            lock.release()  # the next append looks at the file again
            raise
        if self.keeps_lock:
            lock.keep_or_release()
        else:
            lock.release()
        return first

    def write(self, records: Sequence[tuple[str, str]]) -> int:
        scanner = self.scanner
        first = seq = scanner.expected or 1
        prev = scanner.last_hash or GENESIS
        if len(records) == 1:  # the usual batch: one caller's line
            kind, data_json = records[0]
            line, prev = encode(seq, kind, prev, data_json, self.key)
            self._put(line, 1)
            scanner.appended(seq, prev)
            return seq
        lines, hashes = [], []
        for kind, data_json in records:
            line, prev = encode(seq, kind, prev, data_json, self.key)
            lines.append(line)
            hashes.append(prev)
            seq += 1
        self._put(b"".join(lines), len(lines))
        for offset, hash_ in enumerate(hashes):
            scanner.appended(first + offset, hash_)
        return first

    def _put(self, blob: bytes, count: int) -> None:
        """Write ``count`` whole lines at the end of the file."""
        written = os.write(self.fd, blob)
        if written != len(blob):
            # The file now ends in a torn line; the next append sets it aside.
            raise OSError(f"short write ({written} of {len(blob)} bytes)")
        self.end += written
        self.line += count
        self.unsynced += count

    def write_first(self, kind: Literal["start", "rotate"], previous: str | None) -> None:
        data: dict[str, object] = {
            "chain": self.scanner.chain or uuid.uuid4().hex,
            "alg": ALG_HMAC if self.key is not None else ALG_SHA256,
            "time": utc_now(),
            "version": 1,
            "checkpoint_key": self.checkpointer.key_id if self.checkpointer else None,
        }
        if previous is not None:
            data["previous"] = previous
        self.scanner.chain = str(data["chain"])
        self.scanner.alg = str(data["alg"])
        self.scanner.file_first = data
        self.day = str(data["time"])[:10]
        self.write([(kind, canonical(data))])
        self.sync_dir()

    def maybe_rotate(self) -> None:
        due = (self.rotate_bytes is not None and self.end >= self.rotate_bytes) or (
            self.rotate_daily and self.day != self.today()
        )
        if not due or self.scanner.records == 0:
            return
        target = self.path.with_name(f"{self.path.name}.{self.seq:012d}")
        if self.checkpointer is not None:
            self.checkpointer.maybe(self.scanner, self.seq, final=True)  # sign the file's end
        if self.fsync != "never":
            self.datasync()
        os.rename(self.path, target)
        os.close(self.fd)
        self.open_file()
        self.write_first("rotate", previous=target.name)
