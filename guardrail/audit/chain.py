"""``ChainLog``: an append-only, hash-chained JSONL audit log."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from guardrail.audit import _chainfile, _recovery
from guardrail.audit._chainfile import ChainFile, Fsync
from guardrail.audit._format import canonical, event_json, utc_today
from guardrail.audit._writer import Writer
from guardrail.audit.checkpoint import Checkpointer
from guardrail.errors import AuditError, ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from guardrail.audit.event import AuditEvent


class ChainLog:
    """Append-only JSONL where each line carries ``seq``, ``prev`` and ``hash``.

    An :class:`~guardrail.audit.AuditSink`: ``write(event)`` (or ``await
    awrite(event)``) appends one line and returns only once the line is in the
    file, and on disk with ``fsync="always"``; anything that stops that (disk
    full, read-only, closed) raises :class:`AuditError`, so the guarded call fails
    closed. The line format is in :mod:`guardrail.audit._format`; ``guardrail
    audit verify`` checks it.

    ``key``: HMAC-SHA256 instead of plain SHA-256, so that nobody without the key
    can re-hash an edited file. ``fsync``: ``"always"`` (each append is durable
    when it returns; concurrent appends share one fdatasync), ``"batch"`` (at most
    ``batch_size`` appends or ``batch_interval`` seconds unsynced; ``flush()`` and
    ``close()`` sync) or ``"never"`` (the OS decides; a killed process loses
    nothing, a power cut may).

    One writer thread per log does every append (see :mod:`guardrail.audit._writer`):
    async callers await it and never block their loop. Several processes may open
    the same path, or inherit an open log through ``fork``: each batch is written
    under an exclusive ``flock`` on ``<path>.lock`` after catching up with what the
    others appended (following their rotations), so all extend one chain.
    ``flock`` is local-host only: not for NFS.

    Opening checks the whole file (``verify_on_open=False`` reads only its first
    and last lines). A torn last line (a writer died mid-write) is moved to
    ``<path>.torn`` and a ``recovery`` record noting its size and SHA-256 is
    appended, which ``verify`` reports; a bad complete line raises ``AuditError``.

    Rotation (``rotate_bytes`` and/or ``rotate_daily``, UTC): the file is renamed
    ``<path>.<last seq, 12 digits>`` and a new one begins with a ``rotate`` record
    whose ``prev`` is the old file's last hash, so ``verify old... new`` checks one
    chain. ``signing_key`` (Ed25519) appends a signed checkpoint to
    ``<path>.checkpoints`` every ``checkpoint_every`` records, on rotation and on
    close; without checkpoints, cutting whole records off the end is undetectable.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: bytes | str | None = None,
        *,
        fsync: Fsync = "always",
        batch_size: int = 64,
        batch_interval: float = 0.05,
        rotate_bytes: int | None = None,
        rotate_daily: bool = False,
        signing_key: Ed25519PrivateKey | bytes | str | os.PathLike[str] | None = None,
        checkpoint_every: int | None = None,
        verify_on_open: bool = True,
    ) -> None:
        _check_options(fsync, signing_key, checkpoint_every)
        self.path = Path(path)
        self.key = key.encode() if isinstance(key, str) else key
        self.fsync: Fsync = fsync
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.checkpoints_path = Path(f"{self.path}.checkpoints")
        checkpointer = None
        if signing_key is not None:
            checkpointer = Checkpointer(
                self.checkpoints_path,
                signing_key,
                every=checkpoint_every,
                durable=fsync != "never",
            )
        self._file = self._open(
            ChainFile(
                self.path,
                self.key,
                fsync=fsync,
                rotate_bytes=rotate_bytes,
                rotate_daily=rotate_daily,
                verify_on_open=verify_on_open,
                checkpointer=checkpointer,
                today=_current_day,
            )
        )
        self.torn_path = self._file.torn_path
        self._pid = os.getpid()
        self._writer = self._start_writer()

    def _open(self, file: ChainFile) -> ChainFile:
        """``file`` opened: caught up with what is on disk, a torn tail set aside."""
        try:
            file.open()
        except (OSError, AuditError) as exc:
            file.close_fds()
            if isinstance(exc, AuditError):
                raise
            raise AuditError(f"cannot open audit log {self.path}: {exc}") from exc
        return file

    # -- the sink interface --------------------------------------------------------

    def write(self, event: AuditEvent) -> None:
        """Append ``event``; raises :class:`AuditError` if it is not in the file.

        The record's ``data`` is the event's JSON form without its null fields
        (``AuditEvent.model_validate(data)`` reads it back).
        """
        data = event_json(event)
        writer = self._writer if self._pid == os.getpid() else self._current_writer()
        writer.append("event", data)

    async def awrite(self, event: AuditEvent) -> None:
        """:meth:`write` for a coroutine: waits without blocking the event loop."""
        await self._current_writer().aappend("event", event_json(event))

    def append(self, kind: Literal["event"], data: Mapping[str, Any]) -> int:
        """Append one record and return its seq."""
        return self._current_writer().append(kind, canonical(data))

    async def aappend(self, kind: Literal["event"], data: Mapping[str, Any]) -> int:
        """:meth:`append` for a coroutine."""
        return await self._current_writer().aappend(kind, canonical(data))

    @property
    def seq(self) -> int:
        """The seq of the last record this instance knows of."""
        return self._file.seq

    @property
    def chain(self) -> str | None:
        """The chain id from the log's start record."""
        return self._file.scanner.chain

    @property
    def commits(self) -> int:
        """Batches this process has written (each one ``write`` and, with
        ``fsync="always"``, one ``fdatasync``)."""
        return self._writer.commits

    def flush(self) -> None:
        """Force appended records to disk now (whatever the ``fsync`` mode)."""
        writer = self._current_writer()
        with writer.lock, self._failing("sync"):
            self._file.datasync()

    def checkpoint(self) -> None:
        """Write a signed checkpoint for the last record now (needs ``signing_key``)."""
        checkpointer = self._file.checkpointer
        if checkpointer is None:
            raise ConfigurationError("checkpoint() needs ChainLog(signing_key=...)")
        writer = self._current_writer()
        with writer.lock, self._failing("checkpoint"), self._file.flock():
            _recovery.sync(self._file)
            checkpointer.maybe(self._file.scanner, self.seq, force=True)

    def close(self) -> None:
        """Checkpoint (when signing), sync (unless ``fsync="never"``) and close. Idempotent."""
        writer = self._writer
        if writer.closed:
            return
        if self._pid == os.getpid():
            writer.close()  # writes whatever is queued first
        file = self._file
        with writer.lock:
            try:
                with _Failing(f"cannot close audit log {self.path}"):
                    if file.checkpointer is not None:
                        with file.flock():
                            _recovery.sync(file)
                            file.checkpointer.maybe(file.scanner, self.seq, final=True)
                    if self.fsync != "never":
                        file.datasync()
            finally:
                writer.close()
                file.close_fds()

    def __enter__(self) -> ChainLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChainLog({str(self.path)!r}, fsync={self.fsync!r}, seq={self.seq})"

    @property
    def _fd(self) -> int:
        """The descriptor of the live file (tests turn it read-only underneath)."""
        return self._file.fd

    # -- the writer ----------------------------------------------------------------

    def _start_writer(self) -> Writer:
        return Writer(self._file, batch_size=self.batch_size, batch_interval=self.batch_interval)

    def _current_writer(self) -> Writer:
        """This process's writer: a forked child starts its own thread and lock."""
        if self._pid != os.getpid():
            self._after_fork()
        return self._writer

    def _after_fork(self) -> None:
        if self._writer.closed:
            self._pid = os.getpid()
            return
        try:
            self._file.open_lock()
        except OSError as exc:
            raise AuditError(f"cannot reopen audit lock {self.path} after fork: {exc}") from exc
        self._pid = os.getpid()
        self._writer = self._start_writer()

    def _failing(self, doing: str) -> _Failing:
        if self._writer.closed:
            raise AuditError(f"audit log {self.path} is closed")
        return _Failing(f"cannot {doing} audit log {self.path}")


def _today() -> str:
    return utc_today()


def _current_day() -> str:
    # Looked up at each call, so the day can be moved forward (the rotation tests).
    return _today()


class _Failing:
    """Turns an ``OSError`` into an :class:`AuditError` saying what failed."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _: Any) -> None:
        if isinstance(exc, OSError):
            raise AuditError(f"{self.message}: {exc}") from exc


def _check_options(fsync: str, signing_key: object, checkpoint_every: int | None) -> None:
    if not _chainfile.HAS_FLOCK:  # pragma: no cover - not POSIX
        raise ConfigurationError("ChainLog needs a POSIX system (fcntl.flock)")
    if fsync not in ("always", "batch", "never"):
        raise ConfigurationError(f"fsync must be 'always', 'batch' or 'never', not {fsync!r}")
    if checkpoint_every is not None and signing_key is None:
        raise ConfigurationError("checkpoint_every needs ChainLog(signing_key=...)")
