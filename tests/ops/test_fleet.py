"""Audit shipping for fleets: an OpenTelemetry logs sink, and `audit verify` over many chains."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from guardrail import ChainLog, Guard, PermissionDenied, Policy, Principal
from guardrail.audit import OTelLogSink
from guardrail.audit.otel_logs import CHAIN_HASH, CHAIN_ID, CHAIN_SEQ, write_chains
from guardrail.cli import main


def _events(calls: int) -> int:
    """Audit records of ``_process(calls)``: intent and outcome when allowed, else a refusal."""
    return sum(1 if i % 15 > 10 else 2 for i in range(calls))


POLICY = Policy.from_dict(
    {"rules": [{"id": "small", "allow": ["pay"], "args": {"amount": {"max": 10}}}]}
)


def _process(sink: Any, calls: int, tracer_provider: TracerProvider | None = None) -> None:
    """One 'process' of the fleet: its own guard and sink, some allowed and some denied calls."""
    guard = Guard(POLICY, audit=[sink], tracer_provider=tracer_provider)

    @guard.tool
    def pay(amount: float) -> float:
        return amount

    with guard.acting_as(Principal(subject=f"worker-{id(sink) % 1000}")):
        for i in range(calls):
            with contextlib.suppress(PermissionDenied):
                pay(float(i % 15))


@pytest.fixture
def collected() -> tuple[InMemoryLogRecordExporter, list[OTelLogSink]]:
    """Three processes' sinks shipping to one collector (one SDK provider, in-memory export)."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    sinks = [OTelLogSink(provider) for _ in range(3)]
    threads = [threading.Thread(target=_process, args=(s, 40)) for s in sinks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return exporter, sinks


def _records(exporter: InMemoryLogRecordExporter) -> list[tuple[dict[str, Any], str]]:
    return [
        (dict(item.log_record.attributes or {}), str(item.log_record.body))
        for item in exporter.get_finished_logs()
    ]


def test_each_record_is_a_log_record_with_its_chain_hash(
    collected: tuple[InMemoryLogRecordExporter, list[OTelLogSink]],
) -> None:
    """Per chain: a start record, then one log record per audit record, each hash the
    SHA-256 of its body without the hash, each seq one more than the last."""
    exporter, sinks = collected
    records = _records(exporter)
    assert {a[CHAIN_ID] for a, _ in records} == {s.chain for s in sinks}
    for sink in sinks:
        mine = [(a, b) for a, b in records if a[CHAIN_ID] == sink.chain]
        assert [a[CHAIN_SEQ] for a, _ in mine] == list(range(1, _events(40) + 2))
        for attributes, body in mine:
            stripped = body[: body.index(',"hash":"')] + "}"
            assert hashlib.sha256(stripped.encode()).hexdigest() == attributes[CHAIN_HASH]
        events = [a for a, _ in mine[1:]]
        assert {a["guardrail.decision"] for a in events} == {"allowed", "denied"}


def test_verify_many_chains_one_line_each(
    collected: tuple[InMemoryLogRecordExporter, list[OTelLogSink]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The collected chains written as files verify with one summary line per chain; a record
    lost on the way fails its own chain only."""
    exporter, _ = collected
    records = _records(exporter)
    files = write_chains(records, tmp_path)
    assert main(["audit", "verify", *map(str, files)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[-1] == "3 chains: 3 OK, 0 FAILED"
    for file, line in zip(files, lines, strict=False):
        n = _events(40)
        assert line.startswith(f"{file}: OK: {n + 1} records ({n} events)")
    victim = records.index(next(r for r in records if r[0][CHAIN_SEQ] == 30))
    lost = tmp_path / "lost"
    lost.mkdir()
    files = write_chains(records[:victim] + records[victim + 1 :], lost)
    assert main(["audit", "verify", *map(str, files)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "3 chains: 2 OK, 1 FAILED"
    failed = [line for line in out if "FAILED: 1 problem(s)" in line]
    assert len(failed) == 1 and failed[0].startswith(f"{lost}/{records[victim][0][CHAIN_ID]}")
    assert any("seq 30 missing" in line for line in out)


def test_a_rotated_or_single_log_still_verifies_as_one_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files of one chain keep the single summary line; two ChainLogs are two chains."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for path in (first, second):
        with ChainLog(path, fsync="never") as log:
            _process(log, 5)
    assert main(["audit", "verify", str(first)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"OK: {_events(5) + 1} records ({_events(5)} events) in 1 file(s), seq 1..{_events(5) + 1}"
    ]
    assert main(["audit", "verify", str(first), str(second)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "2 chains: 2 OK, 0 FAILED"


def test_log_records_link_to_the_call_span(tmp_path: Path) -> None:
    """With tracing on, each event's log record carries its call's trace and span ids."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    _process(OTelLogSink(provider), 2, tracer_provider=TracerProvider())
    linked = [item.log_record for item in exporter.get_finished_logs()][1:]
    assert linked and all(r.trace_id and r.span_id for r in linked)
    assert len({r.trace_id for r in linked}) == 2
