"""The tamper matrix: every alteration is reported by `audit verify` at the exact seq."""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from guardrail.audit import AuditEvent, ChainLog, verify, verify_bytes
from guardrail.audit._format import Break, Scanner
from guardrail.audit.verify import split_lines
from guardrail.cli import main


def event(i: int) -> AuditEvent:
    """A realistic record: floats (some in exponent form), unicode, nested args."""
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=datetime.now(UTC),
        phase=("intent", "outcome", "refusal")[i % 3],
        call_id=uuid.uuid4().hex,
        tool="refund",
        tool_call_id=f"call_{i}",
        subject="alice",
        org="acme",
        teams=("support-eu", "zürich"),
        decision=("allowed", "allowed", "denied")[i % 3],
        rule="support-refunds",
        reason="allowed by rule 'support-refunds'",
        args={"order_id": f"A-{i}", "amount": 40.5 + i, "note": "naïve ☃"},
        outcome="ok" if i % 3 == 1 else None,
        duration_ms=1.5e-05 * (i + 1),
        cost_reserved=1.0,
        cost_settled=0.25 if i % 3 == 1 else None,
        remaining={"team-spend": 499.75 - i},
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        policy="f" * 64,
    )


def write_log(path: Path, n: int, **options: object) -> bytes:
    with ChainLog(path, fsync="never", **options) as log:  # type: ignore[arg-type]
        for i in range(n):
            log.write(event(i))
    return path.read_bytes()


class Flipper:
    """Checks altered copies of a valid log with the same Scanner verify uses.

    Re-verifying a whole file per flip is slow, so each alteration is checked
    from a snapshot of the scanner state before the altered line, through the
    altered window, until the state equals the unaltered run's again; from
    there on input and state are the same, so are the results (no breaks). A
    sample of flips is cross-checked against a full ``verify_bytes``.
    """

    def __init__(self, data: bytes, key: bytes | None = None) -> None:
        self.data, self.key = data, key
        self.lines = split_lines(data)
        self.starts = [0]
        for raw in self.lines:
            self.starts.append(self.starts[-1] + len(raw))
        scanner = Scanner(key=key)
        self.snapshots = []
        for number, raw in enumerate(self.lines, 1):
            self.snapshots.append(scanner.copy())
            assert not scanner.feed(raw[:-1], "f", number, first_in_file=number == 1)
        self.snapshots.append(scanner.copy())

    def seq_at(self, offset: int) -> int:
        """1-based line (= seq) holding byte ``offset``."""
        return bisect.bisect_right(self.starts, offset)

    def breaks(self, offset: int, mask: int) -> list[Break]:
        k = self.seq_at(offset) - 1
        stop = min(k + 3, len(self.lines))
        window = bytearray(self.data[self.starts[k] : self.starts[stop]])
        window[offset - self.starts[k]] ^= mask
        twin = self.snapshots[k].copy()
        found = _run(twin, split_lines(bytes(window)), k + 1)
        while stop < len(self.lines) and twin.state() != self.snapshots[stop].state():
            found += _run(twin, [self.lines[stop]], stop + 1)
            stop += 1
        return found

    def full(self, offset: int, mask: int) -> list[Break]:
        mutated = bytearray(self.data)
        mutated[offset] ^= mask
        return verify_bytes(bytes(mutated), key=self.key).breaks

    def check(self, offset: int, mask: int, cross_check: bool) -> None:
        found = self.breaks(offset, mask)
        assert found, (offset, mask)
        assert found[0].seq == self.seq_at(offset), (offset, mask, found)
        if cross_check:
            assert [(b.seq, b.reason) for b in self.full(offset, mask)] == [
                (b.seq, b.reason) for b in found
            ], (offset, mask)


def _run(scanner: Scanner, lines: Iterable[bytes], first_lineno: int) -> list[Break]:
    """What verify's scan does, from a given state (same Scanner, same rules)."""
    breaks: list[Break] = []
    for number, raw in enumerate(lines, first_lineno):
        if not raw.endswith(b"\n"):
            breaks.append(
                Break(
                    scanner.expected,
                    "<bytes>",
                    number,
                    "incomplete last line (torn write or cut file)",
                )
            )
            break
        breaks += scanner.feed(raw[:-1], "<bytes>", number, first_in_file=number == 1)
    return breaks


