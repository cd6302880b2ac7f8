"""verify's edges that no test pinned: a zero-byte log, a deleted or malformed checkpoint
file, bad or unknown checkpoint signatures, sidecar files in a glob, rotated files given
in any order, and the report's fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guardrail.audit import ChainLog, verify, verify_bytes
from guardrail.audit.verify import split_lines


def write(path: Path, n: int, **options: object) -> None:
    with ChainLog(path, fsync="never", **options) as log:  # type: ignore[arg-type]
        for i in range(n):
            log.append("event", {"i": i})


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def signed(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "audit.jsonl"
    write(path, 10, signing_key=key, checkpoint_every=4)
    return path


def reasons(report: object) -> list[str]:
    return [b.reason for b in report.breaks]  # type: ignore[attr-defined]


def test_a_zero_byte_log_is_a_break(tmp_path: Path) -> None:
    """An emptied log is not an intact one."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    report = verify(path)
    assert not report.ok and reasons(report) == ["empty file"]
    assert report.breaks[0].seq is None and report.breaks[0].line == 0
    assert report.records == 0 and report.summary().startswith("FAILED: 1 problem(s)")


def test_a_deleted_checkpoint_file_is_a_break(signed: Path, key: Ed25519PrivateKey) -> None:
    """A log that says it is checkpointed, verified without its checkpoints, fails."""
    assert verify(signed, public_keys=[key.public_key()]).ok
    Path(f"{signed}.checkpoints").unlink()
    report = verify(signed, public_keys=[key.public_key()])
    assert reasons(report) == ["the log is checkpointed but no checkpoint was found"]
    assert report.breaks[0].file == str(signed)


def test_malformed_checkpoint_entries_are_breaks(signed: Path, key: Ed25519PrivateKey) -> None:
    """Each unreadable checkpoint line is a located break; the good ones still count."""
    points = Path(f"{signed}.checkpoints")
    good = points.read_bytes()
    points.write_bytes(good + b"not json\n" + b'{"chain": "x"}\n')
    report = verify(signed, public_keys=[key.public_key()])
    lines = len(good.splitlines())
    assert [b.file for b in report.breaks] == [str(points)] * 2
    assert f"{points}:{lines + 1}: malformed checkpoint" in reasons(report)[0]
    assert f"{points}:{lines + 2}: malformed checkpoint" in reasons(report)[1]
    assert report.checkpoints == lines


