"""The hash-chained line format shared by :class:`ChainLog` and :func:`verify`.

A line is the canonical JSON of a record without its hash, with the hash spliced
in before the closing brace, then a newline::

    {"seq":7,"kind":"event","prev":"<64 hex>","data":{...}},"hash":"<64 hex>"}

Canonical means: the four keys in that order, ``data`` with sorted keys, no
spaces, UTF-8 (``ensure_ascii=False``). ``hash`` is SHA-256 of those canonical
bytes (``{"seq":...,"data":{...}}``), or HMAC-SHA256 with the log's key, so any
change to any byte of a line changes or breaks its hash. ``prev`` is the previous
line's ``hash`` (64 zeros for the first line of a chain).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from guardrail.audit._encode import canonical, event_json, record_json, utc_now, utc_today

__all__ = [
    "GENESIS",
    "Break",
    "Record",
    "Scanner",
    "canonical",
    "encode",
    "event_json",
    "parse",
    "record_json",
    "utc_now",
    "utc_today",
]
from typing import Any, Literal

GENESIS = "0" * 64
SUFFIX_HEAD = b',"hash":"'
SUFFIX_LEN = len(SUFFIX_HEAD) + 64 + 2  # ,"hash":"<64 hex>"}
ALG_SHA256 = "sha256"
ALG_HMAC = "hmac-sha256"
FIRST_KINDS = frozenset({"start", "rotate"})
"""Kinds that may (and one of which must) open a file."""
KINDS = frozenset({"start", "rotate", "event", "recovery"})
_HEX = re.compile(rb"[0-9a-f]{64}")
_SEQ = re.compile(rb'^\{"seq":(\d{1,18}),')
Kind = Literal["start", "rotate", "event", "recovery"]


def digest(body: bytes, key: bytes | None) -> str:
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def encode(seq: int, kind: str, prev: str, data_json: str, key: bytes | None) -> tuple[bytes, str]:
    """The line (with newline) for one record and its hash."""
    body = f'{{"seq":{seq},"kind":"{kind}","prev":"{prev}","data":{data_json}}}'.encode()
    hexdigest = digest(body, key)
    return body[:-1] + SUFFIX_HEAD + hexdigest.encode() + b'"}\n', hexdigest


@dataclass(frozen=True, slots=True)
class Record:
    """One parsed line. ``computed`` is the hash of its body under the verifier's key."""

    seq: int
    kind: str
    prev: str
    data: dict[str, Any]
    hash: str
    computed: str


def parse(line: bytes, key: bytes | None) -> Record:
    """Parse one line (without its newline); raises ValueError saying what is wrong."""
    if len(line) <= SUFFIX_LEN or line[-SUFFIX_LEN:-66] != SUFFIX_HEAD or line[-2:] != b'"}':
        raise ValueError("malformed line (no hash at its end)")
    stored = line[-66:-2]
    if not _HEX.fullmatch(stored):
        raise ValueError("malformed hash")
    body = line[:-SUFFIX_LEN] + b"}"
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed JSON ({exc})") from None
    if not isinstance(obj, dict) or list(obj) != ["seq", "kind", "prev", "data"]:
        raise ValueError("malformed record (expected keys seq, kind, prev, data)")
    seq, kind, prev, data = obj["seq"], obj["kind"], obj["prev"], obj["data"]
    if type(seq) is not int or seq < 1 or kind not in KINDS or not isinstance(data, dict):
        raise ValueError("malformed record (bad seq, kind or data)")
    if not isinstance(prev, str) or not _HEX.fullmatch(prev.encode()):
        raise ValueError("malformed prev")
    return Record(seq, kind, prev, data, stored.decode(), digest(body, key))


def guess_seq(line: bytes) -> int | None:
    match = _SEQ.match(line)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class Break:
    """Where a chain is broken: the seq (best known), the file and line, and why."""

    seq: int | None
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "seq ?"
        return f"{where} ({self.file}:{self.line}): {self.reason}"


