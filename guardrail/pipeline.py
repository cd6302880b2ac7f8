"""The engine: one loop over the steps, driven by a sync and an async runner.

A call enters every step in order (spans, policy, budgets, audit: see
:meth:`guardrail.Guard.default_steps`). A step refuses by raising a
:class:`~guardrail.GuardrailDenied`; a step that crashes stops the call the same
way. Either way, and after the tool ran, every step exits: in reverse order,
except the last step (the recorder), which exits after all the others so that it
records what they finally decided (:class:`~guardrail.call.Step`). So the audit
step always leaves one record and the budget step always gives back what it
held. The two drivers differ only in ``await``.
"""

from __future__ import annotations

from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Sequence,
)
from contextvars import Token
from types import AsyncGeneratorType, CoroutineType, GeneratorType, TracebackType
from typing import Any, TypeVar

from guardrail.call import Call, Step, bind_call, unbind_call
from guardrail.errors import ConfigurationError, GuardrailDenied
from guardrail.identity import Principal, bind_principal, current_principal, unbind_principal

R = TypeVar("R")
_Hook = Callable[[Call], Awaitable[None]] | None
_LAZY = frozenset({GeneratorType, CoroutineType, AsyncGeneratorType})
"""What a tool returns when its body has not run yet (see :func:`_lazy_result`)."""


class Engine:
    """Runs calls through ``steps``; owns no framework, policy or I/O of its own."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        # Reverse order, the recorder (the last step) last: it sees the settled call.
        self._exits = (*self.steps[-2::-1], *self.steps[-1:])
        # Bound once: a call looks up no method of a step.
        self._enter = tuple(s.enter for s in self.steps)
        self._exit = tuple(s.exit for s in self._exits)
        # The async driver awaits a step's async hook where it has one that does
        # something the sync method does not (``awaits``), else calls the sync method.
        self._aenter: tuple[tuple[_Hook, Callable[[Call], None]], ...] = tuple(
            (_hook(s, "aenter"), s.enter) for s in self.steps
        )
        self._aexit: tuple[tuple[_Hook, Callable[[Call], None]], ...] = tuple(
            (_hook(s, "aexit"), s.exit) for s in self._exits
        )

    # -- the sync driver ------------------------------------------------------------

    def run(self, call: Call, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
        """Enter the steps, run ``fn(*args, **kwargs)`` as the call's principal, exit them."""
        try:
            for enter in self._enter:
                enter(call)
        except BaseException as exc:
            self.refuse(call, exc)
            raise
        call.ran = True
        acting, current = _bind(call), bind_call(call)
        try:
            call.result = fn(*args, **kwargs)
            if type(call.result) in _LAZY:
                raise _lazy_result(call)
        except BaseException as exc:
            call.error = exc
        finally:
            unbind_call(current)
            if acting is not None:
                unbind_principal(acting)
        self.unwind(call)
        result: R = _outcome(call)
        return result

    def refuse(self, call: Call, reason: BaseException) -> None:
        """``call`` stops before its tool: record why and exit every step."""
        _stop(call, reason)
        self.unwind(call)

    def unwind(self, call: Call) -> None:
        # Every step exits even if one fails; the first failure is raised afterwards.
        failure: BaseException | None = None
        for exit_step in self._exit:
            try:
                exit_step(call)
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    # -- the async driver -------------------------------------------------------------

    async def arun(self, call: Call, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any) -> R:
        """:meth:`run` for a coroutine function, awaiting the steps' async hooks."""
        try:
            for aenter, enter in self._aenter:
                await aenter(call) if aenter is not None else enter(call)
        except BaseException as exc:
            await self.arefuse(call, exc)
            raise
        call.ran = True
        acting, current = _bind(call), bind_call(call)
        try:
            call.result = await fn(*args, **kwargs)
            if type(call.result) in _LAZY:
                raise _lazy_result(call)
        except BaseException as exc:
            call.error = exc
        finally:
            unbind_call(current)
            if acting is not None:
                unbind_principal(acting)
        await self.aunwind(call)
        result: R = _outcome(call)
        return result

    async def arefuse(self, call: Call, reason: BaseException) -> None:
        _stop(call, reason)
        await self.aunwind(call)

    async def aunwind(self, call: Call) -> None:
        failure: BaseException | None = None
        for aexit, exit_step in self._aexit:
            try:
                await aexit(call) if aexit is not None else exit_step(call)
            except BaseException as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    # -- generator tools ------------------------------------------------------------

    def iterate(self, call: Call, fn: Callable[..., Iterator[R]], args: Any, kwargs: Any) -> Any:
        """A generator tool run inside the guard: the steps are entered at the first
        ``next()``, the body runs as the call's principal on every resume, and the steps
        exit (outcome recorded, concurrency released) when it is exhausted, fails or is
        closed."""
        try:
            for enter in self._enter:
                enter(call)
        except BaseException as exc:
            self.refuse(call, exc)
            raise
        call.ran = True
        try:
            call.result = yield from _driven(call, fn(*args, **kwargs))
        except GeneratorExit:  # closed by the consumer: an ordinary end
            self.unwind(call)
            raise
        except BaseException as exc:
            call.error = exc
        self.unwind(call)
        return _outcome(call)

    async def aiterate(
        self, call: Call, fn: Callable[..., AsyncIterator[R]], args: Any, kwargs: Any
    ) -> AsyncGenerator[R, Any]:
        """:meth:`iterate` for an async generator tool."""
        try:
            for aenter, enter in self._aenter:
                await aenter(call) if aenter is not None else enter(call)
        except BaseException as exc:
            await self.arefuse(call, exc)
            raise
        call.ran = True
        try:
            async for item in _adriven(call, fn(*args, **kwargs)):
                yield item
        except GeneratorExit:
            await self.aunwind(call)
            raise
        except BaseException as exc:
            call.error = exc
        await self.aunwind(call)
        _outcome(call)


