"""Check hash-chained audit logs: every line, every link, and the signed checkpoints."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from guardrail.audit import checkpoint as _ckpt
from guardrail.audit._format import Break, Scanner, guess_seq, parse

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["Break", "Recovery", "VerifyReport", "verify", "verify_bytes"]

_SIDECARS = (".checkpoints", ".lock", ".torn")
_RECOVERY = re.compile(rb'^\{"seq":\d{1,18},"kind":"recovery",')


@dataclass(frozen=True, slots=True)
class Recovery:
    """A ``recovery`` record: on reopen, the writer found a torn last line and set it aside.

    The chain stays valid, but whatever that line held is no longer in it, and
    whoever cut it need not have held the log's key: the writer that recovered
    signs the recovery record with its own key. So a recovery is reported apart
    from breaks, and is worth looking at (``set_aside`` holds the cut bytes).
    """

    seq: int
    file: str
    line: int
    torn_bytes: int | None = None
    after_seq: int | None = None
    set_aside: str | None = None

    def __str__(self) -> str:
        size = f"{self.torn_bytes} bytes" if self.torn_bytes is not None else "some bytes"
        after = f" after seq {self.after_seq}" if self.after_seq is not None else ""
        where = f" into {self.set_aside}" if self.set_aside else ""
        return (
            f"warning: seq {self.seq} ({self.file}:{self.line}): recovery record: a torn "
            f"last line ({size}){after} was cut off and set aside{where}; the record it "
            "held is not in the chain (a crash mid-write, or a cut by someone without the key)"
        )


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify` found. ``ok`` when there is no break."""

    files: list[str]
    records: int = 0
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    chain: str | None = None
    checkpoints: int = 0
    """Signed checkpoints checked against the chain."""
    breaks: list[Break] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    """Recovery records: torn tails the writer set aside (not breaks, but not clean)."""

    @property
    def ok(self) -> bool:
        """No break. A log with recoveries is still ``ok``; see :attr:`clean`."""
        return not self.breaks

    @property
    def clean(self) -> bool:
        """No break and no recovery record."""
        return not self.breaks and not self.recoveries

    def summary(self) -> str:
        if not self.ok:
            return f"FAILED: {len(self.breaks)} problem(s) in {self.records} records"
        span = f"seq {self.first_seq}..{self.last_seq}" if self.records else "empty"
        ckpt = f", {self.checkpoints} signed checkpoint(s)" if self.checkpoints else ""
        status = "OK" if self.clean else f"OK with {len(self.recoveries)} recovery record(s)"
        return (
            f"{status}: {self.records} records ({self.events} events) in {len(self.files)} "
            f"file(s), {span}{ckpt}"
        )


def verify(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    key: bytes | str | None = None,
    public_keys: Iterable[Ed25519PublicKey | bytes | str | os.PathLike[str]] = (),
    checkpoints: Sequence[str | os.PathLike[str]] | None = None,
) -> VerifyReport:
    """Check one chain spread over ``paths`` (a rotated set may be given in any order).

    Keeps going after a break and reports each (seq, file, line, reason). The
    ``.lock``, ``.torn`` and ``.checkpoints`` files beside a log may be among
    ``paths`` (a shell glob): they are skipped, or used as checkpoints. With
    ``key``, hashes must be HMACs under that key. With ``public_keys``, signed
    checkpoints (``checkpoints``, default ``<file>.checkpoints`` beside each file)
    must verify and match the chain, and records missing after the file's end but
    covered by a checkpoint are reported (tail truncation).
    """
    names = [Path(paths)] if isinstance(paths, str | os.PathLike) else [Path(p) for p in paths]
    # `verify audit.jsonl*` also matches the sidecar files: use or skip them.
    if checkpoints is None and any(p.name.endswith(".checkpoints") for p in names):
        checkpoints = [p for p in names if p.name.endswith(".checkpoints")]
    files = _in_chain_order([p for p in names if not p.name.endswith(_SIDECARS)])
    keys = _ckpt.public_keys(public_keys)
    points, point_breaks = _load_checkpoints(files, checkpoints, bool(keys))
    scanner = Scanner(key=_key(key), watch=frozenset(p.seq for p in points))
    report = VerifyReport(files=[str(f) for f in files], breaks=point_breaks)
    for file in files:
        with open(file, "rb") as handle:
            _scan(handle, str(file), scanner, report)
    _finish(scanner, report, points, keys)
    return report


def verify_bytes(
    data: bytes, *, key: bytes | str | None = None, name: str = "<bytes>"
) -> VerifyReport:
    """:func:`verify` for one log held in memory (no checkpoints)."""
    scanner = Scanner(key=_key(key))
    report = VerifyReport(files=[name])
    _scan(split_lines(data), name, scanner, report)
    _finish(scanner, report, [], {})
    return report


