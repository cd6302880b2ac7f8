"""``MetricsRecorder``: OpenTelemetry metrics for every guarded call, as one pipeline step.

Instruments (names in the semantic-convention style: dotted, lower case, the
unit separate; tool and decision as attributes, never the user):

- ``guardrail.tool.calls`` (counter, ``{call}``): every call, by
  ``gen_ai.tool.name`` and ``guardrail.decision`` (allowed, denied,
  budget_exceeded, auth_failed, error).
- ``guardrail.tool.denials`` (counter, ``{call}``): refusals, by tool, decision,
  ``error.type`` (the refusal's type) and ``guardrail.rule`` (the rule, the limit,
  or ``(default deny)``; absent for refusals outside the policy, e.g. no
  downstream token or the ledger down).
- ``guardrail.tool.cost`` (counter, ``{cost}``): settled cost of calls that ran, by tool.
- ``guardrail.tool.call.duration`` (histogram, ``s``): by tool and decision,
  ``error.type`` when the tool raised.
- ``guardrail.ledger.errors`` (counter, ``{error}``): calls whose budget ledger
  failed, by ``guardrail.ledger.outcome`` (``refused``, ``failed_open``, or
  ``settle_failed`` when the tool ran but its cost could not be settled).

No cost without an SDK: with the global meter provider and no SDK installed,
the step does nothing but notice that (a provider set later is picked up
within a second).

.. versionadded:: 0.1
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider

from guardrail.call import Call
from guardrail.errors import GuardrailDenied

TOOL = "gen_ai.tool.name"
OPERATION = "gen_ai.operation.name"
DECISION = "guardrail.decision"
RULE = "guardrail.rule"
ERROR_TYPE = "error.type"
LEDGER_OUTCOME = "guardrail.ledger.outcome"
DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)  # fmt: skip
"""Seconds: guarded tool calls run from microseconds (a lookup) to a minute (an agent)."""


@dataclass(frozen=True, slots=True)
class _Instruments:
    calls: Counter
    denials: Counter
    cost: Counter
    duration: Histogram
    ledger_errors: Counter

    @classmethod
    def on(cls, meter: Meter) -> _Instruments:
        return cls(
            calls=meter.create_counter(
                "guardrail.tool.calls", unit="{call}", description="Guarded tool calls"
            ),
            denials=meter.create_counter(
                "guardrail.tool.denials", unit="{call}", description="Refused tool calls"
            ),
            cost=meter.create_counter(
                "guardrail.tool.cost", unit="{cost}", description="Settled cost of tool calls"
            ),
            duration=meter.create_histogram(
                "guardrail.tool.call.duration",
                unit="s",
                description="Duration of guarded tool calls, checks included",
                explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
            ),
            ledger_errors=meter.create_counter(
                "guardrail.ledger.errors",
                unit="{error}",
                description="Calls whose budget ledger was unreachable or failed",
            ),
        )


class MetricsRecorder:
    """A pipeline step that counts and times calls; put it right after the span step.

    ``meter_provider`` defaults to the global one. While that is the API's own
    (no SDK installed) the step records nothing and looks again at most once every
    ``look_every`` seconds, so an SDK installed after the guard was built is used.
    Asking the API for its provider reads the environment (about 1 us): too much
    to do on every call for nothing. An SDK provider, once found, is kept (the
    global provider can be set only once).
    """

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, look_every: float = 1.0
    ) -> None:
        self._look_every = look_every
        self._next_look = 0.0
        self._instruments: _Instruments | None = None
        if meter_provider is not None:
            self._instruments = _Instruments.on(meter_provider.get_meter("guardrail"))

    def _current(self) -> _Instruments | None:
        instruments = self._instruments
        if instruments is not None:
            return instruments
        now = time.monotonic()
        if now < self._next_look:
            return None
        self._next_look = now + self._look_every
        provider = metrics.get_meter_provider()
        # Only an SDK provider (it can flush) records anything; the API's proxy and
        # no-op providers would take the work and drop it.
        if callable(getattr(provider, "force_flush", None)):
            self._instruments = _Instruments.on(provider.get_meter("guardrail"))
        return self._instruments

    def enter(self, call: Call) -> None:
        pass

    def exit(self, call: Call) -> None:
        instruments = self._current()
        if instruments is None:
            return
        tool, kind = call.tool.name, _decision(call)
        attributes = {TOOL: tool, OPERATION: "execute_tool", DECISION: kind}
        instruments.calls.add(1, attributes)
        if call.refusal is not None:
            instruments.denials.add(1, _denial(call, call.refusal, tool, kind))
        elif call.ran:
            cost = call.cost
            if cost:
                instruments.cost.add(cost, {TOOL: tool})
        timing = dict(attributes)
        if call.error is not None and call.refusal is None:
            timing[ERROR_TYPE] = type(call.error).__name__
        instruments.duration.record(call.duration_ms() / 1000, timing)
        note = call.budget.ledger_note if call.budget is not None else None
        if note is not None:
            instruments.ledger_errors.add(1, {LEDGER_OUTCOME: _ledger_outcome(note)})


def _denial(call: Call, refusal: GuardrailDenied, tool: str, kind: str) -> dict[str, str]:
    """The rule or limit that refused, ``(default deny)`` when the policy refused with
    no rule, none for refusals outside the policy (ledger down, no downstream token,
    bad arguments); the refusal's type always."""
    found = {TOOL: tool, DECISION: kind, ERROR_TYPE: type(refusal).__name__}
    limit = getattr(refusal, "limit", None)
    rule = refusal.rule or (limit if isinstance(limit, str) else None)
    if rule is None and call.decision is not None and not call.decision.allowed:
        rule = "(default deny)"
    if rule is not None:
        found[RULE] = rule
    return found


def _ledger_outcome(note: str) -> str:
    """The budget step's note, as an attribute value (see ``BudgetKeeper``)."""
    if note.startswith("settle failed"):
        return "settle_failed"  # the tool ran; what it cost was not recorded
    return "failed_open" if "failed open" in note else "refused"


def _decision(call: Call) -> str:
    if call.refusal is not None:
        return call.refusal.decision_kind
    return "error" if call.error is not None else "allowed"
