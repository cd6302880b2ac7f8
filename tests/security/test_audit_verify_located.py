"""Every break verify reports says where: the file, the line, and the best-known seq
(for a torn last line, the seq the chain expected there)."""

from __future__ import annotations

from pathlib import Path

from guardrail.audit import ChainLog, verify, verify_bytes


def write(path: Path, n: int) -> bytes:
    with ChainLog(path, fsync="never") as log:
        for i in range(n):
            log.append("event", {"i": i})
    return path.read_bytes()


def test_an_altered_line_is_reported_at_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = write(path, 3).splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"i":1', b'"i":7')  # line 1 is the chain's start record
    path.write_bytes(b"".join(lines))
    report = verify(path)
    assert [(b.file, b.line) for b in report.breaks] == [(str(path), 3)]
    assert str(report.breaks[0]).startswith(f"seq 3 ({path}:3): ")


def test_a_torn_last_line_reports_the_seq_the_chain_expected(tmp_path: Path) -> None:
    """Cut so early that the fragment holds no seq: the break still names seq 4 (the start
    record and two events came before it)."""
    data = write(tmp_path / "audit.jsonl", 3)
    cut = data[: data.rindex(b"\n", 0, len(data) - 1) + 1] + b'{"se'
    report = verify_bytes(cut, name="cut.jsonl")
    ((torn,),) = [report.breaks]
    assert (torn.seq, torn.file, torn.line) == (4, "cut.jsonl", 4)
    assert torn.reason == "incomplete last line (torn write or cut file)"
    assert report.records == 3


def test_a_torn_only_line_reports_the_seq_it_holds(tmp_path: Path) -> None:
    """Nothing read before it: the seq comes from the fragment itself."""
    report = verify_bytes(b'{"seq":41,"kind":"ev', name="x.jsonl")
    assert [(b.seq, b.file, b.line) for b in report.breaks] == [(41, "x.jsonl", 1)]
    unknown = verify_bytes(b'{"se', name="x.jsonl")
    assert [(b.seq, b.line) for b in unknown.breaks] == [(None, 1)]


def test_an_empty_log_names_itself(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert [(b.file, b.line) for b in verify(empty).breaks] == [(str(empty), 0)]
    assert [b.file for b in verify_bytes(b"", name="mem.jsonl").breaks] == ["mem.jsonl"]
