"""``schedule_appointment``: one skill over hidden steps, idempotent, compensating,
authorized and budgeted as a whole, its steps nested under it in spans and records."""

from __future__ import annotations

import pytest

from examples.scheduling.clinic import Clinic
from examples.scheduling.skill import POLICY_FILE, SchedulingFailed, build_guard
from examples.scheduling.tools import TOOL_NAMES
from guardrail import BudgetExceeded, PermissionDenied, Policy
from guardrail.testing import capture_audit, make_principal, recording_tracer

SAM = make_principal("sam", roles=["scheduler"], org="clinic")
BILL = make_principal("bill", roles=["billing"], org="clinic")
ANA = {"patient": "Ana Silva", "reason": "knee pain", "window": "2026-12-07"}


def test_only_the_skill_is_offered_and_its_steps_are_refused_to_the_agent() -> None:
    """The thirteen tools are steps: not listed, and refused (with a record) when called."""
    clinic = Clinic()
    guard = build_guard(clinic)
    assert guard.visible_tools(SAM) == ["schedule_appointment"]
    assert guard.visible_tools(BILL) == []
    with capture_audit(guard) as events, guard.acting_as(SAM):
        for name in ("hold_slot", "book_slot", "find_patient"):
            with pytest.raises(PermissionDenied, match="only be called from inside a skill"):
                guard.call(name, _args_for(name))
    assert [(e.tool, e.phase) for e in events] == [
        ("hold_slot", "refusal"),
        ("book_slot", "refusal"),
        ("find_patient", "refusal"),
    ]
    assert clinic.rows("SELECT * FROM holds") == [] and clinic.appointments() == []
    assert len(TOOL_NAMES) == 13


def test_booked_once_however_often_and_however_phrased() -> None:
    """The idempotency key is the patient, the need and the window, not the wording."""
    clinic = Clinic()
    guard = build_guard(clinic)
    with guard.acting_as(SAM):
        first = guard.call("schedule_appointment", ANA)
        again = guard.call(
            "schedule_appointment",
            {"patient": "SILVA, ana", "reason": "my knee hurts", "window": "2026-12-07"},
        )
    assert first == again and first["status"] == "booked"
    assert (first["provider"], first["start"]) == ("Dr. Chavez", "2026-12-07T10:00")
    assert len(clinic.appointments()) == 1
    assert len(clinic.rows("SELECT * FROM notifications")) == 1


def test_a_confirm_that_keeps_failing_releases_the_hold() -> None:
    """The compensating step: the slot is given back and the failure is on the record."""
    clinic = Clinic(confirm_outages=5)
    guard = build_guard(clinic)
    failing = pytest.raises(SchedulingFailed, match="released")
    with capture_audit(guard) as events, guard.acting_as(SAM), failing:
        guard.call("schedule_appointment", ANA)
    assert clinic.appointments() == []
    assert clinic.rows("SELECT status FROM slots WHERE id = 'D-03-1000'") == [{"status": "free"}]
    steps = [(e.tool, e.outcome) for e in events if e.phase == "outcome" and e.skill]
    assert steps[-4:] == [
        ("confirm_appointment", "ClinicTimeout"),
        ("confirm_appointment", "ClinicTimeout"),
        ("confirm_appointment", "ClinicTimeout"),
        ("release_hold", "ok"),
    ]
    assert events[-1].tool == "schedule_appointment" and events[-1].outcome == "SchedulingFailed"


def test_a_confirm_that_timed_out_after_committing_is_not_booked_twice() -> None:
    """The retry with the same key returns the appointment the timed-out call made."""
    clinic = Clinic(confirm_timeouts=1)
    guard = build_guard(clinic)
    with guard.acting_as(SAM):
        result = guard.call("schedule_appointment", ANA)
    assert result["status"] == "booked"
    assert [a["appointment_id"] for a in clinic.appointments()] == [result["appointment_id"]]


