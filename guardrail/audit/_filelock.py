"""The lock a :class:`~guardrail.audit.ChainLog` shares with other processes on one path.

An exclusive ``flock`` on ``<path>.lock`` keeps appends from several processes
apart. Taking it for every line costs two ``flock`` calls and a ``stat`` (to see
what others did while we did not hold it): about a third of an unsynced append.
So under ``fsync="batch"`` or ``"never"`` a process keeps the lock across a burst
of appends (:meth:`SharedLock.keep`) and looks at the file only when it takes the
lock again. Nobody else can append, rotate or cut the log meanwhile.

The lock is given back:

* as soon as another process waits for it: a waiter sets the lock file's first
  byte before it blocks (read through ``mmap``, so the holder looks for free after
  each append) and clears it once it has the lock;
* when the burst has lasted ``batch_interval`` (the log's writer thread lets go),
  so a waiter whose flag another waiter cleared waits no longer than that, and an
  outside ``rename`` or ``rm`` of the log is noticed at most that late;
* when an append fails, and on close.

The lock is never kept while this process has the same log open twice (two
``ChainLog`` objects on one path): they exclude each other like two processes, and
one would wait for the other's writer to let go.

A forked child closes its copy of the lock's descriptor at once: a child that never
touches the log would otherwise keep the parent's kept lock alive after the parent
died, and every other process would wait for it.

``flock`` is local-host only: not for NFS.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
import weakref
from collections import Counter

try:
    import fcntl
except ModuleNotFoundError:  # pragma: no cover - not POSIX: ChainLog refuses to start
    fcntl = None  # type: ignore[assignment]

HAS_FLOCK = fcntl is not None


class SharedLock:
    """``flock`` on ``<path>.lock``, kept between appends while nobody else wants it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.held = False
        """We keep the lock between appends (nobody else appended since)."""
        self.held_since = 0.0
        self._want: mmap.mmap | None = None
        self._file_id: tuple[int, int] | None = None

    def open(self) -> None:
        """Open (creating) the lock file. A forked child calls this again: a flock
        taken through an inherited descriptor is the parent's lock too, so it would
        not keep the two apart."""
        self.close()
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o640)
        st = os.fstat(self.fd)
        if st.st_size < 1:
            os.ftruncate(self.fd, 1)  # the "someone waits" byte
        self._want = mmap.mmap(self.fd, 1)
        self._file_id = (st.st_dev, st.st_ino)
        with _HERE_LOCK:
            _HERE[self._file_id] += 1
        _OPEN.add(self)

    def close(self) -> None:
        """Close the descriptor (which lets go of the lock). Idempotent."""
        self.held = False
        if self._file_id is not None:
            with _HERE_LOCK:
                _HERE[self._file_id] -= 1
            self._file_id = None
        if self._want is not None:
            self._want.close()
            self._want = None
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def take(self) -> None:
        """Wait for the lock, saying so in the lock file if someone else has it."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        want = self._want
        assert want is not None
        want[0] = 1
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        want[0] = 0

    def release(self) -> None:
        self.held = False
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def keep_or_release(self) -> None:
        """After an append: keep the lock for the next one, unless someone waits."""
        want = self._want
        if (want is not None and want[0]) or _HERE[self._file_id] > 1:
            self.release()
        elif not self.held:
            self.held = True
            self.held_since = time.monotonic()

    def kept_for(self) -> float:
        """Seconds the lock has been kept between appends (0 when not kept)."""
        return time.monotonic() - self.held_since if self.held else 0.0


_HERE: Counter[tuple[int, int] | None] = Counter()
"""Open locks in this process by lock file (device, inode)."""
_HERE_LOCK = threading.Lock()
_OPEN: weakref.WeakSet[SharedLock] = weakref.WeakSet()
"""Every open lock in this process, for the fork hook below."""


def _close_in_child() -> None:
    for lock in list(_OPEN):
        lock.close()  # the parent's lock stays the parent's; a child that logs reopens


os.register_at_fork(after_in_child=_close_in_child)
