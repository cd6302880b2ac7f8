"""``Call``: one tool call as it moves through the steps, with typed fields only.

A leaf module: every step (policy, budgets, spans, audit) imports it, and it
imports none of them. Steps read and write the fields below; there is no
scratch dict. An adapter never builds a ``Call``: it goes through
``guard.run`` / ``guard.arun`` / ``guard.refuse``.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from guardrail._ids import new_id
from guardrail._sessions import current_sessions
from guardrail.values import checked_cost

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from guardrail.auth.exchanged import ExchangedToken
    from guardrail.auth.token_cache import DownstreamTokens
    from guardrail.errors import GuardrailDenied
    from guardrail.identity import Principal
    from guardrail.policy.decision import Decision
    from guardrail.tools import ToolSpec

__all__ = [
    "BudgetState",
    "Call",
    "SpanState",
    "Step",
    "current_call",
    "new_id",
    "report_cost",
]


class BudgetState:
    """What the budget step reserved for a call and what it finally charged.

    ``remaining`` is worked out when first read (:meth:`_remaining_now`, which the
    budget step's own state overrides): only records and spans ask for it.
    """

    __slots__ = ("_remaining", "closed", "hold", "ledger_note", "reserved", "settled")

    def __init__(
        self,
        *,
        reserved: float | None = None,
        settled: float | None = None,
        remaining: dict[str, float] | None = None,
        ledger_note: str | None = None,
        hold: Any = None,
    ) -> None:
        self.reserved = reserved
        """Cost reserved before the tool ran (``cost`` limits and a declared tool cost)."""
        self.settled = settled
        """What the cost limits were finally charged (0 when refunded); ``None``: as reserved."""
        self._remaining = remaining
        self.ledger_note = ledger_note
        """Why the ledger was not used as planned (unreachable, failed open, settle failed)."""
        self.hold = hold
        """The budget step's own handle on the reservation, released when the call ends."""
        self.closed = False
        """The reservation was settled: a cost reported after this could not be charged."""

    @property
    def remaining(self) -> dict[str, float]:
        """Budget left after the call, by ``limit:key``."""
        found = self._remaining
        if found is None:
            found = self._remaining = self._remaining_now()
        return found

    def _remaining_now(self) -> dict[str, float]:
        return {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(reserved={self.reserved!r}, settled={self.settled!r}, "
            f"remaining={self.remaining!r}, ledger_note={self.ledger_note!r})"
        )


@dataclass(slots=True, kw_only=True)
class SpanState:
    """The call's OpenTelemetry span, made current while the call runs."""

    span: Span
    token: contextvars.Token[Context] | None = None
    """The context token that made the span current (detached on exit)."""
    trace_id: str | None = None
    """Hex ids, set when the span is recorded (``None`` for a non-recording span)."""
    span_id: str | None = None


@dataclass(slots=True, kw_only=True, eq=False)
class Call:
    """One tool call: who, what, with which arguments, and what happened."""

    tool: ToolSpec
    args: dict[str, Any]
    """Arguments by name, bound and validated as the tool will get them."""
    principal: Principal | None
    call_id: str = field(default_factory=new_id)
    tool_call_id: str | None = None
    """The model's / framework's id for this call, when the adapter passed one."""
    session: str | None = None
    sessions: tuple[str, ...] = field(default_factory=current_sessions)
    """Every session enclosing the call, outermost first (``per: session`` charges each)."""
    parent: Call | None = None
    """The guarded call (e.g. a skill) whose body made this call, if any."""
    started: float = field(default_factory=time.time)
    started_ns: int = field(default_factory=time.perf_counter_ns)
    decision: Decision | None = None
    refusal: GuardrailDenied | None = None
    """Why the guard refused the call (it never reached its tool)."""
    error: BaseException | None = None
    """What the tool raised, or what stopped the call before it (a crashed step)."""
    result: Any = None
    """What the tool returned."""
    ran: bool = False
    """Whether the tool body was started (every step entered, intent recorded)."""
    budget: BudgetState | None = None
    reported_cost: float | None = None
    """The real cost the tool reported (:func:`report_cost`)."""
    span: SpanState | None = None
    redacted_args: dict[str, Any] | None = None
    """``args`` redacted for records and spans, computed once per call; do not modify."""
    audit_fields: dict[str, Any] | None = None
    """The fields every audit record of the call shares, made once by the audit step."""
    recorded: bool = False
    """The audit step wrote the call's final record (outcome or refusal)."""
    downstream: DownstreamTokens | None = None
    """Where the tool body gets downstream tokens (``Guard(token_exchange=...)``)."""
    delegations: list[ExchangedToken] | None = None
    """The downstream tokens the tool used, each once (listed in its records)."""

    def duration_ms(self) -> float:
        return (time.perf_counter_ns() - self.started_ns) / 1e6

    @property
    def reserved(self) -> float | None:
        """The cost reserved before the tool ran, if any."""
        return self.budget.reserved if self.budget is not None else None

    @property
    def cost(self) -> float | None:
        """The settled cost: what the ledger kept, else what the tool reported or reserved."""
        if self.budget is not None and self.budget.settled is not None:
            return self.budget.settled
        return self.reported_cost if self.reported_cost is not None else self.reserved


class Step(Protocol):
    """A stage of the pipeline.

    ``enter`` runs in order before the tool and may refuse by raising a
    :class:`~guardrail.GuardrailDenied`. ``exit`` runs for every step once the call
    is over (after the tool, or after a refusal), whether or not this step's
    ``enter`` ran: in reverse order, except the last step (the recorder), which
    exits after all the others. A step keeps on the :class:`Call` whatever it must undo,
    and finds nothing to undo when its ``enter`` never ran. A step may also define
    ``async def aenter(call)`` / ``aexit(call)``, which the async driver awaits
    instead (for I/O that must not block an event loop); one whose async hooks would
    do nothing more than its sync methods sets ``awaits = False`` and is not awaited.
    """

    def enter(self, call: Call) -> None: ...

    def exit(self, call: Call) -> None: ...


_current_call: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "guardrail_call", default=None
)


def current_call() -> Call | None:
    """The guarded call whose tool body is running in this context, if any."""
    return _current_call.get()


def report_cost(amount: float) -> None:
    """Report the real cost of the running tool (e.g. tokens used), settled after it returns."""
    call = _current_call.get()
    if call is None:
        raise RuntimeError("report_cost() called outside a guarded tool")
    if getattr(call.budget, "closed", False):  # a slot the budget step may leave unset
        # Settled already (e.g. reported from a thread the tool left running): a cost
        # that can no longer be charged is an error, not silently lost.
        raise RuntimeError(f"report_cost() after the call of {call.tool.name!r} was settled")
    # Refused inside the tool (an ArgumentError the outcome records): a negative or
    # NaN cost would refill the budget it settles against.
    call.reported_cost = checked_cost(amount, "report_cost()")


def bind_call(call: Call | None) -> contextvars.Token[Call | None]:
    """Make ``call`` current (the engine does this while its tool body runs)."""
    return _current_call.set(call)


def unbind_call(token: contextvars.Token[Call | None]) -> None:
    _current_call.reset(token)
