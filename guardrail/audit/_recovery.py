"""Catching a :class:`~guardrail.audit._chainfile.ChainFile` up with its path.

Under the cross-process lock, before appending, a log reads and checks whatever
other processes appended since (following a rotation they did). A bad complete
line raises :class:`AuditError`. A torn last line (a writer died mid-write, or
someone cut the file) is never healed silently: it is copied to ``<path>.torn``,
cut off, and a ``recovery`` record saying how many bytes, their SHA-256 and where
they went is appended, which ``guardrail audit verify`` reports.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from typing import TYPE_CHECKING

from guardrail.audit._format import canonical, utc_now
from guardrail.errors import AuditError

if TYPE_CHECKING:
    from guardrail.audit._chainfile import ChainFile

logger = logging.getLogger("guardrail.audit")
_CHUNK = 1 << 22
_TAIL = 1 << 20


def sync(log: ChainFile) -> None:
    """Bring ``log`` up to its path: others' appends, a rotation, a torn tail."""
    try:
        st = os.stat(log.path)
    except FileNotFoundError:
        raise AuditError(f"audit log {log.path} was removed while open") from None
    if (st.st_dev, st.st_ino) != log.ino:
        catch_up(log)  # what others wrote to the old file before rotating it
        follow_rotations(log)
    catch_up(log)
    if log.end == 0:
        log.write_first("start", previous=None)


def follow_rotations(log: ChainFile) -> None:
    """Read every file others rotated out since ours, in order, up to the live one.

    Rotated files are named ``<path>.<last seq>``, so the one after ours is the one
    with the smallest last seq above ours.
    """
    pattern = re.compile(re.escape(log.path.name) + r"\.(\d{12})")
    while True:
        later = sorted(
            int(m.group(1))
            for m in map(pattern.fullmatch, os.listdir(log.path.parent))
            if m and int(m.group(1)) > log.seq
        )
        os.close(log.fd)
        if not later:
            log.open_file()
            return
        log.open_file(log.path.with_name(f"{log.path.name}.{later[0]:012d}"))
        catch_up(log)


def catch_up(log: ChainFile) -> None:
    size = os.fstat(log.fd).st_size
    if size == log.end:
        return
    if size < log.end:
        raise AuditError(f"audit log {log.path} shrank from {log.end} to {size} bytes")
    if log.end == 0 and not log.verify_on_open and size > _TAIL:
        _read_ends(log, size)
        return
    offset, rest = log.end, b""
    while offset < size:
        chunk = os.pread(log.fd, min(_CHUNK, size - offset), offset)
        if not chunk:
            break
        offset += len(chunk)
        rest = _feed(log, rest + chunk)
    if rest:
        set_aside(log, rest)


def _feed(log: ChainFile, data: bytes) -> bytes:
    """Check the complete lines in ``data``; return the incomplete remainder."""
    cut = data.rfind(b"\n") + 1
    start = log.end
    for raw in data[:cut].split(b"\n")[:-1]:
        log.line += 1
        breaks = log.scanner.feed(raw, str(log.path), log.line, first_in_file=start == 0)
        if breaks:
            raise AuditError(f"audit log {log.path} is damaged: {breaks[0]}")
        start += len(raw) + 1
        if log.end == 0:
            stamp = log.scanner.file_first.get("time")
            log.day = str(stamp)[:10] if stamp else log.day
        log.end = start
    return data[cut:]


def _read_ends(log: ChainFile, size: int) -> None:
    """Trust the middle: check the first line and the last complete one only."""
    head = os.pread(log.fd, 1 << 16, 0)
    first = head[: head.find(b"\n") + 1]
    _feed(log, first)
    tail_at = max(len(first), size - _TAIL)
    tail = os.pread(log.fd, size - tail_at, tail_at)
    cut = tail.rfind(b"\n") + 1
    if cut:
        last_start = tail.rfind(b"\n", 0, cut - 1) + 1
        log.end = tail_at + last_start
        log.scanner.trusted = False
        _feed(log, tail[last_start:cut])
    if tail[cut:]:
        set_aside(log, tail[cut:])


def set_aside(log: ChainFile, torn: bytes) -> None:
    """Copy a torn tail to ``<path>.torn``, cut it off, and append a ``recovery`` record."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    fd = os.open(log.torn_path, flags, 0o640)
    try:
        os.write(fd, torn + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.ftruncate(log.fd, log.end)
    os.fsync(log.fd)
    if log.end == 0:
        log.write_first("start", previous=None)
    logger.warning(
        "audit log %s: set aside a torn last line (%d bytes) in %s",
        log.path,
        len(torn),
        log.torn_path,
    )
    record = {
        "time": utc_now(),
        "torn_bytes": len(torn),
        "torn_sha256": hashlib.sha256(torn).hexdigest(),
        "set_aside": log.torn_path.name,
        "after_seq": log.seq,
    }
    log.write([("recovery", canonical(record))])
