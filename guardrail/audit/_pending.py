"""A record on its way to the audit writer thread, and how its caller is answered."""

from __future__ import annotations

import _thread
import asyncio
import contextlib

from guardrail.errors import AuditError


class Pending:
    """One record on its way: what to write, and who waits for it."""

    __slots__ = ("data", "error", "future", "kind", "lock", "loop", "seq")

    def __init__(self, kind: str, data: str) -> None:
        self.kind = kind
        self.data = data
        self.seq = 0
        self.error: AuditError | None = None
        self.lock: _thread.LockType | None = None
        self.future: asyncio.Future[int] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None


STOP = Pending("stop", "")


def answer(batch: list[Pending], first: int, error: AuditError | None) -> None:
    """Wake every caller of ``batch``: sync ones directly, async ones through their
    loop, with one callback per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
    for offset, pending in enumerate(batch):
        pending.seq, pending.error = first + offset, error
        if pending.lock is not None:
            pending.lock.release()
        elif pending.loop is not None:
            by_loop.setdefault(pending.loop, []).append(pending)
    for loop, waiting in by_loop.items():
        # A loop closed meanwhile (RuntimeError) has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, waiting)


def _resolve(waiting: list[Pending]) -> None:
    for pending in waiting:
        future = pending.future
        if future is None or future.done():
            continue
        if pending.error is not None:
            future.set_exception(pending.error)
        else:
            future.set_result(pending.seq)