@dataclass(slots=True)
class Scanner:
    """Checks lines in order, keeps going after a break, and re-synchronizes.

    State carries from file to file, so rotated files are checked as one chain.
    ``expected`` is the next seq; ``prevs`` the hashes the next ``prev`` may equal
    (``None`` when unknown, e.g. right after a malformed line).
    """

    key: bytes | None = None
    expected: int | None = None
    prevs: set[str] | None = None
    trusted: bool = False
    last_hash: str | None = None
    chain: str | None = None
    alg: str | None = None
    records: int = 0
    events: int = 0
    first_seq: int | None = None
    keyed_warned: bool = False
    hashes_checked: bool = True
    watch: frozenset[int] = frozenset()
    """Seqs whose line hash to keep in ``seen`` (e.g. the ones checkpoints sign)."""
    seen: dict[int, str] = field(default_factory=dict)
    file_first: dict[str, Any] = field(default_factory=dict)
    """``data`` of the first record of the current file."""

    def feed(self, line: bytes, file: str, lineno: int, first_in_file: bool) -> list[Break]:
        """Check one complete line (without newline); return the breaks it shows."""
        guess = self.expected if self.expected is not None else self._first_guess(line)
        try:
            rec = parse(line, self.key)
        except ValueError as exc:
            self.records += 1
            self.expected = guess + 1 if guess is not None else None
            self.prevs, self.trusted = None, False
            return [Break(guess, file, lineno, str(exc))]
        self.records += 1
        self.events += rec.kind == "event"
        breaks: list[Break] = []
        if first_in_file:
            breaks += self._file_start(rec, file, lineno)
        hash_ok = self._hash_ok(rec, file, lineno, breaks)
        if not hash_ok:
            seq = guess if guess is not None else rec.seq
            breaks.append(Break(seq, file, lineno, "hash mismatch: line altered (or wrong key)"))
            self._advance(seq, rec.hash, {rec.hash, rec.computed})
            return breaks
        if rec.kind in FIRST_KINDS and not first_in_file:
            breaks.append(Break(rec.seq, file, lineno, f"{rec.kind} record inside a file"))
        if rec.kind in FIRST_KINDS:
            self.chain = rec.data.get("chain", self.chain)
        breaks += self._link(rec, file, lineno)
        return breaks

    def _first_guess(self, line: bytes) -> int | None:
        """The seq a line should have when nothing is known yet: 1, unless it continues
        a rotated file (then what it says)."""
        if self.records == 0 and b'"kind":"rotate"' not in line:
            return 1
        return guess_seq(line)

    def _file_start(self, rec: Record, file: str, lineno: int) -> list[Break]:
        self.file_first = rec.data
        if rec.kind == "start":
            self.alg = rec.data.get("alg")
            if self.first_seq is not None:
                return [Break(rec.seq, file, lineno, "a new chain starts here")]
            if rec.seq != 1 or rec.prev != GENESIS:
                return [Break(rec.seq, file, lineno, "start record is not seq 1 from genesis")]
        elif rec.kind == "rotate":
            self.alg = rec.data.get("alg", self.alg)
        else:
            return [
                Break(
                    rec.seq,
                    file,
                    lineno,
                    "file does not begin with a start or rotate record (leading lines removed?)",
                )
            ]
        return []

    def _hash_ok(self, rec: Record, file: str, lineno: int, breaks: list[Break]) -> bool:
        if self.key is None and self.alg == ALG_HMAC:
            self.hashes_checked = False
            if not self.keyed_warned:
                self.keyed_warned = True
                breaks.append(
                    Break(rec.seq, file, lineno, "keyed log (hmac-sha256): pass the key to verify")
                )
            return True
        return hmac.compare_digest(rec.hash, rec.computed)

    def _link(self, rec: Record, file: str, lineno: int) -> list[Break]:
        if self.first_seq is None:
            self.first_seq = rec.seq
        expected = self.expected
        if expected is None or not self.trusted:
            self._advance(rec.seq, rec.hash)
            return []
        found = self._misplaced(rec, expected) if rec.seq != expected else self._unlinked(rec)
        return [Break(found[0], file, lineno, found[1])] if found is not None else []

    def _misplaced(self, rec: Record, expected: int) -> tuple[int, str]:
        """The break a record at the wrong seq makes: ``(seq, reason)``."""
        if rec.seq > expected:
            last = f"{expected}" if rec.seq == expected + 1 else f"{expected}..{rec.seq - 1}"
            self._advance(rec.seq, rec.hash)
            return expected, f"seq {last} missing: seq {expected - 1} is followed by seq {rec.seq}"
        # Out of order or duplicated: keep the chain position, but let the next
        # line link to this one too, so one misplaced line is one break.
        if self.prevs is not None:
            self.prevs.add(rec.hash)
        return rec.seq, f"seq {rec.seq} out of order or duplicated (after seq {expected - 1})"

    def _unlinked(self, rec: Record) -> tuple[int, str] | None:
        """The break a record at the expected seq makes when its ``prev`` is wrong."""
        prevs = self.prevs
        self._advance(rec.seq, rec.hash)
        if prevs is not None and rec.prev not in prevs:
            return rec.seq, (
                f"prev does not match seq {rec.seq - 1}'s hash "
                "(a record was removed, inserted or rewritten before it)"
            )
        return None

    def _advance(self, seq: int, last: str, prevs: set[str] | None = None) -> None:
        if self.first_seq is None:
            self.first_seq = seq
        self.expected = seq + 1
        self.prevs = prevs if prevs is not None else {last}
        self.trusted = True
        self.last_hash = last
        if seq in self.watch:
            self.seen[seq] = last

    def copy(self) -> Scanner:
        """An independent copy of the state (to resume checking from here)."""
        twin = dataclasses.replace(self)
        twin.prevs = set(self.prevs) if self.prevs is not None else None
        twin.seen = dict(self.seen)
        return twin

    def state(self) -> tuple[Any, ...]:
        """What decides how later lines are judged (for comparing two runs)."""
        prevs = frozenset(self.prevs) if self.prevs is not None else None
        return (self.expected, prevs, self.trusted, self.chain, self.alg, self.keyed_warned)

    def appended(self, seq: int, hash_: str) -> None:
        """Note a line this process wrote itself (already known to be good)."""
        self.records += 1
        self._advance(seq, hash_)
