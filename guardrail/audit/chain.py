"""``ChainLog``: an append-only, hash-chained JSONL audit log."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from guardrail.audit import checkpoint as _ckpt
from guardrail.audit._format import (
    ALG_HMAC,
    ALG_SHA256,
    GENESIS,
    Scanner,
    canonical,
    encode,
    event_json,
)
from guardrail.audit.event import AuditEvent
from guardrail.errors import AuditError, ConfigurationError

try:
    import fcntl
except ModuleNotFoundError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

FsyncMode = Literal["always", "batch", "never"]
logger = logging.getLogger("guardrail.audit")
_CHUNK = 1 << 22
_TAIL = 1 << 20


class ChainLog:
    """Append-only JSONL where each line carries ``seq``, ``prev`` and ``hash``.

    An :class:`~guardrail.audit.AuditSink`: ``write(event)`` appends one line and
    returns only once the line is in the file (and on disk with ``fsync="always"``);
    anything that stops that (disk full, read-only, closed) raises
    :class:`AuditError`, so the guarded call fails closed. The line format is in
    :mod:`guardrail.audit._format`; ``guardrail audit verify`` checks it.

    ``key``: HMAC-SHA256 instead of plain SHA-256, so that nobody without the key
    can re-hash an edited file. ``fsync``: ``"always"`` (each append is durable
    when it returns), ``"batch"`` (at most ``batch_size`` appends or
    ``batch_interval`` seconds unsynced, checked on append; ``flush()``/``close()``
    sync) or ``"never"`` (the OS decides; a killed process loses nothing, a power
    cut may).

    Opening: the whole current file is checked (``verify_on_open=False`` reads
    only its first and last lines). A torn last line (a writer died mid-write) is
    moved to ``<path>.torn`` and a ``recovery`` record noting its size and SHA-256
    is appended; a bad complete line anywhere raises :class:`AuditError`.

    Rotation (``rotate_bytes`` and/or ``rotate_daily``, UTC): the file is renamed
    ``<path>.<last seq, 12 digits>`` and a new one begins with a ``rotate`` record
    whose ``prev`` is the old file's last hash, so ``verify old... new`` checks one
    chain. ``signing_key`` (Ed25519) appends a signed checkpoint to
    ``<path>.checkpoints`` every ``checkpoint_every`` records, on rotation and on close;
    without checkpoints, cutting whole records off the end is undetectable.

    Concurrency: threads share one instance (a lock orders appends). Several
    processes may open the same path, or inherit an open log through ``fork``
    (pre-forking servers; the child takes its own lock descriptor on first use).
    Each append holds an exclusive ``fcntl.flock`` on ``<path>.lock``, first
    reads and checks whatever other processes appended (following a rotation
    they did), then writes, so all of them extend one chain. One ``stat`` of the
    path tells whether there is anything to read: when it is still our file and
    still the size our last append left, nobody else wrote. ``flock`` is
    local-host only: not for NFS.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: bytes | str | None = None,
        *,
        # Spelled out (not ``FsyncMode``) so that the signature shows the choices, as
        # text too: the benchmark runner reads "batch" from it.
        fsync: Literal["always", "batch", "never"] = "always",
        batch_size: int = 64,
        batch_interval: float = 0.05,
        rotate_bytes: int | None = None,
        rotate_daily: bool = False,
        signing_key: Ed25519PrivateKey | bytes | str | os.PathLike[str] | None = None,
        checkpoint_every: int | None = None,
        verify_on_open: bool = True,
    ) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            raise ConfigurationError("ChainLog needs a POSIX system (fcntl.flock)")
        if fsync not in ("always", "batch", "never"):
            raise ConfigurationError(f"fsync must be 'always', 'batch' or 'never', not {fsync!r}")
        if checkpoint_every is not None and signing_key is None:
            raise ConfigurationError("checkpoint_every needs ChainLog(signing_key=...)")
        self.path = Path(path)
        self.key = key.encode() if isinstance(key, str) else key
        self.fsync = fsync
        self.batch_size = batch_size
        self.batch_interval = batch_interval
        self.rotate_bytes = rotate_bytes
        self.rotate_daily = rotate_daily
        self.checkpoint_every = checkpoint_every
        self.checkpoints_path = Path(f"{self.path}.checkpoints")
        self.torn_path = Path(f"{self.path}.torn")
        self._signer = _ckpt.private_key(signing_key) if signing_key is not None else None
        self._key_id = _ckpt.fingerprint(self._signer.public_key()) if self._signer else None
        self._lock = threading.Lock()
        self._scanner = Scanner(key=self.key)
        self._closed = False
        self._fd = -1
        self._ino: tuple[int, int] = (0, 0)
        self._end = 0
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self._checkpointed = 0
        self._day = _today()
        self._line = 0
        self._verify_on_open = verify_on_open
        self._pid = os.getpid()
        try:
            self._lock_fd = os.open(
                f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640
            )
            self._open_file()
            with self._flock():
                self._sync()
        except OSError as exc:
            self._close_fds()
            raise AuditError(f"cannot open audit log {self.path}: {exc}") from exc
        except AuditError:
            self._close_fds()
            raise

    # -- the sink interface --------------------------------------------------------

    def write(self, event: AuditEvent) -> None:
        """Append ``event``; raises :class:`AuditError` if it is not in the file.

        The record's ``data`` is the event's JSON form without its null fields
        (``AuditEvent.model_validate(data)`` reads it back).
        """
        self._append("event", event_json(event))

    def append(self, kind: Literal["event"], data: dict[str, Any]) -> int:
        """Append one record and return its seq."""
        return self._append(kind, canonical(data))

    def _append(self, kind: str, data_json: str) -> int:
        if self._pid != os.getpid():
            self._after_fork()
        # The hot path: _writing()'s checks inlined, and the catch-up only when one
        # stat says someone else touched the file since our last append.
        with self._lock:
            if self._closed:
                raise AuditError(f"audit log {self.path} is closed")
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                try:
                    # One stat tells whether anyone else touched the file since our
                    # last append: the same file (no rotation) and the size we left.
                    try:
                        st = os.stat(self.path)
                    except FileNotFoundError:
                        st = None
                    if (
                        st is None
                        or st.st_size != self._end
                        or (st.st_dev, st.st_ino) != self._ino
                        or not self._end
                    ):
                        self._sync()  # says so if the file was removed
                    if self.rotate_bytes is not None or self.rotate_daily:
                        self._maybe_rotate()
                    seq = self._write(kind, data_json)
                    if self._signer is not None:
                        self._maybe_checkpoint(seq, force=False)
                finally:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise AuditError(f"cannot append to audit log {self.path}: {exc}") from exc
            return seq

    @property
    def seq(self) -> int:
        """The seq of the last record this instance knows of."""
        expected = self._scanner.expected
        return expected - 1 if expected is not None else 0

    @property
    def chain(self) -> str | None:
        """The chain id from the log's start record."""
        return self._scanner.chain

    def flush(self) -> None:
        """Force appended records to disk now (whatever the ``fsync`` mode)."""
        with self._writing("sync", shared=False):
            self._datasync(self._fd)

    def checkpoint(self) -> None:
        """Write a signed checkpoint for the last record now (needs ``signing_key``)."""
        if self._signer is None:
            raise ConfigurationError("checkpoint() needs ChainLog(signing_key=...)")
        with self._writing("checkpoint"):
            self._maybe_checkpoint(self.seq, force=True)

    def close(self) -> None:
        """Checkpoint (when signing), sync (unless ``fsync="never"``) and close. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._signer is not None:
                    with self._flock():
                        self._sync()
                        self._maybe_checkpoint(self.seq, force=False, final=True)
                if self.fsync != "never":
                    self._datasync(self._fd)
            except OSError as exc:
                raise AuditError(f"cannot close audit log {self.path}: {exc}") from exc
            finally:
                self._close_fds()

    def __enter__(self) -> ChainLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChainLog({str(self.path)!r}, fsync={self.fsync!r}, seq={self.seq})"

    # -- files ---------------------------------------------------------------------

    def _after_fork(self) -> None:
        """In a forked child: take a lock descriptor of our own.

        A flock taken through an inherited descriptor is the parent's lock too, so
        it would not keep the two apart. The log descriptor itself can be shared:
        writes use O_APPEND and reads pread, so its shared offset does not matter.
        """
        self._lock = threading.Lock()
        self._pid = os.getpid()
        if self._closed:
            return
        try:
            os.close(self._lock_fd)
            flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
            self._lock_fd = os.open(f"{self.path}.lock", flags, 0o640)
        except OSError as exc:
            raise AuditError(f"cannot reopen audit lock {self.path} after fork: {exc}") from exc

    def _open_file(self, rotated: Path | None = None) -> None:
        if rotated is not None:
            self._fd = os.open(rotated, os.O_RDONLY | os.O_CLOEXEC)
        else:
            flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            self._fd = os.open(self.path, flags, 0o640)
        st = os.fstat(self._fd)
        self._ino = (st.st_dev, st.st_ino)
        self._end = 0
        self._line = 0

    def _close_fds(self) -> None:
        for fd in (self._fd, getattr(self, "_lock_fd", -1)):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock_fd = -1

    @contextlib.contextmanager
    def _writing(self, doing: str, *, shared: bool = True) -> Iterator[None]:
        """Hold the thread lock of an open log; an ``OSError`` becomes ``AuditError``.

        ``shared``: also hold the file lock, caught up with what other writers added.
        """
        with self._lock:
            if self._closed:
                raise AuditError(f"audit log {self.path} is closed")
            try:
                if not shared:
                    yield
                    return
                with self._flock():
                    self._sync()
                    yield
            except OSError as exc:
                raise AuditError(f"cannot {doing} audit log {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _flock(self) -> Iterator[None]:
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _datasync(self, fd: int) -> None:
        os.fdatasync(fd)
        self._unsynced = 0
        self._synced_at = time.monotonic()

    def _sync_dir(self) -> None:
        if self.fsync == "never":
            return
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- catching up with the file ----------------------------------------------------

    def _sync(self) -> None:
        """Bring our view up to the file: others' appends, a rotation, a torn tail."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise AuditError(f"audit log {self.path} was removed while open") from None
        if (st.st_dev, st.st_ino) != self._ino:
            self._catch_up()  # what others wrote to the old file before rotating it
            self._follow_rotations()
        self._catch_up()
        if self._end == 0:
            self._write_first("start", previous=None)

    def _follow_rotations(self) -> None:
        """Read every file others rotated out since ours, in order, up to the live one.

        Rotated files are named ``<path>.<last seq>``, so the one after ours is
        the one with the smallest last seq above ours.
        """
        pattern = re.compile(re.escape(self.path.name) + r"\.(\d{12})")
        while True:
            later = sorted(
                int(m.group(1))
                for m in map(pattern.fullmatch, os.listdir(self.path.parent))
                if m and int(m.group(1)) > self.seq
            )
            os.close(self._fd)
            if not later:
                self._open_file()
                return
            self._open_file(self.path.with_name(f"{self.path.name}.{later[0]:012d}"))
            self._catch_up()

    def _catch_up(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == self._end:
            return
        if size < self._end:
            raise AuditError(f"audit log {self.path} shrank from {self._end} to {size} bytes")
        if self._end == 0 and not self._verify_on_open and size > _TAIL:
            self._read_ends(size)
            return
        offset, rest = self._end, b""
        while offset < size:
            chunk = os.pread(self._fd, min(_CHUNK, size - offset), offset)
            if not chunk:
                break
            offset += len(chunk)
            rest = self._feed(rest + chunk)
        if rest:
            self._recover(rest)

    def _feed(self, data: bytes) -> bytes:
        """Check the complete lines in ``data``; return the incomplete remainder."""
        cut = data.rfind(b"\n") + 1
        start = self._end
        for raw in data[:cut].split(b"\n")[:-1]:
            self._line += 1
            breaks = self._scanner.feed(raw, str(self.path), self._line, first_in_file=start == 0)
            if breaks:
                raise AuditError(f"audit log {self.path} is damaged: {breaks[0]}")
            start += len(raw) + 1
            if self._end == 0:
                self._note_first_line()
            self._end = start
        return data[cut:]

    def _read_ends(self, size: int) -> None:
        """Trust the middle: check the first line and the last complete one only."""
        head = os.pread(self._fd, 1 << 16, 0)
        first = head[: head.find(b"\n") + 1]
        self._feed(first)
        tail_at = max(len(first), size - _TAIL)
        tail = os.pread(self._fd, size - tail_at, tail_at)
        cut = tail.rfind(b"\n") + 1
        if cut:
            last_start = tail.rfind(b"\n", 0, cut - 1) + 1
            self._end = tail_at + last_start
            self._scanner.trusted = False
            self._feed(tail[last_start:cut])
        if tail[cut:]:
            self._recover(tail[cut:])

    def _note_first_line(self) -> None:
        stamp = self._scanner.file_first.get("time")
        self._day = str(stamp)[:10] if stamp else _today()

    def _recover(self, torn: bytes) -> None:
        """Set a torn tail aside in ``<path>.torn``, cut it off, and record that."""
        fd = os.open(self.torn_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            os.write(fd, torn + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.ftruncate(self._fd, self._end)
        os.fsync(self._fd)
        if self._end == 0:
            self._write_first("start", previous=None)
        seq = self._scanner.expected
        logger.warning(
            "audit log %s: set aside a torn last line (%d bytes) in %s",
            self.path,
            len(torn),
            self.torn_path,
        )
        self._write(
            "recovery",
            canonical(
                {
                    "time": _now(),
                    "torn_bytes": len(torn),
                    "torn_sha256": hashlib.sha256(torn).hexdigest(),
                    "set_aside": self.torn_path.name,
                    "after_seq": (seq - 1) if seq else 0,
                }
            ),
        )

    # -- writing -----------------------------------------------------------------

    def _write_first(self, kind: Literal["start", "rotate"], previous: str | None) -> None:
        data: dict[str, Any] = {
            "chain": self._scanner.chain or uuid.uuid4().hex,
            "alg": ALG_HMAC if self.key is not None else ALG_SHA256,
            "time": _now(),
            "version": 1,
            "checkpoint_key": self._key_id,
        }
        if previous is not None:
            data["previous"] = previous
        self._scanner.chain = data["chain"]
        self._scanner.alg = data["alg"]
        self._scanner.file_first = data
        self._day = data["time"][:10]
        self._write(kind, canonical(data))
        self._sync_dir()

    def _write(self, kind: str, data_json: str) -> int:
        scanner = self._scanner
        seq = scanner.expected or 1
        prev = scanner.last_hash or GENESIS
        line, hexdigest = encode(seq, kind, prev, data_json, self.key)
        written = os.write(self._fd, line)
        if written != len(line):
            # The file now ends in a torn line; the next append sets it aside.
            raise OSError(f"short write ({written} of {len(line)} bytes)")
        self._end += written
        self._line += 1
        scanner.appended(seq, hexdigest)
        self._unsynced += 1
        if self.fsync == "always" or (
            self.fsync == "batch"
            and (
                self._unsynced >= self.batch_size
                or time.monotonic() - self._synced_at >= self.batch_interval
            )
        ):
            self._datasync(self._fd)
        return seq

    def _maybe_rotate(self) -> None:
        due = (self.rotate_bytes is not None and self._end >= self.rotate_bytes) or (
            self.rotate_daily and self._day != _today()
        )
        if not due or self._scanner.records == 0:
            return
        target = self.path.with_name(f"{self.path.name}.{self.seq:012d}")
        self._maybe_checkpoint(self.seq, force=False, final=True)  # sign the file's end
        if self.fsync != "never":
            self._datasync(self._fd)
        os.rename(self.path, target)
        os.close(self._fd)
        self._open_file()
        self._write_first("rotate", previous=target.name)

    def _maybe_checkpoint(self, seq: int, *, force: bool, final: bool = False) -> None:
        if self._signer is None or self._scanner.chain is None or seq <= 0:
            return
        every = self.checkpoint_every
        due = force or (final and seq > self._checkpointed)
        due = due or (every is not None and seq - self._checkpointed >= every)
        if not due or self._scanner.last_hash is None:
            return
        point = _ckpt.sign(self._signer, self._scanner.chain, seq, self._scanner.last_hash)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        fd = os.open(self.checkpoints_path, flags, 0o640)
        try:
            os.write(fd, point.to_line())
            if self.fsync != "never":
                os.fsync(fd)
        finally:
            os.close(fd)
        self._checkpointed = seq


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()
