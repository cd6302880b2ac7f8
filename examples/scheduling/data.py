"""The clinic's tables and the demo data: four patients, three plans, six providers."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE plans (plan TEXT PRIMARY KEY, active INTEGER NOT NULL);
CREATE TABLE coverage (plan TEXT NOT NULL, specialty TEXT NOT NULL);
CREATE TABLE patients (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, born TEXT NOT NULL,
    plan TEXT NOT NULL, member_id TEXT NOT NULL, history TEXT NOT NULL);
CREATE TABLE providers (id TEXT PRIMARY KEY, name TEXT NOT NULL, specialty TEXT NOT NULL);
CREATE TABLE networks (provider_id TEXT NOT NULL, plan TEXT NOT NULL);
CREATE TABLE slots (
    id TEXT PRIMARY KEY, provider_id TEXT NOT NULL, start TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'free');
CREATE TABLE holds (
    id TEXT PRIMARY KEY, slot_id TEXT NOT NULL, patient_id TEXT NOT NULL,
    key TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE appointments (
    id TEXT PRIMARY KEY, slot_id TEXT NOT NULL, patient_id TEXT NOT NULL,
    reason TEXT NOT NULL, key TEXT UNIQUE);
CREATE TABLE notifications (patient_id TEXT NOT NULL, appointment_id TEXT NOT NULL);
"""

DAY = "2026-12-07"

PLANS = {"BluePath PPO": True, "CareLite HMO": True, "OldCo Basic": False}
COVERAGE = {
    "BluePath PPO": ["primary care", "orthopedics", "dermatology", "cardiology"],
    "CareLite HMO": ["primary care", "orthopedics"],
    "OldCo Basic": ["primary care"],
}
PATIENTS = [
    ("P-1001", "Ana Silva", "1984-03-02", "BluePath PPO", "BP-88121", "sprained knee 2025"),
    ("P-1002", "Ben Okafor", "1990-07-15", "CareLite HMO", "CL-20417", "eczema"),
    ("P-1003", "Chen Wei", "1975-11-30", "BluePath PPO", "BP-77310", "arrhythmia"),
    ("P-1004", "Dana Kim", "1968-01-09", "BluePath PPO", "BP-51002", "melanoma 2019"),
    ("P-1005", "Eli Stone", "1959-05-21", "OldCo Basic", "OC-00912", "none"),
]
PROVIDERS = [
    ("D-01", "Dr. Adams", "orthopedics", ["CareLite HMO"], ["08:30", "09:00"]),
    ("D-02", "Dr. Baker", "orthopedics", ["BluePath PPO", "CareLite HMO"], ["11:00", "14:00"]),
    ("D-03", "Dr. Chavez", "orthopedics", ["BluePath PPO"], ["10:00", "15:30"]),
    ("D-04", "Dr. Diaz", "dermatology", ["BluePath PPO", "CareLite HMO"], ["09:30", "13:00"]),
    ("D-05", "Dr. Evans", "cardiology", ["BluePath PPO"], ["09:00", "09:30", "16:00"]),
    ("D-06", "Dr. Foster", "cardiology", ["BluePath PPO", "CareLite HMO"], ["12:00"]),
]


def slot_id(provider_id: str, time: str) -> str:
    return f"{provider_id}-{time.replace(':', '')}"


def seed(db: sqlite3.Connection) -> None:
    db.executemany("INSERT INTO plans VALUES (?, ?)", [(p, int(a)) for p, a in PLANS.items()])
    db.executemany(
        "INSERT INTO coverage VALUES (?, ?)",
        [(plan, s) for plan, specialties in COVERAGE.items() for s in specialties],
    )
    db.executemany("INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?)", PATIENTS)
    for provider_id, name, specialty, networks, times in PROVIDERS:
        db.execute("INSERT INTO providers VALUES (?, ?, ?)", (provider_id, name, specialty))
        db.executemany(
            "INSERT INTO networks VALUES (?, ?)", [(provider_id, plan) for plan in networks]
        )
        db.executemany(
            "INSERT INTO slots (id, provider_id, start) VALUES (?, ?, ?)",
            [(slot_id(provider_id, t), provider_id, f"{DAY}T{t}") for t in times],
        )
