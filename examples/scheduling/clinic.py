"""An offline clinic backend on the standard library's ``sqlite3``: patients, coverage,
providers, slots, holds, appointments and notifications.

Its API is what a real scheduling system exposes: granular, each call correct on its
own, none of them knowing the booking protocol. Two things make it realistic enough to
go wrong: ``book_slot`` is a legacy direct write that ignores holds, and ``faults`` can
make ``confirm_appointment`` time out after it has committed (the caller cannot tell).
Competing bookings from the front desk are injected by :class:`FrontDesk`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from examples.scheduling.data import SCHEMA, seed


class ClinicError(Exception):
    """A request the clinic refuses; the message says why."""


class SlotUnavailable(ClinicError):
    """The slot is held or booked by someone else."""


class ClinicTimeout(ClinicError):
    """The backend did not answer in time (the write may or may not have happened)."""


Row = dict[str, Any]


class Clinic:
    """One clinic database (in memory by default). Safe to share between threads."""

    def __init__(
        self, path: str = ":memory:", *, confirm_timeouts: int = 0, confirm_outages: int = 0
    ) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self.confirm_timeouts = confirm_timeouts
        """How many of the next ``confirm_appointment`` calls commit, then time out."""
        self.confirm_outages = confirm_outages
        """How many of the next ``confirm_appointment`` calls fail before committing."""
        self.on_availability: list[Callable[[Clinic, list[Row]], None]] = []
        """Called after each availability read (how competing bookings are injected)."""
        self.db.executescript(SCHEMA)
        with self.transaction():
            seed(self.db)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def rows(self, sql: str, *params: Any) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self.db.execute(sql, params)]

    def row(self, sql: str, *params: Any) -> Row | None:
        found = self.rows(sql, *params)
        return found[0] if found else None

    # -- patients and coverage ------------------------------------------------------

    def find_patient(self, query: str) -> list[Row]:
        """Patients whose name matches ``query`` ("Ana Silva", "silva, ana", "ANA SILVA")."""
        words = sorted(query.replace(",", " ").lower().split())
        return [
            {"patient_id": p["id"], "name": p["name"], "born": p["born"]}
            for p in self.rows("SELECT * FROM patients ORDER BY id")
            if sorted(p["name"].lower().split()) == words
        ]

    def coverage(self, patient_id: str) -> Row:
        found = self.row(
            "SELECT p.id AS patient_id, p.plan, p.member_id, c.active FROM patients p "
            "JOIN plans c ON c.plan = p.plan WHERE p.id = ?",
            patient_id,
        )
        if found is None:
            raise ClinicError(f"no patient {patient_id}")
        return {**found, "active": bool(found["active"])}

    def eligibility(self, patient_id: str, specialty: str) -> Row:
        plan = self.coverage(patient_id)
        covered = self.row(
            "SELECT 1 AS ok FROM coverage WHERE plan = ? AND specialty = ?",
            plan["plan"],
            specialty,
        )
        if not plan["active"]:
            return {"eligible": False, "reason": f"plan {plan['plan']} is not active"}
        if covered is None:
            return {"eligible": False, "reason": f"{plan['plan']} does not cover {specialty}"}
        return {"eligible": True, "reason": f"{plan['plan']} covers {specialty}"}

    def medical_record(self, patient_id: str) -> Row:
        found = self.row("SELECT id, name, history FROM patients WHERE id = ?", patient_id)
        if found is None:
            raise ClinicError(f"no patient {patient_id}")
        return found

    # -- providers and slots --------------------------------------------------------

    def providers(self, specialty: str) -> list[Row]:
        return self.rows(
            "SELECT id AS provider_id, name FROM providers WHERE specialty = ? ORDER BY id",
            specialty,
        )

    def in_network(self, provider_id: str, patient_id: str) -> bool:
        plan = self.coverage(patient_id)["plan"]
        found = self.row(
            "SELECT 1 AS ok FROM networks WHERE provider_id = ? AND plan = ?", provider_id, plan
        )
        return found is not None

    def availability(self, provider_id: str, start: str, end: str) -> list[Row]:
        free = self.rows(
            "SELECT id AS slot_id, provider_id, start FROM slots WHERE provider_id = ? "
            "AND status = 'free' AND start >= ? AND start < ? ORDER BY start",
            provider_id,
            start,
            end,
        )
        for hook in list(self.on_availability):
            hook(self, free)
        return free

    # -- holds and appointments -----------------------------------------------------

    def hold(self, slot_id: str, patient_id: str, key: str = "") -> Row:
        with self.transaction() as db:
            taken = db.execute(
                "UPDATE slots SET status = 'held' WHERE id = ? AND status = 'free'", (slot_id,)
            )
            if taken.rowcount != 1:
                raise SlotUnavailable(f"slot {slot_id} is not free")
            hold_id = f"H-{_next(db, 'holds')}"
            db.execute(
                "INSERT INTO holds (id, slot_id, patient_id, key, status) "
                "VALUES (?, ?, ?, ?, 'active')",
                (hold_id, slot_id, patient_id, key),
            )
        return {"hold_id": hold_id, "slot_id": slot_id}

    def confirm(self, hold_id: str, reason: str, key: str = "") -> Row:
        """Turn an active hold into an appointment; with ``key``, a repeat returns the first."""
        if key and (done := self.appointment_by_key(key)) is not None:
            return done
        if self.confirm_outages > 0:
            self.confirm_outages -= 1
            raise ClinicTimeout("confirm_appointment: the booking service is unavailable")
        with self.transaction() as db:
            hold = db.execute(
                "SELECT * FROM holds WHERE id = ? AND status = 'active'", (hold_id,)
            ).fetchone()
            if hold is None:
                raise ClinicError(f"hold {hold_id} is not active")
            appointment = _insert_appointment(db, hold["slot_id"], hold["patient_id"], reason, key)
            db.execute("UPDATE holds SET status = 'confirmed' WHERE id = ?", (hold_id,))
        if self.confirm_timeouts > 0:
            self.confirm_timeouts -= 1
            raise ClinicTimeout("confirm_appointment timed out")
        return appointment

    def release(self, hold_id: str) -> Row:
        with self.transaction() as db:
            hold = db.execute(
                "SELECT * FROM holds WHERE id = ? AND status = 'active'", (hold_id,)
            ).fetchone()
            if hold is None:
                raise ClinicError(f"hold {hold_id} is not active")
            db.execute("UPDATE holds SET status = 'released' WHERE id = ?", (hold_id,))
            db.execute("UPDATE slots SET status = 'free' WHERE id = ?", (hold["slot_id"],))
        return {"released": hold_id}

    def book_direct(self, slot_id: str, patient_id: str, reason: str) -> Row:
        """The legacy booking endpoint: refuses a booked slot but predates holds."""
        with self.transaction() as db:
            slot = db.execute("SELECT status FROM slots WHERE id = ?", (slot_id,)).fetchone()
            if slot is None or slot["status"] == "booked":
                raise SlotUnavailable(f"slot {slot_id} is not free")
            return _insert_appointment(db, slot_id, patient_id, reason, "")

    def appointment_by_key(self, key: str) -> Row | None:
        return self.row(f"{_APPOINTMENT} WHERE a.key = ?", key)

    def appointments(self, patient_id: str | None = None) -> list[Row]:
        if patient_id is None:
            return self.rows(f"{_APPOINTMENT} ORDER BY a.id")
        return self.rows(f"{_APPOINTMENT} WHERE a.patient_id = ? ORDER BY a.id", patient_id)

    def notify(self, patient_id: str, appointment_id: str) -> Row:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO notifications (patient_id, appointment_id) VALUES (?, ?)",
                (patient_id, appointment_id),
            )
        return {"sent": True, "patient_id": patient_id, "appointment_id": appointment_id}


_APPOINTMENT = (
    "SELECT a.id AS appointment_id, a.patient_id, a.slot_id, s.provider_id, p.name AS provider, "
    "s.start, a.reason FROM appointments a JOIN slots s ON s.id = a.slot_id "
    "JOIN providers p ON p.id = s.provider_id"
)


def _next(db: sqlite3.Connection, table: str) -> int:
    count: int = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count + 1


def _insert_appointment(
    db: sqlite3.Connection, slot_id: str, patient_id: str, reason: str, key: str
) -> Row:
    appointment_id = f"A-{_next(db, 'appointments')}"
    db.execute(
        "INSERT INTO appointments (id, slot_id, patient_id, reason, key) VALUES (?, ?, ?, ?, ?)",
        (appointment_id, slot_id, patient_id, reason, key or None),
    )
    db.execute("UPDATE slots SET status = 'booked' WHERE id = ?", (slot_id,))
    row = db.execute(f"{_APPOINTMENT} WHERE a.id = ?", (appointment_id,)).fetchone()
    return dict(row)


class FrontDesk:
    """A receptionist booking by phone: on the first availability read that shows
    ``slot_id``, they hold it; they confirm when :meth:`finish` is called."""

    def __init__(self, clinic: Clinic, slot_id: str, patient_id: str) -> None:
        self.slot_id, self.patient_id = slot_id, patient_id
        self.hold_id: str | None = None
        clinic.on_availability.append(self._saw)

    def _saw(self, clinic: Clinic, free: list[Row]) -> None:
        if self.hold_id is None and any(row["slot_id"] == self.slot_id for row in free):
            self.hold_id = clinic.hold(self.slot_id, self.patient_id)["hold_id"]

    def finish(self, clinic: Clinic) -> None:
        if self.hold_id is not None:
            clinic.confirm(self.hold_id, "booked by phone")