def test_checkpoint_signatures_are_checked(
    signed: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """A forged signature or an unknown signing key is a break at the checkpoint's seq."""
    points = Path(f"{signed}.checkpoints")
    rows = [json.loads(line) for line in points.read_bytes().splitlines()]
    rows[0]["sig"] = rows[1]["sig"]
    points.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = verify(signed, public_keys=[key.public_key()])
    assert [(b.seq, b.reason) for b in report.breaks] == [(4, "checkpoint: bad signature")]
    other = Ed25519PrivateKey.generate()
    report = verify(signed, public_keys=[other.public_key()])
    assert {b.reason for b in report.breaks} == {"checkpoint: unknown signing key"}
    assert len(report.breaks) == len(rows) and report.checkpoints == 0


def test_a_checkpoint_hash_that_differs_is_a_break(signed: Path, key: Ed25519PrivateKey) -> None:
    """A signed checkpoint whose hash is not the chain's at that seq (a rewritten chain)."""
    from guardrail.audit import checkpoint

    rows = [json.loads(line) for line in Path(f"{signed}.checkpoints").read_bytes().splitlines()]
    forged = checkpoint.sign(key, rows[0]["chain"], 4, "0" * 64)
    Path(f"{signed}.checkpoints").write_bytes(forged.to_line())
    report = verify(signed, public_keys=[key.public_key()])
    assert [(b.seq, b.reason) for b in report.breaks] == [
        (4, "hash differs from the signed checkpoint")
    ]


def test_records_cut_off_after_the_last_checkpoint_are_named(
    signed: Path, key: Ed25519PrivateKey
) -> None:
    """One record cut: 'seq N missing'; several: 'seq N..M missing'."""
    rows = signed.read_bytes().splitlines(keepends=True)
    signed.write_bytes(b"".join(rows[:-1]))
    report = verify(signed, public_keys=[key.public_key()])
    assert [b.seq for b in report.breaks] == [11]
    assert report.breaks[0].reason.startswith("seq 11 missing: the log ends at seq 10")
    signed.write_bytes(b"".join(rows[:-3]))
    report = verify(signed, public_keys=[key.public_key()])
    assert report.breaks[0].reason.startswith("seq 9..11 missing")


def test_sidecars_in_a_glob_are_used_or_skipped(signed: Path, key: Ed25519PrivateKey) -> None:
    """`verify audit.jsonl*`: .lock and .torn are skipped, .checkpoints are used."""
    Path(f"{signed}.torn").write_bytes(b"garbage\n")
    paths = sorted(signed.parent.glob("audit.jsonl*"))
    assert {p.suffix for p in paths} >= {".lock", ".checkpoints", ".torn"}
    report = verify(paths, public_keys=[key.public_key()])
    assert report.ok and report.files == [str(signed)] and report.checkpoints == 3


def test_rotated_files_in_any_order(tmp_path: Path) -> None:
    """A rotated set verifies as one chain whatever order the files come in."""
    path = tmp_path / "audit.jsonl"
    write(path, 30, rotate_bytes=600)
    files = sorted(tmp_path.glob("audit.jsonl*"), reverse=True)
    files = [f for f in files if not f.name.endswith(".lock")]
    assert len(files) > 2
    report = verify(files)
    assert report.ok, report.breaks
    assert report.files[-1] == str(path) and report.first_seq == 1
    assert report.events == 30 and report.last_seq == report.records


def test_report_fields_and_summary(tmp_path: Path) -> None:
    """records, events, first/last seq, last hash and chain id are those of the file."""
    path = tmp_path / "audit.jsonl"
    write(path, 3)
    report = verify(path)
    rows = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert (report.records, report.events, report.first_seq, report.last_seq) == (4, 3, 1, 4)
    assert report.last_hash == rows[-1]["hash"] and report.chain == rows[0]["data"]["chain"]
    assert report.summary() == "OK: 4 records (3 events) in 1 file(s), seq 1..4"


def test_verify_bytes_and_split_lines(tmp_path: Path) -> None:
    """In memory: the same result as from the file; a missing last newline is torn."""
    path = tmp_path / "audit.jsonl"
    write(path, 2)
    data = path.read_bytes()
    assert verify_bytes(data).ok and verify_bytes(data, name="x").files == ["x"]
    assert split_lines(b"a\nb\n") == [b"a\n", b"b\n"]
    assert split_lines(b"a\nb") == [b"a\n", b"b"]
    assert split_lines(b"") == []
    torn = verify_bytes(data[:-5])
    assert reasons(torn) == ["incomplete last line (torn write or cut file)"]
    assert torn.breaks[0].seq == 3


def test_checkpoint_breaks_name_where_they_are(signed: Path, key: Ed25519PrivateKey) -> None:
    """Checkpoint problems are located in "checkpoints" (line 0); cut records in the log."""
    from guardrail.audit import checkpoint

    rows = [json.loads(line) for line in Path(f"{signed}.checkpoints").read_bytes().splitlines()]
    forged = checkpoint.sign(key, rows[0]["chain"], 4, "0" * 64)
    Path(f"{signed}.checkpoints").write_bytes(forged.to_line() + b"{}\n")
    report = verify(signed, public_keys=[key.public_key()])
    assert [(b.file, b.line) for b in report.breaks] == [
        (f"{signed}.checkpoints", 0),
        ("checkpoints", 0),
    ]
    Path(f"{signed}.checkpoints").unlink()
    report = verify(signed, public_keys=[key.public_key()])
    assert [(b.file, b.line, b.seq) for b in report.breaks] == [(str(signed), 0, None)]


def test_checkpoints_of_another_chain_do_not_count(
    signed: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    """A checkpoint file from a different chain vouches for nothing here."""
    other = tmp_path / "other.jsonl"
    write(other, 10, signing_key=key, checkpoint_every=4)
    report = verify(signed, public_keys=[key.public_key()], checkpoints=[f"{other}.checkpoints"])
    assert report.checkpoints == 0
    assert reasons(report) == ["the log is checkpointed but no checkpoint was found"]


def test_an_emptied_checkpointed_log_misses_every_record(
    signed: Path, key: Ed25519PrivateKey
) -> None:
    """Zero bytes left but the checkpoints: every record up to the last one is missing."""
    signed.write_bytes(b"")
    report = verify(signed, public_keys=[key.public_key()])
    assert report.breaks[0].reason == "empty file"
    missing = report.breaks[-1]
    assert (missing.seq, missing.file, missing.line) == (1, str(signed), 0)
    assert missing.reason.startswith("seq 1..11 missing: the log ends at seq 0")


def test_recovery_lines_read_well_and_tolerate_odd_fields(tmp_path: Path) -> None:
    """The warning says what was cut; fields of the wrong type are left out, not trusted."""
    from guardrail.audit._format import GENESIS, canonical, encode

    start, first = encode(1, "start", GENESIS, canonical({"chain": "c", "alg": "sha256"}), None)
    data = {"torn_bytes": "12", "after_seq": True, "set_aside": ""}
    second, _ = encode(2, "recovery", first, canonical(data), None)
    report = verify_bytes(start + second, name="log")
    (recovery,) = report.recoveries
    assert (recovery.seq, recovery.file, recovery.line) == (2, "log", 2)
    assert (recovery.torn_bytes, recovery.after_seq, recovery.set_aside) == (None, None, None)
    assert str(recovery) == (
        "warning: seq 2 (log:2): recovery record: a torn last line (some bytes) was cut off "
        "and set aside; the record it held is not in the chain (a crash mid-write, or a cut "
        "by someone without the key)"
    )
    path = tmp_path / "audit.jsonl"
    write(path, 1)
    with open(path, "ab") as handle:
        handle.write(b'{"seq":3,"ki')
    write(path, 0)
    (recovery,) = verify(path).recoveries
    assert str(recovery).startswith(
        f"warning: seq 3 ({path}:3): recovery record: a torn last line (12 bytes) after seq 2 "
        "was cut off and set aside into audit.jsonl.torn;"
    )


def test_the_summary_of_an_empty_report() -> None:
    """No records read: 'empty' rather than a seq range."""
    from guardrail.audit.verify import VerifyReport

    assert VerifyReport(files=["x"]).summary() == "OK: 0 records (0 events) in 1 file(s), empty"


def test_a_bad_checkpoint_signature_is_located_in_checkpoints(
    signed: Path, key: Ed25519PrivateKey
) -> None:
    """Like a differing hash, a bad or unknown signature is a break in "checkpoints", line 0."""
    report = verify(signed, public_keys=[Ed25519PrivateKey.generate().public_key()])
    assert {(b.file, b.line, b.reason) for b in report.breaks} == {
        ("checkpoints", 0, "checkpoint: unknown signing key")
    }


def test_the_summary_counts_signed_checkpoints(signed: Path, key: Ed25519PrivateKey) -> None:
    report = verify(signed, public_keys=[key.public_key()])
    assert report.summary() == "OK: 11 records (10 events) in 1 file(s), seq 1..11, " + (
        "3 signed checkpoint(s)"
    )


def test_a_checkpoint_file_in_the_paths_is_used_whatever_its_name(
    signed: Path, key: Ed25519PrivateKey
) -> None:
    """A `.checkpoints` file given among the paths is used even when it is not named
    after the log; explicit `checkpoints=` wins over one in the paths."""
    moved = signed.parent / "kept-apart.checkpoints"
    Path(f"{signed}.checkpoints").rename(moved)
    report = verify([signed, moved], public_keys=[key.public_key()])
    assert report.ok and report.checkpoints == 3 and report.files == [str(signed)]
    explicit = verify([signed, moved], public_keys=[key.public_key()], checkpoints=[])
    assert explicit.checkpoints == 0
    assert reasons(explicit) == ["the log is checkpointed but no checkpoint was found"]


def test_verify_bytes_names_its_input(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write(path, 2)
    torn = verify_bytes(path.read_bytes()[:-5])
    assert torn.files == ["<bytes>"] and torn.breaks[0].file == "<bytes>"
    assert torn.breaks[0].line == 3


def test_a_log_whose_only_line_is_torn_names_the_seq_it_held(tmp_path: Path) -> None:
    """Nothing read before it: the torn line's own seq is reported."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"seq":7,"kind":"event","da')
    (brk,) = verify(path).breaks
    assert (brk.seq, brk.file, brk.line) == (7, str(path), 1)
    assert brk.reason == "incomplete last line (torn write or cut file)"


def test_a_file_without_a_readable_first_seq_goes_last(tmp_path: Path) -> None:
    """Rotated files are ordered by their first seq; one whose first line has none is
    checked after them (not first, and without failing the sort)."""
    path = tmp_path / "audit.jsonl"
    write(path, 30, rotate_bytes=600)
    files = [f for f in tmp_path.glob("audit.jsonl*") if not f.name.endswith(".lock")]
    junk = tmp_path / "zzz-junk.jsonl"
    junk.write_bytes(b"not a record\n")
    report = verify([junk, *files])
    assert report.files[-1] == str(junk) and report.files[-2] == str(path)
    assert [b.file for b in report.breaks] == [str(junk)]
