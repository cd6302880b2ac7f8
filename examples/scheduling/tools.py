"""The clinic's API as thirteen granular agent tools (what an MCP server for it would list)."""

from __future__ import annotations

from typing import Any

from examples.scheduling.clinic import Clinic, ClinicError, Row

TOOL_NAMES = (
    "find_patient",
    "check_eligibility",
    "triage_reason",
    "list_providers",
    "check_network",
    "provider_availability",
    "hold_slot",
    "confirm_appointment",
    "release_hold",
    "book_slot",
    "notify_patient",
    "find_appointment",
    "get_medical_record",
)

_SPECIALTIES = {
    "orthopedics": ("knee", "back", "shoulder", "hip", "fracture", "sprain", "joint"),
    "dermatology": ("rash", "skin", "mole", "itch", "eczema", "acne"),
    "cardiology": ("chest", "heart", "palpitation", "cardio", "blood pressure"),
}


def parse_window(window: str) -> tuple[str, str]:
    """``"2026-12-07T08:00/2026-12-07T12:00"`` or a whole day ``"2026-12-07"``."""
    start, _, end = window.strip().partition("/")
    if not end:
        if len(start) != 10:
            raise ClinicError(f"window {window!r}: use START/END or a date (YYYY-MM-DD)")
        return f"{start}T00:00", f"{start}T23:59"
    return start.strip(), end.strip()


class ClinicTools:
    """One method per tool; the docstrings are what the model reads."""

    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic

    def find_patient(self, query: str) -> list[Row]:
        """Find patients by name ("Ana Silva" or "Silva, Ana")."""
        return self.clinic.find_patient(query)

    def check_eligibility(self, patient_id: str, specialty: str) -> Row:
        """Whether the patient's insurance covers a visit to this specialty."""
        return self.clinic.eligibility(patient_id, specialty)

    def triage_reason(self, reason: str) -> Row:
        """The specialty that treats the reason for the visit."""
        text = reason.lower()
        for specialty, words in _SPECIALTIES.items():
            if any(word in text for word in words):
                return {"specialty": specialty}
        return {"specialty": "primary care"}

    def list_providers(self, specialty: str) -> list[Row]:
        """Providers of a specialty."""
        return self.clinic.providers(specialty)

    def check_network(self, provider_id: str, patient_id: str) -> Row:
        """Whether the provider is in the network of the patient's plan."""
        return {"in_network": self.clinic.in_network(provider_id, patient_id)}

    def provider_availability(self, provider_id: str, window: str) -> list[Row]:
        """Free slots of a provider inside a window (START/END, or a date)."""
        start, end = parse_window(window)
        return self.clinic.availability(provider_id, start, end)

    def hold_slot(self, slot_id: str, patient_id: str, idempotency_key: str = "") -> Row:
        """Hold a free slot for a patient while the booking is completed."""
        return self.clinic.hold(slot_id, patient_id, idempotency_key)

    def confirm_appointment(self, hold_id: str, reason: str, idempotency_key: str = "") -> Row:
        """Turn a hold into an appointment (a repeat with the same key returns the first)."""
        return self.clinic.confirm(hold_id, reason, idempotency_key)

    def release_hold(self, hold_id: str) -> Row:
        """Give a held slot back."""
        return self.clinic.release(hold_id)

    def book_slot(self, slot_id: str, patient_id: str, reason: str) -> Row:
        """Book a slot directly (legacy endpoint)."""
        return self.clinic.book_direct(slot_id, patient_id, reason)

    def notify_patient(self, patient_id: str, appointment_id: str) -> Row:
        """Send the patient their appointment details."""
        return self.clinic.notify(patient_id, appointment_id)

    def find_appointment(self, idempotency_key: str) -> Row | None:
        """The appointment booked under an idempotency key, if any."""
        return self.clinic.appointment_by_key(idempotency_key)

    def get_medical_record(self, patient_id: str) -> Row:
        """The patient's chart (clinicians only)."""
        return self.clinic.medical_record(patient_id)


def tool_methods(tools: ClinicTools) -> dict[str, Any]:
    """The bound methods, by tool name."""
    return {name: getattr(tools, name) for name in TOOL_NAMES}
