"""The one thread that appends to a :class:`~guardrail.audit._chainfile.ChainFile`.

Callers hand over ``(kind, data JSON)`` and wait for their record's seq: a sync
caller on a lock the writer releases, an async caller on a future the writer
resolves through the loop (so the loop never waits on the disk). The writer takes
everything queued, writes it with ONE ``write`` under ONE ``flock`` and, with
``fsync="always"``, ONE ``fdatasync`` before anyone is answered: group commit, so
concurrent callers share a sync while each record is still on disk before its
caller goes on. With ``fsync="batch"`` callers are answered once their lines are
in the file and the writer syncs every ``batch_size`` lines or ``batch_interval``
seconds, also when no more appends come.

A sync caller that finds the file idle (nothing queued, nobody writing) under
``fsync="batch"`` or ``"never"`` appends its line itself: there is no sync for
others to share, and the hand-over to the writer (two thread switches) cost
twice the append. It wakes the writer only when a sync falls due or the writer
sleeps without a deadline, so batch syncs still happen when appends stop. Under
``fsync="always"`` every line goes through the writer, so concurrent callers
share each fdatasync, and the writer waits a little for a group to refill (see
``Writer._gather``).

Under ``"batch"`` and ``"never"`` the file keeps the cross-process lock across a
burst of appends (:mod:`guardrail.audit._filelock`); the writer gives it back once
it has been kept ``batch_interval`` seconds, so it also wakes on that deadline.
"""

from __future__ import annotations

import _thread
import asyncio
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from guardrail.audit._pending import STOP, Pending, answer
from guardrail.errors import AuditError

if TYPE_CHECKING:
    from guardrail.audit._chainfile import ChainFile

logger = logging.getLogger("guardrail.audit")


