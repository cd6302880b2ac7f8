"""The run seam of :class:`~guardrail.Guard`: ``run``/``arun``/``refuse`` and ``call``/``acall``.

Every call of a tool, from the decorator, by name or from an adapter, comes
through here: a :class:`~guardrail.call.Call` is made, its arguments bound (a
binding error is a recorded refusal) and the engine runs it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from guardrail._sessions import current_sessions
from guardrail.call import Call, current_call
from guardrail.errors import ArgumentError, ConfigurationError, GuardrailDenied
from guardrail.identity import Principal, current_principal
from guardrail.pipeline import Engine
from guardrail.tools import ToolSpec

R = TypeVar("R")
Denied = Callable[[GuardrailDenied], Any]


class Running:
    """Runs, refuses and calls tools by name (mixed into :class:`~guardrail.Guard`)."""

    _engine: Engine
    _tools: dict[str, ToolSpec]

    # -- the run seam ---------------------------------------------------------------

    def run(
        self,
        tool: str,
        kwargs: Mapping[str, Any] | None = None,
        *,
        args: Sequence[Any] = (),
        principal: Principal | None = None,
        tool_call_id: str | None = None,
        invoke: Callable[[dict[str, Any]], R] | None = None,
        denied: Callable[[GuardrailDenied], R] | None = None,
    ) -> R:
        """Run one call of the registered tool ``tool`` through the pipeline.

        ``args`` / ``kwargs`` are the call's input as the tool's binder takes it.
        ``principal`` defaults to the current one. ``invoke(bound_args)`` runs the
        tool (default: the registered function with the bound arguments); it runs
        as the call's principal. When the guard refuses this call, ``denied(refusal)``
        is returned (default: the refusal is raised). A refusal is always recorded.

        .. versionadded:: 0.2
        """
        spec = self._spec(tool)
        result: R = self._run(spec, args, kwargs or {}, principal, tool_call_id, invoke, denied)
        return result

    async def arun(
        self,
        tool: str,
        kwargs: Mapping[str, Any] | None = None,
        *,
        args: Sequence[Any] = (),
        principal: Principal | None = None,
        tool_call_id: str | None = None,
        invoke: Callable[[dict[str, Any]], Awaitable[R]] | None = None,
        denied: Callable[[GuardrailDenied], R | Awaitable[R]] | None = None,
    ) -> R:
        """:meth:`run` for async callers: ``invoke`` and ``denied`` may return awaitables.

        A sync tool runs in a worker thread (carrying the principal), never on the loop.

        .. versionadded:: 0.2
        """
        spec = self._spec(tool)
        result: R = await self._arun(
            spec, args, kwargs or {}, principal, tool_call_id, invoke, denied
        )
        return result

    def refuse(
        self,
        tool: str,
        refusal: GuardrailDenied,
        kwargs: Mapping[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        tool_call_id: str | None = None,
    ) -> GuardrailDenied:
        """Record that an adapter refused a call of ``tool`` itself; returns ``refusal``.

        The refusal gets its span and its audit record like any other (``tool``
        need not be registered: e.g. a tool the server did not list).

        .. versionadded:: 0.2
        """
        call = self._refused_call(tool, refusal, kwargs, principal, tool_call_id)
        self._engine.refuse(call, refusal)
        return refusal

    async def arefuse(
        self,
        tool: str,
        refusal: GuardrailDenied,
        kwargs: Mapping[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        tool_call_id: str | None = None,
    ) -> GuardrailDenied:
        """:meth:`refuse` for async callers (async sinks are awaited).

        .. versionadded:: 0.2
        """
        call = self._refused_call(tool, refusal, kwargs, principal, tool_call_id)
        await self._engine.arefuse(call, refusal)
        return refusal

    # -- calling by name ----------------------------------------------------------

    def call(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        tool_call_id: str | None = None,
    ) -> Any:
        """Run the registered sync tool ``name`` with keyword ``args`` through the pipeline."""
        spec = self._spec(name)
        if spec.is_async and not spec.generator:
            raise ConfigurationError(f"{name!r} is async: use `await guard.acall(...)`")
        return self._run(spec, (), args or {}, principal, tool_call_id, None, None)

    async def acall(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        tool_call_id: str | None = None,
    ) -> Any:
        """Run the registered tool ``name`` (async, or sync in a worker thread)."""
        spec = self._spec(name)
        return await self._arun(spec, (), args or {}, principal, tool_call_id, None, None)

    # -- internals ------------------------------------------------------------------

    def _spec(self, name: str) -> ToolSpec:
        try:
            return self._tools[name]
        except KeyError:
            raise ConfigurationError(f"no tool named {name!r} is registered") from None

    def _new_call(
        self, spec: ToolSpec, principal: Principal | None, tool_call_id: str | None
    ) -> Call:
        sessions = current_sessions()
        return Call(
            tool=spec,
            args={},
            principal=principal if principal is not None else current_principal(),
            tool_call_id=tool_call_id,
            session=sessions[-1] if sessions else None,
            sessions=sessions,
            parent=current_call(),
        )

    def _run(
        self,
        spec: ToolSpec,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        principal: Principal | None,
        tool_call_id: str | None,
        invoke: Callable[[dict[str, Any]], Any] | None,
        denied: Denied | None,
    ) -> Any:
        call = self._new_call(spec, principal, tool_call_id)
        engine = self._engine
        try:
            fn, a, kw = _invocation(call, args, kwargs, invoke)
        except ArgumentError as exc:
            call.args = dict(kwargs)
            engine.refuse(call, exc)
            if denied is None:
                raise
            return denied(exc)
        if spec.generator:  # checked and run as it is iterated
            return (engine.aiterate if spec.is_async else engine.iterate)(call, fn, a, kw)
        try:
            return engine.run(call, fn, a, kw)
        except GuardrailDenied as exc:
            if denied is None or exc is not call.refusal:
                raise  # not this call's refusal: e.g. a nested call's, raised by the tool
            return denied(exc)

    async def _arun(
        self,
        spec: ToolSpec,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        principal: Principal | None,
        tool_call_id: str | None,
        invoke: Callable[[dict[str, Any]], Awaitable[Any]] | None,
        denied: Denied | None,
    ) -> Any:
        call = self._new_call(spec, principal, tool_call_id)
        engine = self._engine
        try:
            fn, a, kw = _invocation(call, args, kwargs, invoke)
        except ArgumentError as exc:
            call.args = dict(kwargs)
            await engine.arefuse(call, exc)
            if denied is None:
                raise
            return await _maybe_await(denied(exc))
        if spec.generator:
            return (engine.aiterate if spec.is_async else engine.iterate)(call, fn, a, kw)
        if invoke is None and not spec.is_async:
            fn, a, kw = _in_thread, (fn, *a), kw
        try:
            return await engine.arun(call, fn, a, kw)
        except GuardrailDenied as exc:
            if denied is None or exc is not call.refusal:
                raise
            return await _maybe_await(denied(exc))

    def _astart(self, spec: ToolSpec, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """A decorated async tool's call, begun: the :class:`Call` made and its arguments
        bound now; what the wrapper awaits is the engine's run of it (or its recorded
        refusal): one coroutine fewer than :meth:`_arun`, which adapters' options need."""
        call = self._new_call(spec, None, None)
        try:
            fn, a, kw = _invocation(call, args, kwargs, None)
        except ArgumentError as exc:
            call.args = dict(kwargs)
            return _refused(self._engine, call, exc)
        return self._engine.arun(call, fn, a, kw)

    def _refused_call(
        self,
        tool: str,
        refusal: GuardrailDenied,
        kwargs: Mapping[str, Any] | None,
        principal: Principal | None,
        tool_call_id: str | None,
    ) -> Call:
        spec = self._tools.get(tool) or ToolSpec(name=tool, fn=_never_registered)
        call = self._new_call(spec, principal, tool_call_id)
        call.args = dict(kwargs or {})
        if refusal.tool is None:
            refusal.tool = tool
        return call


def _invocation(
    call: Call,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    invoke: Callable[[dict[str, Any]], Any] | None,
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """Bind the call's arguments (raises ArgumentError) and say how to run its tool."""
    spec = call.tool
    binder = spec.binder
    assert binder is not None
    call.args, a, kw = binder.invocation(args if type(args) is tuple else tuple(args), kwargs)
    if invoke is not None:
        return invoke, (call.args,), {}
    return spec.fn, a, kw


async def _refused(engine: Engine, call: Call, exc: ArgumentError) -> Any:
    await engine.arefuse(call, exc)
    raise exc


async def _in_thread(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    # to_thread copies the context: the worker runs as the call's principal, inside it.
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _never_registered(**_: Any) -> None:  # the spec of a refused, unregistered tool
    raise AssertionError("a refused call never runs")
