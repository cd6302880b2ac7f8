"""Audit: events, redaction and the sinks that keep them."""

from guardrail.audit.event import AuditEvent
from guardrail.audit.redact import Redactor
from guardrail.audit.trail import AuditSink, AuditTrail

__all__ = ["AuditEvent", "AuditSink", "AuditTrail", "Redactor"]
