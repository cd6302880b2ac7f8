"""Measure audit costs (not a test): ``.venv/bin/python tests/audit/bench_audit.py``.

ChainLog.write per fsync mode, verify throughput, and the execute_tool span step
with and without an OpenTelemetry SDK.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail import Guard, Policy, Principal
from guardrail.audit import AuditEvent, ChainLog, SpanEmitter, verify
from guardrail.call import Call


def event() -> AuditEvent:
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=datetime.now(UTC),
        phase="outcome",
        call_id=uuid.uuid4().hex,
        tool="refund",
        subject="alice",
        org="acme",
        teams=("support",),
        decision="allowed",
        rule="support-refunds",
        args={"order_id": "A-17", "amount": 40.0},
        outcome="ok",
        duration_ms=0.12,
        cost_reserved=1.0,
        cost_settled=1.0,
    )


def per_op(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def chainlog(tmp: Path) -> None:
    ev = event()
    for mode, n in (("never", 20_000), ("batch", 20_000), ("always", 1_000)):
        with ChainLog(tmp / f"{mode}.jsonl", fsync=mode) as log:  # type: ignore[arg-type]
            us = per_op(lambda log=log: log.write(ev), n)
        print(f"ChainLog.write fsync={mode:6}: {us:8.1f} us/record  (n={n})")
    with ChainLog(tmp / "hmac.jsonl", key=b"k", fsync="never") as log:
        print(
            f"ChainLog.write hmac never  : {per_op(lambda: log.write(ev), 20_000):8.1f} us/record"
        )
    start = time.perf_counter()
    report = verify(tmp / "never.jsonl")
    took = time.perf_counter() - start
    print(f"verify: {report.records / took:,.0f} records/s ({report.records} in {took:.2f} s)")


def spans() -> None:
    principal = Principal(subject="alice", roles=frozenset({"support"}))
    policy = Policy.from_dict({"rules": [{"id": "r", "allow": ["noop"]}]})

    def noop() -> None:
        return None

    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    for label, provider in (("no SDK", None), ("SDK+memory", sdk)):
        emitter = SpanEmitter(provider)
        guard = Guard(policy, tracer_provider=provider)
        guard.tool(noop)
        call = Call(tool=guard.tools["noop"], args={}, principal=principal)

        def step(emitter: SpanEmitter = emitter, call: Call = call) -> None:
            emitter.enter(call)
            emitter.exit(call)

        n = 50_000 if provider is None else 10_000
        print(f"SpanEmitter enter+exit {label:10}: {per_op(step, n):6.2f} us")
        with guard.acting_as(principal):
            full = per_op(lambda guard=guard: guard.call("noop"), n)
            guard = Guard(policy, steps=lambda g: g.default_steps()[1:])
            guard.tool(noop)
            bare = per_op(lambda guard=guard: guard.call("noop"), n)
        print(f"guard.call {label:10}: {full:6.2f} us with span step, {bare:6.2f} us without")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(dir=sys.argv[1] if len(sys.argv) > 1 else None) as tmp:
        chainlog(Path(tmp))
    spans()
