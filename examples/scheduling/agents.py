"""Scripted agents: the ways different models drive granular tools, and the same agents
handed the one skill instead.

Each strategy is the careful protocol with one habit changed, as seen in real models:
skipping the eligibility check, taking the first provider listed, booking without a
hold, retrying a failed step, doing things in another order, reading the chart to
triage. With the skill, the habits that remain are the ones a model has with any
single tool: how it phrases the arguments, and whether it retries.
"""

from __future__ import annotations

import contextlib
from typing import Any

from examples.scheduling.scenarios import Request
from guardrail import Guard, GuardrailDenied, Principal

Row = dict[str, Any]


class ToolFailed(Exception):
    """What the model reads when a tool call fails or is refused."""


class Agent:
    """Calls tools through a guard as one user, the way an agent loop would."""

    def __init__(self, guard: Guard, user: Principal) -> None:
        self.guard, self.user = guard, user

    def call(self, tool: str, **args: Any) -> Any:
        try:
            with self.guard.acting_as(self.user):
                return self.guard.call(tool, args)
        except GuardrailDenied as exc:
            raise ToolFailed(f"refused: {exc.reason}") from exc
        except Exception as exc:  # the tool's own error, as the model sees it
            raise ToolFailed(f"{type(exc).__name__}: {exc}") from exc


class Careful:
    """Finds the patient, triages, checks eligibility and the network, holds the earliest
    slot, confirms, notifies. On a failed confirm it releases the hold and gives up."""

    name = "careful"

    def raw(self, agent: Agent, request: Request) -> None:
        pid = self.patient(agent, request)
        specialty = self.specialty(agent, request, pid)
        if not self.eligible(agent, pid, specialty):
            return
        slots = self.candidates(agent, pid, specialty, request)
        appointment = self.book(agent, pid, slots, request)
        if appointment is not None:
            self.notify(agent, pid, appointment)

    def skill(self, agent: Agent, request: Request) -> None:
        patient, reason, window = self.phrase(request)
        agent.call("schedule_appointment", patient=patient, reason=reason, window=window)

    def phrase(self, request: Request) -> tuple[str, str, str]:
        return request.patient, request.reason, request.window

    # -- the steps, one habit each to override -----------------------------------------

    def patient(self, agent: Agent, request: Request) -> str:
        found: list[Row] = agent.call("find_patient", query=request.patient)
        return str(found[0]["patient_id"])

    def specialty(self, agent: Agent, request: Request, pid: str) -> str:
        return str(agent.call("triage_reason", reason=request.reason)["specialty"])

    def eligible(self, agent: Agent, pid: str, specialty: str) -> bool:
        answer = agent.call("check_eligibility", patient_id=pid, specialty=specialty)
        return bool(answer["eligible"])

    def providers(self, agent: Agent, pid: str, specialty: str) -> list[Row]:
        listed: list[Row] = agent.call("list_providers", specialty=specialty)
        return [
            p
            for p in listed
            if agent.call("check_network", provider_id=p["provider_id"], patient_id=pid)[
                "in_network"
            ]
        ]

    def candidates(self, agent: Agent, pid: str, specialty: str, request: Request) -> list[Row]:
        slots: list[Row] = []
        for provider in self.providers(agent, pid, specialty):
            slots += agent.call(
                "provider_availability", provider_id=provider["provider_id"], window=request.window
            )
        return sorted(slots, key=lambda s: (s["start"], s["provider_id"]))

    def book(self, agent: Agent, pid: str, slots: list[Row], request: Request) -> Row | None:
        for slot in slots:
            try:
                hold = agent.call("hold_slot", slot_id=slot["slot_id"], patient_id=pid)
            except ToolFailed:
                continue
            return self.confirm(agent, hold, request)
        return None

    def confirm(self, agent: Agent, hold: Row, request: Request) -> Row | None:
        try:
            result: Row = agent.call(
                "confirm_appointment", hold_id=hold["hold_id"], reason=request.reason
            )
            return result
        except ToolFailed:
            with contextlib.suppress(ToolFailed):
                agent.call("release_hold", hold_id=hold["hold_id"])
            return None

    def notify(self, agent: Agent, pid: str, appointment: Row) -> None:
        agent.call("notify_patient", patient_id=pid, appointment_id=appointment["appointment_id"])


