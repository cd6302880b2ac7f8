"""Audit: events, redaction, the hash-chained log, spans and verification."""

from guardrail.audit.chain import ChainLog
from guardrail.audit.event import AuditEvent
from guardrail.audit.otel import SpanEmitter
from guardrail.audit.otel_logs import OTelLogSink
from guardrail.audit.redact import Redactor
from guardrail.audit.trail import AuditSink, AuditTrail
from guardrail.audit.verify import Break, VerifyReport, verify, verify_bytes

__all__ = [
    "AuditEvent",
    "AuditSink",
    "AuditTrail",
    "Break",
    "ChainLog",
    "OTelLogSink",
    "Redactor",
    "SpanEmitter",
    "VerifyReport",
    "verify",
    "verify_bytes",
]
