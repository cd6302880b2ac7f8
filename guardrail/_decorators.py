"""``@guard.tool`` and ``@guard.skill`` (mixed into :class:`~guardrail.Guard`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

from guardrail._running import Running
from guardrail.downstream import DownstreamSpec

if TYPE_CHECKING:
    from guardrail.auth.token_cache import DownstreamTokens
    from guardrail.tools import ToolSpec

P = ParamSpec("P")
R = TypeVar("R")


class Decorators(Running):
    """The decorators; each registers the function and returns a guarded wrapper."""

    downstream: DownstreamTokens | None

    register: Callable[..., ToolSpec]
    """:meth:`Guard.register <guardrail.Guard.register>` (the decorators' one way in)."""

    @overload
    def tool(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def tool(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        cost: float | None = None,
        scopes: Iterable[str] = (),
        redact: Iterable[str] = (),
        expose: Literal["agent", "skill"] = "agent",
        validate: bool = True,
        downstream: DownstreamSpec | None = None,
        read_only: bool = False,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def tool(
        self,
        fn: Callable[P, R] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        cost: float | None = None,
        scopes: Iterable[str] = (),
        redact: Iterable[str] = (),
        expose: Literal["agent", "skill"] = "agent",
        validate: bool = True,
        downstream: DownstreamSpec | None = None,
        read_only: bool = False,
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Guard a function, sync or async, plain or method.

        Use bare (``@guard.tool``) or configured (``@guard.tool(cost=2, scopes=["crm"])``).
        The wrapper keeps the name, docstring and signature (``__wrapped__``).
        ``downstream={"audience": ..., "scopes": [...]}`` (or a list of them) exchanges
        the user's token for each before the body runs; without them it never runs,
        and the call is one refusal record (the reason says why, e.g. consent needed).
        ``read_only=True`` declares that the tool changes nothing: an allowed call is
        then one audit record, its outcome, kept before the result reaches the caller,
        instead of an intent before the body runs and an outcome after (a generator
        still gets both: its items leave before the outcome).
        """

        def decorate(inner: Callable[P, R]) -> Callable[P, R]:
            spec = self.register(
                inner,
                name=name,
                description=description,
                cost=cost,
                scopes=scopes,
                redact=redact,
                expose=expose,
                validate=validate,
                downstream=downstream,
                read_only=read_only,
            )
            return self._guarded(spec)

        return decorate(fn) if fn is not None else decorate

    @overload
    def skill(self, fn: Callable[P, R], /) -> Callable[P, R]: ...

    @overload
    def skill(
        self,
        fn: None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        cost: float | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    def skill(
        self,
        fn: Callable[P, R] | None = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
        cost: float | None = None,
        scopes: Iterable[str] = (),
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """A playbook: an intent-level tool whose body calls other guarded tools.

        The skill is authorized and budgeted as a whole. Its steps run as the
        same principal, nest under it in traces and audit records, and may use
        tools registered with ``expose="skill"``, which the agent cannot call.
        """

        def decorate(inner: Callable[P, R]) -> Callable[P, R]:
            spec = self.register(
                inner, name=name, description=description, cost=cost, scopes=scopes, skill=True
            )
            return self._guarded(spec)

        return decorate(fn) if fn is not None else decorate

    def _guarded(self, spec: ToolSpec) -> Callable[..., Any]:
        # Dispatch once, when decorating: the wrapper is sync or async like the tool.
        if spec.is_async and not spec.generator:

            @functools.wraps(spec.fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                return await self._astart(spec, args, kwargs)

            return run_async

        @functools.wraps(spec.fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            return self._run(spec, args, kwargs, None, None, None, None)

        return run_sync