def split_lines(data: bytes) -> list[bytes]:
    """Lines split on ``\\n`` only (as reading the file does), each keeping its newline."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _key(key: bytes | str | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key


def _scan(lines: Iterable[bytes], name: str, scanner: Scanner, report: VerifyReport) -> None:
    number = 0
    for number, raw in enumerate(lines, 1):
        if not raw.endswith(b"\n"):
            seq = scanner.expected if scanner.expected is not None else guess_seq(raw)
            report.breaks.append(
                Break(seq, name, number, "incomplete last line (torn write or cut file)")
            )
            break
        report.breaks += scanner.feed(raw[:-1], name, number, first_in_file=number == 1)
        if _RECOVERY.match(raw):
            _note_recovery(raw[:-1], name, number, report)
    if number == 0:
        report.breaks.append(Break(None, name, 0, "empty file"))


def _note_recovery(line: bytes, name: str, number: int, report: VerifyReport) -> None:
    try:
        record = parse(line, None)
    except ValueError:
        return  # already a break
    data = record.data
    report.recoveries.append(
        Recovery(
            record.seq,
            name,
            number,
            torn_bytes=_int_or_none(data.get("torn_bytes")),
            after_seq=_int_or_none(data.get("after_seq")),
            set_aside=str(data["set_aside"]) if data.get("set_aside") else None,
        )
    )


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _finish(
    scanner: Scanner,
    report: VerifyReport,
    points: list[_ckpt.Checkpoint],
    keys: dict[str, Ed25519PublicKey],
) -> None:
    report.records, report.events = scanner.records, scanner.events
    report.first_seq = scanner.first_seq
    report.last_seq = scanner.expected - 1 if scanner.expected is not None else None
    report.last_hash, report.chain = scanner.last_hash, scanner.chain
    if keys:
        _check_points(scanner, report, points, keys)


def _check_points(
    scanner: Scanner,
    report: VerifyReport,
    points: list[_ckpt.Checkpoint],
    keys: dict[str, Ed25519PublicKey],
) -> None:
    mine = [p for p in points if scanner.chain is None or p.chain == scanner.chain]
    if not mine and scanner.file_first.get("checkpoint_key"):
        report.breaks.append(
            Break(None, report.files[-1], 0, "the log is checkpointed but no checkpoint was found")
        )
    last = report.last_seq or 0
    beyond: _ckpt.Checkpoint | None = None
    for point in mine:
        public = keys.get(point.key)
        if public is None or not point.valid(public):
            why = "unknown signing key" if public is None else "bad signature"
            report.breaks.append(Break(point.seq, "checkpoints", 0, f"checkpoint: {why}"))
            continue
        report.checkpoints += 1
        if point.seq > last:
            if beyond is None or point.seq > beyond.seq:
                beyond = point
        elif point.seq in scanner.seen and scanner.seen[point.seq] != point.hash:
            report.breaks.append(
                Break(point.seq, "checkpoints", 0, "hash differs from the signed checkpoint")
            )
    if beyond is not None:
        missing = f"{last + 1}" if beyond.seq == last + 1 else f"{last + 1}..{beyond.seq}"
        report.breaks.append(
            Break(
                last + 1,
                report.files[-1],
                0,
                f"seq {missing} missing: the log ends at seq {last} but a signed checkpoint "
                f"covers seq {beyond.seq} (records cut off the end)",
            )
        )


def _load_checkpoints(
    files: list[Path], explicit: Sequence[str | os.PathLike[str]] | None, wanted: bool
) -> tuple[list[_ckpt.Checkpoint], list[Break]]:
    if not wanted:
        return [], []
    if explicit is not None:
        sources = [Path(p) for p in explicit]
    else:
        sources = [Path(f"{f}.checkpoints") for f in files]
        sources = [p for p in sources if p.exists()]
    points: list[_ckpt.Checkpoint] = []
    breaks: list[Break] = []
    for source in sources:
        for item in _ckpt.read_checkpoints(source):
            if isinstance(item, str):
                breaks.append(Break(None, str(source), 0, item))
            else:
                points.append(item)
    return points, breaks


def _in_chain_order(files: list[Path]) -> list[Path]:
    """Files sorted by the seq of their first line (unreadable ones keep their place last)."""

    def first_seq(path: Path) -> int:
        with open(path, "rb") as handle:
            seq = guess_seq(handle.readline())
        return seq if seq is not None else 1 << 62

    return sorted(files, key=first_seq)