class Writer:
    """Owns the appends to one file. ``lock`` is held while the file is touched."""

    def __init__(
        self,
        file: ChainFile,
        *,
        batch_size: int,
        batch_interval: float,
        group_wait: float | None = None,
    ) -> None:
        self.file = file
        self.group_wait = group_wait
        """``fsync="always"``: the longest wait for a group to refill (``None``: as long
        as the last fdatasync took, which at most doubles a record's wait)."""
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.lock = threading.Lock()
        self.commits = 0
        """Batches written (with ``fsync="always"``: fdatasyncs shared by their callers)."""
        self._queue: deque[Pending] = deque()
        # A bare lock as the wake-up signal (held while there is nothing to do): half
        # the cost of an Event per hand-over. ``_gate`` guards the queue's "empty, the
        # writer sleeps" state and orders enqueueing against close.
        self._wake = _thread.allocate_lock()
        self._wake.acquire()
        self._sleeping = False
        self._sleeping_forever = False
        """The writer sleeps with no deadline (nothing unsynced when it went to sleep)."""
        self._gate = threading.Lock()
        self._closed = False
        self._sync_failure: OSError | None = None
        self._wanted = 1
        """Queued records that wake a sleeping writer (more while it gathers a group)."""
        self._group = 1
        self._sync_took = 0.0
        self._thread = threading.Thread(
            target=self._run, name=f"guardrail-audit {file.path.name}", daemon=True
        )
        self._thread.start()

    # -- callers -----------------------------------------------------------------------

    def append(self, kind: str, data: str) -> int:
        if self.file.fsync != "always" and self.lock.acquire(blocking=False):
            try:
                with self._gate:
                    idle = not self._queue and not self._closed
                if idle:
                    return self._append_here(kind, data)
            finally:
                self.lock.release()
        pending = Pending(kind, data)
        waiter = pending.lock = _thread.allocate_lock()
        waiter.acquire()
        self._enqueue(pending)
        waiter.acquire()  # released by the writer once the record is in
        if pending.error is not None:
            raise pending.error
        return pending.seq

    def _append_here(self, kind: str, data: str) -> int:  # under lock, the queue empty
        try:
            first = self._write([(kind, data)])
        except AuditError:
            raise
        except Exception as exc:
            raise _append_error(self.file, exc) from exc
        file = self.file
        if file.fsync == "batch" or file.lock.held:
            due = file.fsync == "batch" and file.sync_due(self.batch_size, self.batch_interval)
            with self._gate:
                if due or self._sleeping_forever:
                    self._wake_writer()  # it syncs now or sets its batch_interval deadline
        return first

    async def aappend(self, kind: str, data: str) -> int:
        pending = Pending(kind, data)
        pending.loop = asyncio.get_running_loop()
        future = pending.future = pending.loop.create_future()
        self._enqueue(pending)
        # A cancelled caller stops waiting; its record is still written.
        seq: int = await future
        return seq

    def close(self) -> None:
        """Write what is queued, then stop the thread. Idempotent."""
        with self._gate:
            if self._closed:
                return
            self._closed = True
            self._queue.append(STOP)
            self._wake_writer()
        if self._thread is not threading.current_thread():
            self._thread.join()

    @property
    def closed(self) -> bool:
        return self._closed

    def _enqueue(self, pending: Pending) -> None:
        with self._gate:
            if self._closed:
                raise AuditError(f"audit log {self.file.path} is closed")
            self._queue.append(pending)
            if len(self._queue) >= self._wanted:
                self._wake_writer()

    def _wake_writer(self) -> None:  # under _gate
        if self._sleeping:
            self._sleeping = self._sleeping_forever = False
            self._wake.release()

    # -- the writer thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._sleep()
            if self.file.fsync == "always":
                self._gather()
            batch = self._drain()
            stop = bool(batch) and batch[-1] is STOP
            if stop:
                batch.pop()
            if batch:
                self._commit(batch)
            if self.file.fsync == "batch":
                self._sync_if_due(force=stop)
            if self.file.lock.held:
                self._release_if_kept_long()
            if stop:
                return

    def _sleep(self) -> None:
        """Wait until something is queued, or ``batch_interval`` while lines are unsynced.

        Decided under ``_gate``: a caller that appended in its own thread counted its
        line before taking ``_gate``, and wakes a writer that sleeps without a deadline.
        """
        with self._gate:
            if self._queue:
                return
            timeout = self._deadline()
            self._sleeping = True
            self._sleeping_forever = timeout < 0
        if self._wake.acquire(timeout=timeout):
            return
        with self._gate:
            if self._sleeping:  # timed out, nobody woke us
                self._sleeping = False
                return
        self._wake.acquire()  # woken just after the timeout: take the signal back

    def _gather(self) -> None:
        """``fsync="always"``: wait, at most as long as the last fdatasync took, until
        as many records are queued as the last group held. The callers that group
        answered are still building their next records; without the wait the first
        of them gets a sync of its own and the group halves (PostgreSQL's
        ``commit_delay``, sized by the group and the disk instead of by hand)."""
        wait = self._sync_took if self.group_wait is None else self.group_wait
        deadline = time.monotonic() + wait
        while True:
            with self._gate:
                left = deadline - time.monotonic()
                if len(self._queue) >= self._group or self._closed or left <= 0:
                    self._wanted = 1
                    return
                self._wanted = self._group
                self._sleeping = True
            if not self._wake.acquire(timeout=left):
                with self._gate:
                    if self._sleeping:  # timed out, nobody woke us
                        self._sleeping = False
                        self._wanted = 1
                        return
                self._wake.acquire()  # woken just after the timeout: take the signal back

    def _deadline(self) -> float:
        """Seconds until a sync or a lock release falls due (-1: nothing due)."""
        file = self.file
        lock = file.lock
        timeout = -1.0
        if file.fsync == "batch" and file.unsynced > 0:
            timeout = self.batch_interval
        if lock.held:
            release_in = max(self.batch_interval - lock.kept_for(), 0.0)
            timeout = release_in if timeout < 0 else min(timeout, release_in)
        return timeout

    def _release_if_kept_long(self) -> None:
        """Give the cross-process lock back once it has been kept ``batch_interval``."""
        with self.lock:
            lock = self.file.lock
            if lock.held and lock.kept_for() >= self.batch_interval:
                try:
                    lock.release()
                except OSError as exc:  # the descriptor is gone: nothing is kept
                    logger.error("audit log %s: cannot release lock: %s", self.file.path, exc)

    def _drain(self) -> list[Pending]:
        queue, batch = self._queue, []
        while queue:
            batch.append(queue.popleft())
        return batch

    def _commit(self, batch: list[Pending]) -> None:
        file, error, first = self.file, None, 0
        with self.lock:
            try:
                started = time.monotonic()
                first = self._write([(p.kind, p.data) for p in batch])
                self._group, self._sync_took = len(batch), time.monotonic() - started
            except AuditError as exc:
                error = exc
            except Exception as exc:  # OSError, or anything else: nobody may hang
                error = _append_error(file, exc)
                error.__cause__ = exc
        answer(batch, first, error)

    def _write(self, records: list[tuple[str, str]]) -> int:  # under lock
        file = self.file
        if self._sync_failure is not None:  # batch mode: the last sync failed
            file.datasync()
            self._sync_failure = None
        first = file.append(records)
        self.commits += 1
        return first

    def _sync_if_due(self, *, force: bool) -> None:
        with self.lock:
            file = self.file
            if not (force and file.unsynced) and not file.sync_due(
                self.batch_size, self.batch_interval
            ):
                return
            try:
                file.datasync()
            except OSError as exc:
                # Fail closed: the next appends are refused until a sync succeeds.
                logger.error("audit log %s: fdatasync failed: %s", file.path, exc)
                self._sync_failure = exc


def _append_error(file: ChainFile, exc: Exception) -> AuditError:
    return AuditError(f"cannot append to audit log {file.path}: {exc}")
