"""``Guard``: the decorator, ``call``/``acall`` by name, and the wiring of the pipeline."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar, overload

from opentelemetry.trace import TracerProvider

from guardrail.audit.otel import SpanEmitter
from guardrail.audit.trail import AuditSink, AuditTrail
from guardrail.auth.base import Authenticator
from guardrail.auth.exchange import TokenExchange
from guardrail.auth.token_cache import DownstreamTokens
from guardrail.budgets.keeper import BudgetKeeper, OnError, Usage
from guardrail.budgets.ledger import Ledger, ledger_from_uri
from guardrail.budgets.session import SessionScope, current_session
from guardrail.checks import PolicyChecker
from guardrail.downstream import Downstream, DownstreamBinder, prefetching, targets
from guardrail.errors import ArgumentError, ConfigurationError
from guardrail.identity import ActingAs, Principal, current_principal
from guardrail.pipeline import Call, Engine, Step, current_call
from guardrail.policy.decision import Decision
from guardrail.policy.evaluator import Region
from guardrail.policy.names import tool_name
from guardrail.policy.policy import Policy
from guardrail.policy.validate import PolicyValidator
from guardrail.schema import narrow_schema
from guardrail.tools import ArgBinder, ToolSpec

DownstreamSpec = Downstream | Mapping[str, Any] | Sequence[Downstream | Mapping[str, Any]]
P = ParamSpec("P")
R = TypeVar("R")


class Guard:
    """Puts every tool call through authenticate -> authorize -> budget -> audit.

    ``policy`` is a :class:`Policy` or a path to a policy file. ``authenticator``
    turns bearer tokens into principals (``acting_as(token)``). ``audit`` lists
    the sinks that must keep a record of every call; a sink that fails stops the
    call before the tool runs. ``ledger`` counts the policy's ``limits`` (a
    :class:`Ledger`, ``"memory://"`` or ``"redis://host:port/db"``);
    ``on_ledger_error`` says whether calls are refused (``"deny"``) or let through
    and audited as failed open (``"allow"``) while the ledger is unreachable.
    Every call is an OpenTelemetry span (``execute_tool {tool}``) from
    ``tracer_provider`` (default: the global one; a no-op without an SDK);
    ``span_arguments`` / ``span_results`` opt in to recording redacted arguments
    and results on it. ``token_exchange`` lets tools call downstream systems as
    the user (:func:`guardrail.downstream_token`, ``@guard.tool(downstream=...)``).
    Each tool is checked against the policy when it registers
    (:mod:`guardrail.policy.validate`): mismatches are ``PolicyWarning``s, or a
    ``PolicyError`` with ``strict=True``.
    """

    def __init__(
        self,
        policy: Policy | str | Path,
        *,
        authenticator: Authenticator | None = None,
        audit: Iterable[AuditSink] = (),
        ledger: Ledger | str = "memory://",
        on_ledger_error: OnError = "deny",
        tracer_provider: TracerProvider | None = None,
        span_arguments: bool = False,
        span_results: bool = False,
        token_exchange: TokenExchange | None = None,
        strict: bool = False,
    ) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy.from_file(policy)
        self.authenticator = authenticator
        # Checks each registering tool against the policy: PolicyWarning, or PolicyError if strict.
        self.validator = PolicyValidator(self.policy, authenticator, strict=strict)
        self.audit = AuditTrail(audit, policy_digest=self.policy.digest)
        self.tools: dict[str, ToolSpec] = {}
        self.ledger = ledger_from_uri(ledger) if isinstance(ledger, str) else ledger
        self.budgets = BudgetKeeper(self.policy.limits, self.ledger, on_error=on_ledger_error)
        # The span step goes first: it covers the whole call and puts the trace and
        # span ids in call.state before any audit record is written.
        self.spans = SpanEmitter(
            tracer_provider,
            arguments=span_arguments,
            results=span_results,
            redactor=self.audit.redactor,
            policy_digest=self.policy.digest,
        )
        self.steps: list[Step] = [self.spans, PolicyChecker(self.policy), self.budgets]
        self.downstream = DownstreamTokens(token_exchange) if token_exchange else None
        if self.downstream is not None:
            self.steps.append(DownstreamBinder(self.downstream))
        self.engine = Engine(self.steps, self.audit)

    # -- identity -----------------------------------------------------------------

    def authenticate(self, token: str) -> Principal:
        if self.authenticator is None:
            raise ConfigurationError("acting_as(token) needs Guard(authenticator=...)")
        return self.authenticator.authenticate(token)

    def acting_as(self, who: Principal | str) -> ActingAs:
        """Bind a principal (or the one a bearer token proves) for a ``with`` block."""
        principal = who if isinstance(who, Principal) else self.authenticate(who)
        return ActingAs(principal)

    def session(self, session_id: str | None = None) -> SessionScope:
        """Bind an agent-run session (``with``/``async with``) for ``per: session`` limits.

        Yields the id (a new random one when ``session_id`` is ``None``).
        """
        return SessionScope(session_id)

    # -- budgets ------------------------------------------------------------------

    def usage(
        self,
        principal: Principal | None = None,
        *,
        tool: str | None = None,
        session: str | None = None,
    ) -> list[Usage]:
        """Current use and remaining budget per applicable limit and key.

        Limits keyed by tool are reported for ``tool``, or for every registered tool.
        """
        who = principal if principal is not None else current_principal()
        tools = [tool] if tool is not None else list(self.tools)
        return self.budgets.usage(who, tools=tools, session=session or current_session())

    # -- registering tools --------------------------------------------------------

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
    ) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
        """Guard a function, sync or async, plain or method.

        Use bare (``@guard.tool``) or configured (``@guard.tool(cost=2, scopes=["crm"])``).
        The wrapper keeps the name, docstring and signature (``__wrapped__``).
        ``downstream={"audience": ..., "scopes": [...]}`` (or a list of them) exchanges
        the user's token for each before the body runs; without them it never runs.
        """

        def decorate(inner: Callable[P, R]) -> Callable[P, R]:
            spec = self.register(
                self._with_downstream(inner, downstream),
                name=name,
                description=description,
                cost=cost,
                scopes=scopes,
                redact=redact,
                expose=expose,
                validate=validate,
            )
            return self._guarded(spec)

        return decorate(fn) if fn is not None else decorate

    def _with_downstream(
        self, fn: Callable[..., Any], downstream: DownstreamSpec | None
    ) -> Callable[..., Any]:
        if downstream is None:
            return fn
        if self.downstream is None:
            raise ConfigurationError(
                f"{fn.__name__!r} needs downstream tokens: Guard(token_exchange=...)"
            )
        return prefetching(fn, targets(downstream))

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

    def register(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        cost: float | None = None,
        scopes: Iterable[str] = (),
        redact: Iterable[str] = (),
        expose: Literal["agent", "skill"] = "agent",
        validate: bool = True,
        binder: ArgBinder | None = None,
        skill: bool = False,
    ) -> ToolSpec:
        """Add a tool to this guard without wrapping it (adapters use this)."""
        spec = ToolSpec(
            name=tool_name(name or fn.__name__),
            fn=fn,
            description=description if description is not None else inspect.getdoc(fn) or "",
            cost=cost,
            scopes=frozenset(scopes),
            redact=tuple(redact),
            expose=expose,
            skill=skill,
            is_async=inspect.iscoroutinefunction(fn),
            binder=binder if binder is not None else ArgBinder(fn, validate=validate),
        )
        known = self.tools.get(spec.name)
        if known is not None and known.fn is not fn:
            raise ConfigurationError(f"a different tool is already registered as {spec.name!r}")
        self.validator.registered(spec)
        self.tools[spec.name] = spec
        return spec

    def _guarded(self, spec: ToolSpec) -> Callable[..., Any]:
        engine = self.engine

        if spec.is_async:

            @functools.wraps(spec.fn)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                call, a, kw = self._prepare(spec, args, kwargs)
                return await engine.run_async(call, spec.fn, a, kw)

            return run_async

        @functools.wraps(spec.fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            call, a, kw = self._prepare(spec, args, kwargs)
            return engine.run_sync(call, spec.fn, a, kw)

        return run_sync

    def _prepare(
        self, spec: ToolSpec, args: Sequence[Any], kwargs: Mapping[str, Any], **options: Any
    ) -> tuple[Call, tuple[Any, ...], dict[str, Any]]:
        """The call, and the positional and keyword arguments to run its tool with."""
        call = self.new_call(spec, args, kwargs, **options)
        assert spec.binder is not None
        a, kw = spec.binder.invoke_args(tuple(args), call.args)
        return call, a, kw

    def new_call(
        self,
        spec: ToolSpec,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        principal: Principal | None = None,
        tool_call_id: str | None = None,
    ) -> Call:
        """Bind arguments and the current principal; an argument error is audited as a denial."""
        assert spec.binder is not None
        call = Call(
            tool=spec,
            args={},
            principal=principal if principal is not None else current_principal(),
            tool_call_id=tool_call_id,
            session=current_session(),
            parent=current_call(),
        )
        try:
            call.args = spec.binder.bind(tuple(args), kwargs)
        except ArgumentError as exc:
            call.args = dict(kwargs)
            # The call never reaches the steps, but still gets its span and refusal record.
            self.spans.enter(call)
            try:
                self.engine.refuse(call, exc)
            finally:
                self.spans.exit(call, exc)
            raise
        return call

    # -- calling by name ----------------------------------------------------------

    def call(self, name: str, args: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """Run the registered sync tool ``name`` with keyword ``args`` through the pipeline."""
        spec = self._spec(name)
        if spec.is_async:
            raise ConfigurationError(f"{name!r} is async: use `await guard.acall(...)`")
        call, a, kw = self._prepare(spec, (), args or {}, **options)
        return self.engine.run_sync(call, spec.fn, a, kw)

    async def acall(self, name: str, args: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """Run the registered tool ``name`` (async or sync) through the pipeline."""
        spec = self._spec(name)
        call, a, kw = self._prepare(spec, (), args or {}, **options)
        if spec.is_async:
            return await self.engine.run_async(call, spec.fn, a, kw)
        return self.engine.run_sync(call, spec.fn, a, kw)

    def _spec(self, name: str) -> ToolSpec:
        try:
            return self.tools[name]
        except KeyError:
            raise ConfigurationError(f"no tool named {name!r} is registered") from None

    # -- asking the policy --------------------------------------------------------

    def check(
        self, tool: str, args: Mapping[str, Any] | None = None, principal: Principal | None = None
    ) -> Decision:
        """What the policy would decide, without running or recording anything."""
        who = principal if principal is not None else current_principal()
        return self.policy.decide(tool, who, args or {})

    def visible_tools(
        self, principal: Principal | None = None, names: Iterable[str] | None = None
    ) -> list[str]:
        """The tools ``principal`` may call with at least some arguments."""
        who = principal if principal is not None else current_principal()
        if names is None:
            names = [n for n, s in self.tools.items() if s.expose == "agent"]
        return [
            name
            for name in self.policy.visible_tools(who, names)
            if name not in self.tools or self.tools[name].scopes <= (who.scopes if who else set())
        ]

    def regions(self, tool: str, principal: Principal | None = None) -> list[Region]:
        """Argument regions ``principal`` may use for ``tool`` (for narrowing schemas)."""
        who = principal if principal is not None else current_principal()
        return self.policy.regions(tool, who)

    def narrowed_schema(
        self,
        tool: str,
        schema: Mapping[str, Any],
        principal: Principal | None = None,
        *,
        flat: bool = False,
        aliases: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """``schema`` (``tool``'s JSON input schema) as ``principal`` is shown it; ``None``: hidden.

        The tool is hidden when ``principal`` may not call it (:meth:`visible_tools`)
        or when no arguments the schema admits can pass the policy. Otherwise the
        schema is narrowed to the allow rules' regions minus the deny rules'
        exclusions (:func:`guardrail.schema.narrow_schema`; ``flat=True`` keeps
        ``anyOf``/``allOf`` off the root). ``aliases`` maps a policy argument name
        to the schema's name for it where the two differ. Every adapter lists tools
        through this method, so what a model is shown and what its call is checked
        against come from the same compiled policy.

        .. versionadded:: 0.1
        """
        who = principal if principal is not None else current_principal()
        if not self.visible_tools(who, [tool]):
            return None
        regions = self.policy.regions(tool, who)
        exclusions = self.policy.exclusions(tool, who)
        if aliases:
            regions = [_renamed(region, aliases) for region in regions]
            exclusions = [_renamed(region, aliases) for region in exclusions]
        return narrow_schema(schema, regions, exclusions, flat=flat)

    # -- frameworks -----------------------------------------------------------------

    def wrap(self, obj: Any) -> Any:
        """Govern a framework object (LangChain tools, an MCP session, ...) with this guard.

        A list or tuple is wrapped item by item. The adapter is chosen by
        ``supports(obj)`` among those registered under ``guardrail.adapters``.
        """
        from guardrail.adapters import registry

        if isinstance(obj, list | tuple):
            return type(obj)(self.wrap(item) for item in obj)
        return registry.for_object(obj).wrap(obj, self)

    def visible(self, obj: Any, principal: Principal | None = None) -> Any:
        """What of ``obj`` (tools, a tool list) ``principal`` may see, schemas narrowed."""
        from guardrail.adapters import registry

        who = principal if principal is not None else current_principal()
        if isinstance(obj, list | tuple):
            shown = [self.visible(item, who) for item in obj]
            return type(obj)(item for item in shown if item is not None)
        return registry.for_object(obj).visible(obj, self, who)


def _renamed(region: Region, aliases: Mapping[str, str]) -> Region:
    return {aliases.get(arg, arg): ops for arg, ops in region.items()}
