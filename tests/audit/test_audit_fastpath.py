"""The audit fast paths give what the validating paths gave: events built without
validation equal validated ones, their JSON is the canonical JSON of their pydantic
dump, and arguments are redacted once per call."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from guardrail import Guard, PermissionDenied, Principal
from guardrail.audit import ChainLog, Redactor, verify
from guardrail.audit._format import canonical, event_json, parse
from guardrail.audit.event import AuditEvent, build_event, is_plain
from guardrail.audit.redact import _ASSIGNED, _DIGIT_RUN, REDACTED, SECRET_VALUES
from guardrail.testing import capture_audit

GuardFactory = Callable[..., Guard]


def slow_json(event: AuditEvent) -> str:
    return canonical(event.model_dump(mode="json", exclude_none=True))


class CountingRedactor(Redactor):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def arguments(self, args: Mapping[str, Any], fields: Iterable[str] = ()) -> dict[str, Any]:
        self.calls += 1
        return super().arguments(args, fields)


def test_trail_events_match_validated_ones(
    make_guard: GuardFactory, alice: Principal, contractor: Principal
) -> None:
    guard = make_guard()

    @guard.tool(cost=2, redact=["note"])
    def refund(
        order_id: str, amount: float, note: str = "", extra: dict[str, Any] | None = None
    ) -> str:
        return order_id

    @guard.tool
    def boom(order_id: str) -> str:
        raise ValueError("nope")

    with capture_audit(guard) as events:
        with guard.acting_as(alice):
            refund("A-17", 40.0, note="hunter2", extra={"b": [1, 2.5, None], "a": "é", "z": {}})
            with pytest.raises(ValueError):
                boom("A-1")
        with guard.acting_as(contractor), pytest.raises(PermissionDenied):
            refund("A-18", 10.0)
    assert [e.phase for e in events] == ["intent", "outcome", "intent", "outcome", "refusal"]
    assert events[3].decision == "error"
    for event in events:
        assert is_plain(event)
        validated = AuditEvent.model_validate(event.model_dump())
        assert validated == event
        assert event_json(event) == slow_json(event) == slow_json(validated)
        assert not is_plain(validated)
    assert events[0].args == events[1].args
    assert events[0].args is not events[1].args
    assert events[0].args["note"] == "[REDACTED]"


def test_arguments_are_redacted_once_per_call(policy: Any, alice: Principal) -> None:
    redactor = CountingRedactor()
    guard = Guard(policy)
    guard.audit.redactor = redactor

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        return order_id

    with capture_audit(guard) as events, guard.acting_as(alice):
        refund("A-17", 40.0)
        refund("A-18", 41.0)
    assert len(events) == 4
    assert redactor.calls == 2


@pytest.mark.parametrize(
    "stamp",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 5000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_event_json_times(stamp: datetime) -> None:
    event = build_event(
        {
            "event_id": "e",
            "time": stamp,
            "phase": "notice",
            "call_id": "c",
            "tool": "t",
            "decision": "allowed",
        }
    )
    assert event_json(event) == slow_json(event)


@pytest.mark.parametrize(
    "args",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"x": b"raw"},
        {"x": {1: "int key"}},
        {"x": {"b": 1, "a": [True, None, -0.0, 1e300, '\u2028"\\']}},
    ],
)
def test_event_json_odd_values_fall_back(args: dict[str, Any]) -> None:
    """Values that are not plain JSON give the pydantic text, as before."""
    fields = {
        "event_id": "e",
        "time": datetime.now(UTC),
        "phase": "notice",
        "call_id": "c",
        "tool": "t",
        "decision": "allowed",
        "args": args,
    }
    assert event_json(build_event(dict(fields))) == slow_json(AuditEvent(**fields))


def test_copies_are_not_plain() -> None:
    event = build_event(
        {
            "event_id": "e",
            "time": datetime.now(UTC),
            "phase": "notice",
            "call_id": "c",
            "tool": "t",
            "decision": "allowed",
        }
    )
    assert is_plain(event)
    copy = event.model_copy(update={"args": {"x": object()}})
    assert not is_plain(copy)
    assert not is_plain(event.model_copy(deep=True))


def test_chain_log_lines_hold_the_canonical_event(
    make_guard: GuardFactory, alice: Principal, log_path: Path
) -> None:
    log = ChainLog(log_path, fsync="batch")
    guard = make_guard(log)

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        return order_id

    with capture_audit(guard) as events, guard.acting_as(alice):
        for i in range(5):
            refund(f"A-{i}", 40.0)
    log.close()
    lines = log_path.read_bytes().splitlines()[1:]
    assert len(lines) == len(events) == 10
    for line, event in zip(lines, events, strict=True):
        record = parse(line, None)
        assert canonical(record.data) == slow_json(event)
        assert AuditEvent.model_validate(record.data) == event
    assert verify([log_path]).ok


def _text_without_prefilter(redactor: Redactor, text: str) -> str:
    """``Redactor.text`` as it was before it skipped the patterns on plain text."""
    for pattern in SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    text = _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _DIGIT_RUN.sub(redactor._card, text)
    if len(text) > redactor.max_length:
        text = f"{text[: redactor.max_length]}...[{len(text) - redactor.max_length} more chars]"
    return text


_FRAGMENTS = (
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln",
    "bEaReR abcdefghijkl",
    "sk-live-ABCDEFGHIJKLMNOPQRSTUV",
    "AKIAABCDEFGHIJKLMNOP",
    "ghp_" + "a" * 36,
    "xoxb-1234567890ab",
    "AIza" + "b" * 35,
    "-----BEGIN RSA PRIVATE KEY-----abc",
    "password=hunter2",
    "pa\u017f\u017fword=hunter2",
    "to\u212aen: 'x y'",
    "client_secret=zz",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "1 2 3 4 5 6 7 8 9 0 1 2 8",
    "A-17",
    "refund order for the customer",
    " ",
    "\u0131\u0130\u00df",
    "12",
)


def test_text_skips_patterns_only_when_none_can_match() -> None:
    redactor = Redactor()
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 5)))
        assert redactor.text(text) == _text_without_prefilter(redactor, text), text


def test_a_built_events_json_is_its_set_fields_and_copies_are_encoded_afresh() -> None:
    """A built event's JSON comes from the fields it was built from (None ones left out);
    a ``_replace``d or ``model_copy``d event is encoded from its own values."""
    event = build_event(
        {
            "event_id": "e",
            "time": datetime(2026, 1, 2, tzinfo=UTC),
            "phase": "notice",
            "call_id": "c",
            "tool": "t",
            "decision": "allowed",
            "reason": None,
            "teams": ("b", "a"),
        }
    )
    assert event_json(event) == slow_json(event)
    assert '"reason"' not in event_json(event) and '"roles":[]' in event_json(event)
    for copy in (event._replace(tool="other"), event.model_copy(update={"tool": "other"})):
        assert '"tool":"other"' in event_json(copy)
        assert event_json(copy) == slow_json(copy)