def test_every_single_byte_flip_of_a_20_record_file_is_found(tmp_path: Path) -> None:
    """Flip each byte (XOR 0x01, and XOR 0x20 on letters): verify names that line's seq."""
    data = write_log(tmp_path / "a.jsonl", 20)
    assert verify_bytes(data).ok
    flipper = Flipper(data)
    flips = 0
    for offset, byte in enumerate(data):
        for mask in (0x01, 0x20) if chr(byte).isalpha() else (0x01,):
            flipper.check(offset, mask, cross_check=flips % 23 == 0)
            flips += 1
    assert flips > 20_000


def test_every_byte_flip_is_found_in_a_keyed_log(tmp_path: Path) -> None:
    """The same for an HMAC log (bit 0 of every byte), verified with the key."""
    data = write_log(tmp_path / "k.jsonl", 20, key=b"s3cret")
    flipper = Flipper(data, key=b"s3cret")
    for offset in range(len(data)):
        flipper.check(offset, 0x01, cross_check=offset % 97 == 0)


def test_2000_random_byte_flips_of_a_10000_record_file_are_found(tmp_path: Path) -> None:
    """Random flips (random XOR masks) anywhere in a 10,000-record log, each at its seq."""
    data = write_log(tmp_path / "big.jsonl", 10_000)
    flipper = Flipper(data)
    rng = random.Random(20261125)
    for trial in range(2_000):
        flipper.check(rng.randrange(len(data)), rng.randrange(1, 256), cross_check=trial % 500 == 0)


@pytest.fixture
def log20(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    write_log(path, 20)
    return path


def cli_verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args])
    return code, capsys.readouterr().out


