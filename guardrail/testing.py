"""Test helpers for code that uses guardrail: capture audit events, make principals."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from guardrail.audit.event import AuditEvent
from guardrail.guard import Guard
from guardrail.identity import Principal

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class MemorySink:
    """Keeps events in a list. ``events`` in the order they were written."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def write(self, event: AuditEvent) -> None:
        self.events.append(event)


@contextmanager
def capture_audit(guard: Guard) -> Iterator[list[AuditEvent]]:
    """Collect every audit event ``guard`` writes inside the block::

    with capture_audit(guard) as events:
        refund("A-17", 40.0)
    assert events[-1].decision == "allowed"
    """
    sink = MemorySink()
    guard.audit.add(sink)
    try:
        yield sink.events
    finally:
        guard.audit.remove(sink)


def make_principal(
    subject: str = "test-user",
    *,
    roles: Iterable[str] = (),
    scopes: Iterable[str] = (),
    teams: Iterable[str] = (),
    org: str | None = None,
    **attributes: Any,
) -> Principal:
    """A principal for tests, with keyword arguments as attributes."""
    return Principal(
        subject=subject,
        org=org,
        teams=tuple(teams),
        roles=frozenset(roles),
        scopes=frozenset(scopes),
        attributes=attributes,
    )


def recording_tracer() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A tracer provider that keeps finished spans in memory (needs opentelemetry-sdk)::

        provider, spans = recording_tracer()
        guard = Guard(policy, tracer_provider=provider)
        ...
        assert spans.get_finished_spans()[0].name == "execute_tool refund"

    It is not installed as the global provider.
    """
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            'recording_tracer() needs the OpenTelemetry SDK: pip install "guardrail-sdk[otel]"'
        ) from exc
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