def test_the_skill_is_authorized_as_a_whole() -> None:
    """A user without the skill's rule is refused before any step runs."""
    clinic = Clinic()
    guard = build_guard(clinic)
    with capture_audit(guard) as events, guard.acting_as(BILL), pytest.raises(PermissionDenied):
        guard.call("schedule_appointment", ANA)
    assert [(e.tool, e.phase, e.decision) for e in events] == [
        ("schedule_appointment", "refusal", "denied")
    ]
    assert clinic.appointments() == []


def test_the_skill_is_budgeted_as_a_whole() -> None:
    """A per-user call limit counts the skill once, not once per step; a limit that
    names a step still applies to it."""
    policy = Policy.from_dict(
        {
            "rules": [
                {"id": "book", "allow": "schedule_appointment", "when": {"roles": "scheduler"}}
            ],
            "limits": [
                {"id": "user-calls", "per": "user", "calls": 2},
                {"id": "messages", "per": "org", "calls": 1, "tools": ["notify_patient"]},
            ],
        }
    )
    clinic = Clinic()
    guard = build_guard(clinic, policy=policy)
    chen = {"patient": "Chen Wei", "reason": "chest pain", "window": "2026-12-07"}
    with guard.acting_as(SAM):
        assert guard.call("schedule_appointment", ANA)["status"] == "booked"
        with pytest.raises(BudgetExceeded, match="messages"):
            guard.call("schedule_appointment", chen)  # booked, but the message budget is spent
        with pytest.raises(BudgetExceeded, match="user-calls"):
            guard.call("schedule_appointment", ANA)
    usage = {(u.limit, u.key): u.used for u in guard.usage(SAM)}
    assert usage[("user-calls", "sam")] == 2


def test_steps_nest_under_the_skill_in_spans_and_audit_records() -> None:
    """Each step's span is a child of the skill's span; each step's record names the skill."""
    provider, exporter = recording_tracer()
    guard = build_guard(Clinic(), tracer_provider=provider)
    with capture_audit(guard) as events, guard.acting_as(SAM):
        guard.call("schedule_appointment", ANA)
    spans = exporter.get_finished_spans()
    (skill,) = [s for s in spans if s.name == "execute_tool schedule_appointment"]
    steps = [s for s in spans if s is not skill]
    assert skill.parent is None and len(steps) >= 8
    assert {s.parent.span_id for s in steps if s.parent} == {skill.context.span_id}
    assert {s.context.trace_id for s in steps} == {skill.context.trace_id}
    in_order = sorted(steps, key=lambda s: s.start_time or 0)
    names = [s.name.removeprefix("execute_tool ") for s in in_order]
    assert names[:3] == ["find_patient", "triage_reason", "find_appointment"]
    assert names[-3:] == ["hold_slot", "confirm_appointment", "notify_patient"]
    top = events[0]
    assert (top.tool, top.skill, top.parent_call_id) == ("schedule_appointment", None, None)
    inner = [e for e in events if e.tool != "schedule_appointment"]
    assert inner and {(e.skill, e.parent_call_id, e.subject) for e in inner} == {
        ("schedule_appointment", top.call_id, "sam")
    }
    assert {e.span_id for e in inner if e.phase == "intent"} == {
        format(s.context.span_id, "016x") for s in steps
    }


def test_the_example_policy_denies_charts_to_schedulers() -> None:
    """In raw mode the chart is a tool the scheduler is shown but refused by a named rule."""
    guard = build_guard(Clinic(), mode="raw", policy=Policy.from_file(POLICY_FILE))
    assert "get_medical_record" not in guard.visible_tools(SAM)
    with guard.acting_as(SAM), pytest.raises(PermissionDenied) as refused:
        guard.call("get_medical_record", {"patient_id": "P-1001"})
    assert refused.value.rule == "phi-minimum-necessary"


def _args_for(name: str) -> dict[str, str]:
    return {
        "hold_slot": {"slot_id": "D-03-1000", "patient_id": "P-1001"},
        "book_slot": {"slot_id": "D-03-1000", "patient_id": "P-1001", "reason": "x"},
        "find_patient": {"query": "Ana Silva"},
    }[name]
