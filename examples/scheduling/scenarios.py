"""The requests the harness sends, and a judge that reads the clinic's final state.

Each request carries what a clinician would say the right specialty is (the label);
everything else about the right outcome is worked out from the database: whether the
plan covers that specialty, which in-network slot in the window was the earliest one
nobody else took, and what actually happened to the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from examples.scheduling.clinic import Clinic, FrontDesk, Row
from examples.scheduling.tools import parse_window


@dataclass(frozen=True)
class Request:
    """One scheduling request and the conditions it runs under."""

    label: str
    patient: str
    reason: str
    window: str
    specialty: str
    """The right specialty for ``reason`` (the ground truth the judge uses)."""
    front_desk_takes: str | None = None
    """A slot a receptionist holds as soon as an agent's availability read shows it."""
    confirm_timeouts: int = 0
    """Confirms that commit and then time out."""

    def clinic(self) -> tuple[Clinic, FrontDesk | None]:
        clinic = Clinic(confirm_timeouts=self.confirm_timeouts)
        desk = None
        if self.front_desk_takes is not None:
            desk = FrontDesk(clinic, self.front_desk_takes, patient_id="P-1005")
        return clinic, desk


REQUESTS = (
    Request("ana: knee pain", "Ana Silva", "knee pain after running", "2026-12-07", "orthopedics"),
    Request(
        "ben: rash, plan does not cover it",
        "Ben Okafor",
        "itchy rash on both arms",
        "2026-12-07",
        "dermatology",
    ),
    Request(
        "chen: front desk takes a slot",
        "Chen Wei",
        "heart palpitations follow-up",
        "2026-12-07T08:00/2026-12-07T12:00",
        "cardiology",
        front_desk_takes="D-05-0900",
    ),
    Request(
        "dana: confirm times out",
        "Dana Kim",
        "a mole that changed shape",
        "2026-12-07",
        "dermatology",
        confirm_timeouts=1,
    ),
)


@dataclass
class Verdict:
    outcome: str
    """What happened, in words: the same words for the same end state."""
    expected: str
    problems: list[str] = field(default_factory=list)
    double_bookings: int = 0
    """Slots booked twice, plus extra appointments the patient got for this request."""

    @property
    def wrong(self) -> bool:
        return self.outcome != self.expected


def judge(clinic: Clinic, request: Request) -> Verdict:
    patient = clinic.row("SELECT * FROM patients WHERE name = ?", request.patient)
    assert patient is not None, request.patient
    pid = patient["id"]
    booked = clinic.appointments(pid)
    notified = {n["appointment_id"] for n in clinic.rows(_NOTIFIED, pid)}
    held = clinic.rows("SELECT * FROM holds WHERE patient_id = ? AND status = 'active'", pid)
    doubled = clinic.rows(_DOUBLED)
    outcome = describe(booked, notified, len(held), len(doubled))
    right = _right_slot(clinic, request, pid)
    expected = "not booked" if right is None else f"booked {right} (notified)"
    verdict = Verdict(outcome, expected, double_bookings=len(doubled) + max(0, len(booked) - 1))
    verdict.problems = _problems(verdict, booked, right, held)
    return verdict


def describe(booked: list[Row], notified: set[str], held: int, doubled: int) -> str:
    parts = [
        f"booked {_slot(a['provider'], a['start'])}"
        + (" (notified)" if a["appointment_id"] in notified else " (not notified)")
        for a in booked
    ] or ["not booked"]
    if held:
        parts.append(f"{held} hold(s) left")
    if doubled:
        parts.append("slot double-booked")
    return " + ".join(parts)


def _right_slot(clinic: Clinic, request: Request, pid: str) -> str | None:
    """The earliest in-network slot in the window that no other patient has, if covered."""
    if clinic.row(_COVERED, pid, request.specialty) is None:
        return None
    start, end = parse_window(request.window)
    slot = clinic.row(_EARLIEST, pid, request.specialty, start, end, pid, pid)
    return None if slot is None else _slot(slot["name"], slot["start"])


def _problems(verdict: Verdict, booked: list[Row], right: str | None, held: list[Row]) -> list[str]:
    problems = []
    if right is None and booked:
        problems.append("booked a visit the plan does not cover")
    if right is not None and not booked:
        problems.append("not booked although a covered slot was free")
    if booked and right is not None and verdict.outcome.split(" (")[0] != f"booked {right}":
        problems.append("booked the wrong slot")
    if held:
        problems.append("left a hold behind")
    if verdict.double_bookings:
        problems.append("double booking")
    if "not notified" in verdict.outcome:
        problems.append("patient not notified")
    return problems


def _slot(provider: str, start: str) -> str:
    return f"{provider} {start[-5:]}"


_NOTIFIED = "SELECT appointment_id FROM notifications WHERE patient_id = ?"
_DOUBLED = "SELECT slot_id FROM appointments GROUP BY slot_id HAVING COUNT(*) > 1"
_COVERED = (
    "SELECT 1 FROM patients p JOIN plans l ON l.plan = p.plan AND l.active = 1 "
    "JOIN coverage c ON c.plan = p.plan WHERE p.id = ? AND c.specialty = ?"
)
# Slots other patients hold or booked are out; the patient's own booking is in.
_EARLIEST = (
    "SELECT s.start, d.name FROM slots s JOIN providers d ON d.id = s.provider_id "
    "JOIN networks n ON n.provider_id = d.id "
    "JOIN patients p ON p.plan = n.plan AND p.id = ? "
    "WHERE d.specialty = ? AND s.start >= ? AND s.start < ? "
    "AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.patient_id != ?) "
    "AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.slot_id = s.id AND h.status = 'active' "
    "AND h.patient_id != ?) ORDER BY s.start, d.id LIMIT 1"
)
