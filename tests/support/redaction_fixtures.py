"""End-to-end redaction fixtures: a guard with a real ChainLog file and the OTel SDK
exporting to memory, recording arguments and results in spans, so a test can look for a
secret in every record line and every span attribute.

Import the fixtures into a test module (``from support.redaction_fixtures import
exporter, guard``); pytest finds them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardrail import Guard, Policy
from guardrail.audit import ChainLog


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def guard(tmp_path: Path, exporter: InMemorySpanExporter) -> Iterator[tuple[Guard, Path]]:
    """An allow-all guard auditing to ``tmp_path/audit.jsonl``, and that file's path."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    policy = Policy.from_dict({"rules": [{"id": "all", "allow": ["*"]}]})
    path = tmp_path / "audit.jsonl"
    log = ChainLog(path, fsync="never")
    yield (
        Guard(
            policy,
            audit=[log],
            tracer_provider=provider,
            span_arguments=True,
            span_results=True,
        ),
        path,
    )
    log.close()
    provider.shutdown()