class _AsCall:
    """Binds the call and its principal while the tool body runs (one resume of it)."""

    __slots__ = ("call", "tokens")

    def __init__(self, call: Call) -> None:
        self.call = call

    def __enter__(self) -> None:
        self.tokens = bind_principal(self.call.principal), bind_call(self.call)

    def __exit__(
        self, kind: type[BaseException] | None, exc: Any, tb: TracebackType | None
    ) -> None:
        unbind_call(self.tokens[1])
        unbind_principal(self.tokens[0])


def _driven(call: Call, gen: Any) -> Generator[Any, Any, Any]:
    """Yield ``gen``'s items, each resume of it bound to ``call``; sends, throws and
    close are passed on."""
    action, value = gen.send, None
    while True:
        with _AsCall(call):
            try:
                item = action(value)
            except StopIteration as stop:
                return stop.value
        try:
            value, action = (yield item), gen.send
        except GeneratorExit:
            with _AsCall(call):
                gen.close()
            raise
        except BaseException as exc:
            value, action = exc, gen.throw


async def _adriven(call: Call, agen: Any) -> AsyncGenerator[Any, Any]:
    action, value = agen.asend, None
    while True:
        with _AsCall(call):
            try:
                item = await action(value)
            except StopAsyncIteration:
                return
        try:
            value, action = (yield item), agen.asend
        except GeneratorExit:
            with _AsCall(call):
                await agen.aclose()
            raise
        except BaseException as exc:
            value, action = exc, agen.athrow


def _hook(step: Step, name: str) -> _Hook:
    """``step``'s async hook ``name``, or ``None`` when it has none or says its hooks
    would only do what its sync methods do (``awaits = False``: no coroutine per call)."""
    return getattr(step, name, None) if getattr(step, "awaits", True) else None


def _bind(call: Call) -> Token[Principal | None] | None:
    """Make the call's principal current while its tool runs; ``None`` when it already
    is (a call made inside ``acting_as``: nothing to bind, nothing to reset)."""
    principal = call.principal
    return None if principal is current_principal() else bind_principal(principal)


def _lazy_result(call: Call) -> ConfigurationError:
    """A tool that handed back its body unrun (a generator or coroutine object from a
    plain function): it would run after the guard let go (no principal bound, budget
    held no more, outcome recorded as ok), so it is closed unrun and the call fails."""
    lazy, call.result = call.result, None
    if not isinstance(lazy, AsyncGeneratorType):  # an unstarted async generator needs no close
        lazy.close()
    kind = type(lazy).__name__
    return ConfigurationError(
        f"tool {call.tool.name!r} returned a {kind} object instead of running: write the "
        "tool itself as a generator (`def ...: yield`) or coroutine (`async def`) function"
    )


def _stop(call: Call, reason: BaseException) -> None:
    """Note why ``call`` never reached its tool: a refusal, or a step that crashed."""
    if isinstance(reason, GuardrailDenied):
        call.refusal = reason
    else:
        call.error = reason


def _outcome(call: Call) -> Any:
    """What the tool returned, or what it raised, raised again."""
    if call.error is not None:
        raise call.error
    return call.result
