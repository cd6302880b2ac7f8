"""The call pipeline: one engine, driven by a sync and an async runner.

A call goes through ``steps`` in order (authorize, reserve budget, ...). Each step
may refuse by raising :class:`GuardrailDenied`; steps that were entered are then
unwound in reverse. The recorder writes the intent before the tool runs and the
outcome after it, or one refusal record. Everything here is synchronous and
does no I/O of its own, so the two runners differ only in ``await``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from guardrail.budgets.session import current_sessions
from guardrail.errors import AuditError, GuardrailDenied
from guardrail.identity import Principal, bind_principal, unbind_principal
from guardrail.tools import ToolSpec
from guardrail.values import checked_cost

if TYPE_CHECKING:
    # Type-only: importing the policy package here would cycle through budgets.
    from guardrail.policy.decision import Decision

_ID_BATCH = 256


def _fresh_ids() -> Iterator[str]:
    """``_ID_BATCH`` random UUID4s in hex from one ``os.urandom`` read."""
    raw = bytearray(os.urandom(16 * _ID_BATCH))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])  # RFC 4122 variant
    text = raw.hex()
    return iter([text[i : i + 32] for i in range(0, len(text), 32)])


_ids: Iterator[str] = iter(())


def _forget_ids() -> None:
    global _ids
    _ids = iter(())


# A forked child must not hand out the ids its parent still holds.
os.register_at_fork(after_in_child=_forget_ids)


def new_id() -> str:
    """A random UUID4 in hex, as ``uuid.uuid4().hex`` gives, at a tenth of its cost.

    ``uuid4()`` makes a syscall and an int round trip per id; these come from one
    ``os.urandom`` read per batch. ``next`` on a list iterator is atomic, so threads
    never share an id; two threads refilling at once just drop part of a batch.
    """
    global _ids
    try:
        return next(_ids)
    except StopIteration:
        _ids = _fresh_ids()
        return next(_ids)


@dataclass(slots=True, kw_only=True)
class Call:
    """One tool call as it moves through the pipeline."""

    tool: ToolSpec
    args: dict[str, Any]
    principal: Principal | None
    call_id: str = field(default_factory=new_id)
    tool_call_id: str | None = None
    session: str | None = None
    sessions: tuple[str, ...] = field(default_factory=current_sessions)
    """Every session enclosing the call, outermost first (``per: session`` charges each)."""
    parent: Call | None = None
    """The guarded call (e.g. a skill) whose body made this call, if any."""
    started: float = field(default_factory=time.time)
    started_ns: int = field(default_factory=time.perf_counter_ns)
    decision: Decision | None = None
    refusal: GuardrailDenied | None = None
    error: BaseException | None = None
    reserved: float | None = None
    reported_cost: float | None = None
    result: Any = None
    """What the tool returned (set before the steps are unwound)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space for steps (a reservation, a span, ...), keyed by step."""

    def duration_ms(self) -> float:
        return (time.perf_counter_ns() - self.started_ns) / 1e6

    @property
    def cost(self) -> float | None:
        """The settled cost: what the tool reported, else what was reserved."""
        return self.reported_cost if self.reported_cost is not None else self.reserved


class Step(Protocol):
    """A stage of the pipeline. ``enter`` may refuse; ``exit`` always runs once entered."""

    def enter(self, call: Call) -> None: ...

    def exit(self, call: Call, error: BaseException | None) -> None: ...


class Recorder(Protocol):
    """Writes the audit trail: intent and outcome of a call that ran, or its refusal."""

    def intent(self, call: Call) -> None: ...

    def outcome(self, call: Call) -> None: ...

    def refusal(self, call: Call) -> None: ...


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
    # Refused inside the tool (an ArgumentError the outcome records): a negative or
    # NaN cost would refill the budget it settles against.
    call.reported_cost = checked_cost(amount, "report_cost()")


class Engine:
    """Runs a call through the steps and the recorder; owns no framework or I/O."""

    def __init__(self, steps: Sequence[Step], recorder: Recorder) -> None:
        self.steps = tuple(steps)
        self.recorder = recorder

    def begin(self, call: Call) -> None:
        entered: list[Step] = []
        try:
            for step in self.steps:
                step.enter(call)
                entered.append(step)
        except GuardrailDenied as refusal:
            call.state["never_ran"] = True
            try:
                self.refuse(call, refusal)
            finally:
                self._unwind(entered, call, refusal)
            raise
        except BaseException as exc:
            # A step crashed (a bug, or a backend error it did not wrap): the tool does
            # not run, and the attempt is still on the record.
            call.state["never_ran"] = True
            call.error = exc
            try:
                self.recorder.refusal(call)
            finally:
                self._unwind(entered, call, exc)
            raise
        try:
            self.recorder.intent(call)
        except BaseException as exc:
            # Fail closed: no intent record, no tool run. Sinks that did keep the intent
            # are told, best effort, that the tool never ran.
            call.state["never_ran"] = True
            call.error = exc
            with contextlib.suppress(Exception):
                self.recorder.outcome(call)
            self._unwind(entered, call, exc)
            if isinstance(exc, AuditError):
                raise
            raise AuditError(
                f"cannot write the audit intent for {call.tool.name!r}: {exc}"
            ) from exc
        call.state["_entered"] = entered

    def refuse(self, call: Call, refusal: GuardrailDenied) -> None:
        """Record that ``call`` was refused (it never reached its tool)."""
        call.refusal = refusal
        self.recorder.refusal(call)

    def finish(self, call: Call, error: BaseException | None) -> None:
        call.error = error
        try:
            self._unwind(call.state.pop("_entered", ()), call, error)
        finally:
            try:
                self.recorder.outcome(call)
            except Exception as exc:
                raise AuditError(
                    f"{call.tool.name!r} ran, but its outcome could not be recorded: {exc}",
                    tool_ran=True,
                ) from exc

    @staticmethod
    def _unwind(entered: Sequence[Step], call: Call, error: BaseException | None) -> None:
        # Every entered step exits (ends its span, releases its reservation) even if
        # an earlier one fails; the first failure is raised afterwards.
        failure: BaseException | None = None
        for step in reversed(entered):
            try:
                step.exit(call, error)
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    def run_sync(self, call: Call, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        self.begin(call)
        token = _current_call.set(call)
        acting = bind_principal(call.principal)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            unbind_principal(acting)
            _current_call.reset(token)
            self.finish(call, exc)
            raise
        unbind_principal(acting)
        _current_call.reset(token)
        call.result = result
        self.finish(call, None)
        return result

    async def run_async(
        self, call: Call, fn: Callable[..., Awaitable[Any]], args: Any, kwargs: Any
    ) -> Any:
        self.begin(call)
        token = _current_call.set(call)
        acting = bind_principal(call.principal)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            unbind_principal(acting)
            _current_call.reset(token)
            self.finish(call, exc)
            raise
        unbind_principal(acting)
        _current_call.reset(token)
        call.result = result
        self.finish(call, None)
        return result
