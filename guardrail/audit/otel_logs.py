"""``OTelLogSink``: audit records shipped as OpenTelemetry log records, still hash-chained.

Each process keeps its own chain (a random chain id, SHA-256 or HMAC-SHA256
under ``key``) and emits every record as one log record whose body is the exact
line a :class:`~guardrail.audit.ChainLog` would have written, with the chain id,
seq, previous hash and hash as attributes. The first record of a chain is its
``start`` record. So a collector that receives many processes' records can write
each chain's bodies, ordered by seq, into a file and ``guardrail audit verify``
checks them all (:func:`write_chains` does exactly that), with one summary line per
process: a record dropped, altered or reordered on the way is a located break.

The OpenTelemetry logs API (``opentelemetry._logs``) is the one the SDK's
``LoggerProvider`` implements; without an SDK the records go nowhere.

.. versionadded:: 0.1
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber, get_logger_provider

from guardrail.audit._format import ALG_HMAC, ALG_SHA256, GENESIS, canonical, encode, event_json
from guardrail.audit.event import AuditEvent
from guardrail.errors import AuditError

EVENT_NAME = "guardrail.audit"
CHAIN_ID = "guardrail.chain.id"
CHAIN_SEQ = "guardrail.chain.seq"
CHAIN_PREV = "guardrail.chain.prev"
CHAIN_HASH = "guardrail.chain.hash"
_SEVERITY = {
    "allowed": SeverityNumber.INFO,
    "denied": SeverityNumber.WARN,
    "budget_exceeded": SeverityNumber.WARN,
    "auth_failed": SeverityNumber.WARN,
    "approval_required": SeverityNumber.INFO,
    "error": SeverityNumber.ERROR,
}


class OTelLogSink:
    """An audit sink that emits each record as a hash-chained OpenTelemetry log record.

    ``logger_provider`` defaults to the global one. ``key`` makes the hashes
    HMAC-SHA256 (verify with ``--key``). Records are emitted in seq order.
    """

    def __init__(
        self, logger_provider: LoggerProvider | None = None, *, key: bytes | None = None
    ) -> None:
        provider = logger_provider if logger_provider is not None else get_logger_provider()
        self._logger = provider.get_logger("guardrail.audit")
        self.key = key
        self.chain = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._seq = 0
        self._prev = GENESIS

    def write(self, event: AuditEvent) -> None:
        with self._lock:
            if self._seq == 0:
                alg = ALG_HMAC if self.key is not None else ALG_SHA256
                start = {"chain": self.chain, "alg": alg, "time": _now(), "version": 1}
                self._emit("start", canonical(start), None)
            self._emit("event", event_json(event), event)

    def _emit(self, kind: str, data_json: str, event: AuditEvent | None) -> None:
        seq = self._seq + 1
        line, digest = encode(seq, kind, self._prev, data_json, self.key)
        attributes: dict[str, Any] = {
            CHAIN_ID: self.chain,
            CHAIN_SEQ: seq,
            CHAIN_PREV: self._prev,
            CHAIN_HASH: digest,
        }
        if event is not None:
            attributes.update(_event_attributes(event))
        try:
            self._logger.emit(
                timestamp=time.time_ns(),
                context=_span_context(event),
                severity_number=_SEVERITY.get(event.decision if event else "", SeverityNumber.INFO),
                body=line.decode().rstrip("\n"),
                attributes=attributes,
                event_name=EVENT_NAME,
            )
        except Exception as exc:
            raise AuditError(f"OpenTelemetry log sink failed: {exc}") from exc
        # Only a record handed to the provider moves the chain on.
        self._seq, self._prev = seq, digest


def write_chains(bodies: Iterable[tuple[Mapping[str, Any], str]], directory: Path) -> list[Path]:
    """Write collected records (attributes, body) as one chain-log file per chain id.

    Each file holds its chain's bodies ordered by seq, ready for ``audit verify``.
    """
    by_chain: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for attributes, body in bodies:
        by_chain[str(attributes[CHAIN_ID])].append((int(attributes[CHAIN_SEQ]), body))
    files = []
    for chain, records in sorted(by_chain.items()):
        path = directory / f"{chain}.jsonl"
        path.write_text("".join(f"{body}\n" for _, body in sorted(records)), encoding="utf-8")
        files.append(path)
    return files


def _event_attributes(event: AuditEvent) -> dict[str, Any]:
    found = {
        "gen_ai.tool.name": event.tool,
        "guardrail.phase": event.phase,
        "guardrail.decision": event.decision,
        "guardrail.call.id": event.call_id,
        "enduser.id": event.subject,
        "guardrail.rule": event.rule,
        "guardrail.limit": event.limit,
        "guardrail.policy.digest": event.policy,
    }
    return {name: value for name, value in found.items() if value is not None}


def _span_context(event: AuditEvent | None) -> Any:
    """A context holding the call's span ids, so the log record links to its trace."""
    if event is None or not event.trace_id or not event.span_id:
        return None
    span = trace.NonRecordingSpan(
        trace.SpanContext(
            trace_id=int(event.trace_id, 16),
            span_id=int(event.span_id, 16),
            is_remote=False,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
    )
    return trace.set_span_in_context(span)


def _now() -> str:
    return datetime.now(UTC).isoformat()
