"""``schedule_appointment``: one intent-level skill over the clinic's granular tools.

The skill runs the booking protocol the same way every time: resolve the patient,
triage, check eligibility before touching a slot, consider only in-network providers,
take the earliest free slot, hold it, confirm it under an idempotency key (so a retry
after a timeout cannot book twice), release the hold if confirming fails, notify.
It is authorized and budgeted as a whole; its steps are ``expose="skill"`` tools the
agent never sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from examples.scheduling.clinic import Clinic, ClinicError, ClinicTimeout, Row, SlotUnavailable
from examples.scheduling.tools import ClinicTools, parse_window, tool_methods
from guardrail import Guard, Policy

POLICY_FILE = Path(__file__).with_name("policy.yaml")
CONFIRM_ATTEMPTS = 3

Mode = Literal["skill", "raw"]


class SchedulingFailed(ClinicError):
    """The booking could not be completed; any hold it took was released."""


class Scheduler:
    """The skill's body; ``step`` holds the guarded granular tools it calls."""

    def __init__(self, step: dict[str, Callable[..., Any]]) -> None:
        self.step = step

    def schedule_appointment(self, patient: str, reason: str, window: str) -> Row:
        """Book the earliest in-network appointment for a patient's reason within a window.

        patient: the patient's name; reason: why they need to be seen, in their words;
        window: START/END in ISO time (2026-12-07T08:00/2026-12-07T12:00) or a date.
        """
        matches = self.step["find_patient"](query=patient)
        if len(matches) != 1:
            found = "no patient" if not matches else f"{len(matches)} patients"
            return {"status": "patient_not_found", "detail": f"{found} named {patient!r}"}
        patient_id = matches[0]["patient_id"]
        specialty = self.step["triage_reason"](reason=reason)["specialty"]
        key = idempotency_key(patient_id, specialty, window)
        done = self.step["find_appointment"](idempotency_key=key)
        if done is not None:
            return booked(done, key)
        eligibility = self.step["check_eligibility"](patient_id=patient_id, specialty=specialty)
        if not eligibility["eligible"]:
            return {"status": "not_eligible", "detail": eligibility["reason"]}
        hold = self._hold_earliest(patient_id, specialty, window, key)
        if hold is None:
            return {"status": "no_availability", "detail": f"no {specialty} slot in {window}"}
        appointment = self._confirm_or_release(hold["hold_id"], reason, key)
        appointment_id = appointment["appointment_id"]
        self.step["notify_patient"](patient_id=patient_id, appointment_id=appointment_id)
        return booked(appointment, key)

    def _candidates(self, patient_id: str, specialty: str, window: str) -> list[Row]:
        slots: list[Row] = []
        for provider in self.step["list_providers"](specialty=specialty):
            provider_id = provider["provider_id"]
            if self.step["check_network"](provider_id=provider_id, patient_id=patient_id)[
                "in_network"
            ]:
                slots += self.step["provider_availability"](provider_id=provider_id, window=window)
        return sorted(slots, key=lambda slot: (slot["start"], slot["provider_id"]))

    def _hold_earliest(self, patient_id: str, specialty: str, window: str, key: str) -> Row | None:
        for slot in self._candidates(patient_id, specialty, window):
            try:
                hold: Row = self.step["hold_slot"](
                    slot_id=slot["slot_id"], patient_id=patient_id, idempotency_key=key
                )
            except SlotUnavailable:
                continue  # taken since we looked: the next earliest
            return hold
        return None

    def _confirm_or_release(self, hold_id: str, reason: str, key: str) -> Row:
        for _attempt in range(CONFIRM_ATTEMPTS):
            try:
                appointment: Row = self.step["confirm_appointment"](
                    hold_id=hold_id, reason=reason, idempotency_key=key
                )
            except ClinicTimeout:
                continue  # safe to repeat: the key makes a committed confirm come back
            return appointment
        self.step["release_hold"](hold_id=hold_id)  # compensate: give the slot back
        raise SchedulingFailed(f"could not confirm hold {hold_id}; it was released")


def idempotency_key(patient_id: str, specialty: str, window: str) -> str:
    """Same patient, same need, same window: the same booking, however it is phrased."""
    start, end = parse_window(window)
    text = f"{patient_id}|{specialty}|{start}|{end}"
    return "sched-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def booked(appointment: Row, key: str) -> Row:
    fields = ("appointment_id", "provider_id", "provider", "start", "slot_id")
    return {"status": "booked", **{f: appointment[f] for f in fields}, "idempotency_key": key}


def build_guard(
    clinic: Clinic, *, mode: Mode = "skill", policy: Policy | None = None, **options: Any
) -> Guard:
    """A guard over ``clinic``: the skill with hidden steps, or (``"raw"``) the bare tools.

    ``options`` go to :class:`Guard` (authenticator, audit sinks, tracer_provider, ...).
    """
    guard = Guard(policy or Policy.from_file(POLICY_FILE), **options)
    expose: Literal["agent", "skill"] = "skill" if mode == "skill" else "agent"
    step = {
        name: guard.tool(expose=expose)(method)
        for name, method in tool_methods(ClinicTools(clinic)).items()
    }
    if mode == "skill":
        guard.skill(cost=1)(Scheduler(step).schedule_appointment)
    return guard


def agent_tools(guard: Guard) -> Iterable[str]:
    """The tool names an agent is offered by ``guard`` (before any per-user filtering)."""
    return [name for name, spec in guard.tools.items() if spec.expose == "agent"]