def test_cli_reports_ok_and_the_record_count(
    log20: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An untouched log: exit 0 and the record count."""
    code, out = cli_verify(capsys, str(log20))
    assert code == 0
    assert "OK: 21 records (20 events)" in out


def test_deleted_middle_line(log20: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Deleting seq 10 is reported as seq 10 missing."""
    rows = log20.read_bytes().splitlines(keepends=True)
    log20.write_bytes(b"".join(rows[:9] + rows[10:]))
    code, out = cli_verify(capsys, str(log20))
    assert code == 1
    assert out.splitlines()[0].startswith("seq 10 ")
    assert "missing" in out


def test_swapped_lines(log20: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Swapping seq 8 and 9 is reported at seq 8."""
    rows = log20.read_bytes().splitlines(keepends=True)
    rows[7], rows[8] = rows[8], rows[7]
    log20.write_bytes(b"".join(rows))
    code, out = cli_verify(capsys, str(log20))
    assert code == 1
    assert out.splitlines()[0].startswith("seq 8 ")


def forge(seq: int, prev: str, key: bytes | None = None) -> bytes:
    from guardrail.audit._format import canonical, encode

    data = event(99).model_dump(mode="json")
    line, _ = encode(seq, "event", prev, canonical(data), key)
    return line


def test_inserted_forged_line(log20: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A well-formed, correctly hashed line inserted after seq 10 is reported at seq 11."""
    rows = log20.read_bytes().splitlines(keepends=True)
    prev = json.loads(rows[9])["hash"]
    log20.write_bytes(b"".join([*rows[:10], forge(11, prev), *rows[10:]]))
    code, out = cli_verify(capsys, str(log20))
    assert code == 1
    assert out.splitlines()[0].startswith("seq 11 ")


def test_inserted_line_in_keyed_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without the key a forger cannot make a valid line: reported at its seq."""
    path = tmp_path / "k.jsonl"
    write_log(path, 20, key=b"k")
    rows = path.read_bytes().splitlines(keepends=True)
    prev = json.loads(rows[9])["hash"]
    path.write_bytes(b"".join([*rows[:10], forge(11, prev), *rows[10:]]))
    code, out = cli_verify(capsys, str(path), "--key", "k")
    assert code == 1
    assert out.splitlines()[0].startswith("seq 11 ") and "hash mismatch" in out


def rehash(data: bytes, edit: tuple[int, bytes, bytes] | None = None) -> bytes:
    """Rewrite a whole log as an attacker without the key would: plain SHA-256 links."""
    out, prev = [], "0" * 64
    for number, raw in enumerate(data.splitlines(), 1):
        body = raw[:-75] + b"}"
        if edit and edit[0] == number:
            body = body.replace(edit[1], edit[2])
        body = body.replace(b'"alg":"hmac-sha256"', b'"alg":"sha256"')
        body = b'{"seq":' + body[len(b'{"seq":') :]
        head, _, rest = body.partition(b',"prev":"')
        body = head + b',"prev":"' + prev.encode() + rest[64:]
        prev = hashlib.sha256(body).hexdigest()
        out.append(body[:-1] + b',"hash":"' + prev.encode() + b'"}\n')
    return b"".join(out)


def test_rehashed_without_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A re-hashed (edited) keyed log passes a keyless check but fails with the key."""
    path = tmp_path / "k.jsonl"
    data = write_log(path, 20, key=b"the-key")
    path.write_bytes(rehash(data, (6, b'"amount":45.5', b'"amount":4500.5')))
    assert verify(path).ok  # the documented limit: without the key, SHA-256 is forgeable
    code, out = cli_verify(capsys, str(path), "--key", "the-key")
    assert code == 1
    assert out.splitlines()[0].startswith("seq 1 ")


def pem(key: Ed25519PrivateKey, tmp_path: Path) -> str:
    path = tmp_path / "pub.pem"
    path.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def test_truncated_tail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Cutting whole records off the end: found with a checkpoint, invisible without."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "c.jsonl"
    write_log(path, 20, signing_key=key, checkpoint_every=8)
    rows = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(rows[:-3]))
    assert verify(path).ok  # documented: truncation needs checkpoints
    code, out = cli_verify(capsys, str(path), "--pubkey", pem(key, tmp_path))
    assert code == 1
    assert out.splitlines()[0].startswith("seq 19 ") and "19..21 missing" in out


def test_rehash_is_caught_by_a_checkpoint(tmp_path: Path) -> None:
    """Without a key, a re-hashed edit before the last checkpoint is still found."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "c.jsonl"
    data = write_log(path, 20, signing_key=key, checkpoint_every=5)
    path.write_bytes(rehash(data, (3, b'"amount":41.5', b'"amount":9041.5')))
    report = verify(path, public_keys=[key.public_key()])
    assert not report.ok
    assert [b.seq for b in report.breaks] == [5, 10, 15, 20, 21]


def test_breaks_keep_being_reported_after_the_first(log20: Path) -> None:
    """Two separate edits give two breaks, each at its seq."""
    rows = log20.read_bytes().splitlines(keepends=True)
    for index in (4, 14):
        rows[index] = rows[index].replace(b'"tool":"refund"', b'"tool":"refunD"')
    log20.write_bytes(b"".join(rows))
    assert [b.seq for b in verify(log20).breaks] == [5, 15]


@pytest.fixture(scope="module")
def small_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_log(tmp_path_factory.mktemp("h") / "h.jsonl", 12)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_line_level_edit_is_found(small_log: bytes, data: st.DataObject) -> None:
    """Deleting, duplicating, moving or replacing lines (short of cutting the tail) is found."""
    rows = small_log.splitlines(keepends=True)
    edit = data.draw(st.sampled_from(["delete", "duplicate", "move", "replace"]))
    i = data.draw(st.integers(0, len(rows) - 1))
    j = data.draw(st.integers(0, len(rows) - 1))
    edited = list(rows)
    if edit == "delete":
        assume(i < len(rows) - 1)  # cutting the last line is tail truncation (checkpoints)
        del edited[i]
    elif edit == "duplicate":
        edited.insert(j, rows[i])
    elif edit == "move":
        assume(i != j)
        edited.insert(j, edited.pop(i))
    else:
        assume(i != j)
        edited[j] = rows[i]
    assume(edited != rows)
    assert not verify_bytes(b"".join(edited)).ok