class SkipsEligibility(Careful):
    """Goes straight to providers: never asks whether the plan covers the visit."""

    name = "skips eligibility check"

    def eligible(self, agent: Agent, pid: str, specialty: str) -> bool:
        return True

    def phrase(self, request: Request) -> tuple[str, str, str]:
        return request.patient.upper(), request.reason, request.window


class FirstProvider(Careful):
    """Takes the first provider listed and its first free slot; no network check."""

    name = "takes first provider"

    def providers(self, agent: Agent, pid: str, specialty: str) -> list[Row]:
        listed: list[Row] = agent.call("list_providers", specialty=specialty)
        return listed[:1]

    def phrase(self, request: Request) -> tuple[str, str, str]:
        first, _, last = request.patient.partition(" ")
        return f"{last}, {first}", f"patient says: {request.reason}", request.window


class NoHold(Careful):
    """Books the slot it saw with the direct booking call, without holding it first."""

    name = "books without a hold"

    def book(self, agent: Agent, pid: str, slots: list[Row], request: Request) -> Row | None:
        for slot in slots:
            try:
                result: Row = agent.call(
                    "book_slot", slot_id=slot["slot_id"], patient_id=pid, reason=request.reason
                )
            except ToolFailed:
                continue
            return result
        return None


class RetriesFailedStep(Careful):
    """Retries a failed confirm, then starts the booking over with the next slot."""

    name = "retries a failed step"

    def book(self, agent: Agent, pid: str, slots: list[Row], request: Request) -> Row | None:
        for slot in slots:
            try:
                hold = agent.call("hold_slot", slot_id=slot["slot_id"], patient_id=pid)
            except ToolFailed:
                continue
            for _attempt in range(2):
                try:
                    result: Row = agent.call(
                        "confirm_appointment", hold_id=hold["hold_id"], reason=request.reason
                    )
                    return result
                except ToolFailed:
                    continue
        return None

    def skill(self, agent: Agent, request: Request) -> None:
        super().skill(agent, request)
        super().skill(agent, request)  # "did that go through?": the same request again


class OtherOrder(Careful):
    """Holds the earliest slot first and checks eligibility afterwards; stops if not eligible."""

    name = "calls in another order"

    def raw(self, agent: Agent, request: Request) -> None:
        pid = self.patient(agent, request)
        specialty = self.specialty(agent, request, pid)
        for slot in self.candidates(agent, pid, specialty, request):
            try:
                hold = agent.call("hold_slot", slot_id=slot["slot_id"], patient_id=pid)
            except ToolFailed:
                continue
            if not self.eligible(agent, pid, specialty):
                return  # the hold is forgotten
            appointment = self.confirm(agent, hold, request)
            if appointment is not None:
                self.notify(agent, pid, appointment)
            return

    def phrase(self, request: Request) -> tuple[str, str, str]:
        window = request.window
        if "/" not in window:
            window = f"{window}T00:00/{window}T23:59"
        return request.patient.lower(), request.reason, window


class ReadsChart(Careful):
    """Reads the patient's chart to triage (refused: schedulers may not), then triages."""

    name = "reads the chart first"

    def specialty(self, agent: Agent, request: Request, pid: str) -> str:
        with contextlib.suppress(ToolFailed):
            agent.call("get_medical_record", patient_id=pid)
        return super().specialty(agent, request, pid)

    def phrase(self, request: Request) -> tuple[str, str, str]:
        return request.patient, f"{request.reason} (see chart)", request.window


STRATEGIES: tuple[Careful, ...] = (
    Careful(),
    SkipsEligibility(),
    FirstProvider(),
    NoHold(),
    RetriesFailedStep(),
    OtherOrder(),
    ReadsChart(),
)
