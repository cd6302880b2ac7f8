"""``Guard``: the steps every call goes through, tool registration, and the run seam.

An application decorates tools (``@guard.tool``) or calls them by name
(``guard.call``); an adapter runs a framework's tool call through
``guard.run`` / ``guard.arun`` and records a refusal it decided itself with
``guard.refuse``. Nothing else reaches the engine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from guardrail._decorators import Decorators
from guardrail._views import Views
from guardrail.approvals import ApprovalGate, Approvals, ApprovalStore, store_from_uri
from guardrail.audit.event import DecisionKind
from guardrail.audit.otel import SpanEmitter
from guardrail.audit.trail import AuditSink, AuditTrail
from guardrail.auth.base import Authenticator
from guardrail.auth.exchange import TokenExchange
from guardrail.auth.token_cache import DownstreamTokens
from guardrail.budgets.keeper import BudgetKeeper, OnError, Usage
from guardrail.budgets.ledger import Ledger, ledger_from_uri
from guardrail.budgets.session import SessionScope, current_session
from guardrail.call import Step
from guardrail.checks import PolicyChecker
from guardrail.downstream import DownstreamBinder, DownstreamSpec, targets
from guardrail.errors import ConfigurationError
from guardrail.identity import ActingAs, Principal, current_principal
from guardrail.metrics import MetricsRecorder
from guardrail.pipeline import Engine
from guardrail.policy.names import tool_name
from guardrail.policy.policy import Policy
from guardrail.policy.validate import PolicyValidator
from guardrail.tools import ArgBinder, ToolSpec, body_kind

if TYPE_CHECKING:
    from guardrail.reload import PolicyWatcher

Steps = Sequence[Step] | Callable[["Guard"], Sequence[Step]]


class Guard(Decorators, Views):
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
    ``steps`` replaces the pipeline: a list of steps, or a function of the guard
    returning one (see :meth:`default_steps`). Calls are counted and timed as
    OpenTelemetry metrics (:mod:`guardrail.metrics`) from ``meter_provider``
    (default: the global one; nothing is done without an SDK). ``watch=True``
    reloads the policy file when it changes (checked every ``watch_interval``
    seconds; :meth:`reload`, :meth:`close`).
    ``approvals`` keeps the approval requests of ``approve`` rules: an
    :class:`~guardrail.approvals.ApprovalStore`, a SQLite file path or
    ``sqlite:///path``, ``redis://host:port/db``; ``guard.approvals`` lists and
    decides them.
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
        steps: Steps | None = None,
        token_exchange: TokenExchange | None = None,
        strict: bool = False,
        meter_provider: MeterProvider | None = None,
        watch: bool = False,
        watch_interval: float = 1.0,
        approvals: ApprovalStore | str | Path | None = None,
    ) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy.from_file(policy)
        self.authenticator = authenticator
        self._tools: dict[str, ToolSpec] = {}
        self.tools: Mapping[str, ToolSpec] = MappingProxyType(self._tools)
        """The registered tools by name (read-only; :meth:`register` adds one)."""
        # Checks each registering tool against the policy: PolicyWarning, or PolicyError if strict.
        self.validator = PolicyValidator(self.policy, authenticator, strict=strict)
        self.audit = AuditTrail(audit, policy_digest=self.policy.digest)
        self.ledger = ledger_from_uri(ledger) if isinstance(ledger, str) else ledger
        self.budgets = BudgetKeeper(self.policy.limits, self.ledger, on_error=on_ledger_error)
        store = store_from_uri(approvals) if isinstance(approvals, str | Path) else approvals
        self.approvals = Approvals(store, self.audit, authenticator)
        """Approval requests: list, get, approve, deny (``approve`` rules)."""
        gate = ApprovalGate(store, self.audit) if store is not None else None
        self.checker = PolicyChecker(self.policy, gate)
        self.spans = SpanEmitter(
            tracer_provider,
            arguments=span_arguments,
            results=span_results,
            redactor=self.audit.redactor,
            policy_digest=self.policy.digest,
        )
        self.metrics = MetricsRecorder(meter_provider)
        self.downstream = DownstreamTokens(token_exchange) if token_exchange else None
        chosen = steps(self) if callable(steps) else steps
        self._engine = Engine(self.default_steps() if chosen is None else chosen)
        self.watcher = _watcher(self, policy, watch_interval) if watch else None

    # -- the pipeline ---------------------------------------------------------------

    def default_steps(self) -> list[Step]:
        """The steps every call goes through, in order.

        The span first (it covers everything and its ids go into the records), the
        metrics (they count what the call finally was), then the policy, then the
        budget (reserve before, settle after), and the audit last: it writes the
        intent once every check passed, and the outcome or the one refusal record
        when the call is over. With ``token_exchange``, the
        downstream binder comes before the audit. ``Guard(steps=...)`` replaces it.
        """
        steps: list[Step] = [self.spans, self.metrics, self.checker, self.budgets]
        if self.downstream is not None:
            steps.append(DownstreamBinder(self.downstream))
        return [*steps, self.audit]

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._engine.steps

    def add_step(self, step: Step) -> None:
        """Add a check to the pipeline, just before the audit step (so it is recorded)."""
        steps = list(self.steps)
        at = len(steps) - 1 if steps and steps[-1] is self.audit else len(steps)
        steps.insert(at, step)
        self._engine = Engine(steps)

    def reload(self, policy: Policy | str | Path) -> Policy:
        """Put ``policy`` (a :class:`Policy` or a file) in force, atomically.

        Calls already running finish under the policy they started with; calls that
        start afterwards run under the new one; none is refused by the swap. Each
        audit record names the digest of the policy its call ran under. A policy
        that does not load leaves the old one in force: the error is logged, written
        as an audit notice and raised. A reload that succeeds is a notice too.

        .. versionadded:: 0.2
        """
        from guardrail.reload import reload_policy

        return reload_policy(self, policy)

    def close(self) -> None:
        """Stop watching the policy file (``watch=True``); calls still work."""
        if self.watcher is not None:
            self.watcher.close()

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
        tools = [tool] if tool is not None else list(self._tools)
        return self.budgets.usage(who, tools=tools, session=session or current_session())

    def notice(self, tool: str, decision: DecisionKind, reason: str, **detail: Any) -> None:
        """Record something that is not a call (an MCP tool changed, was re-pinned, ...)."""
        self.audit.notice(tool, decision, reason, **detail)

    # -- registering tools --------------------------------------------------------

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
        replace: bool = False,
        downstream: DownstreamSpec | None = None,
        definition: str | None = None,
        read_only: bool = False,
    ) -> ToolSpec:
        """Add a tool to this guard without wrapping it (adapters use this).

        ``downstream`` names the systems the tool calls as the user (see
        :meth:`tool`); it needs ``Guard(token_exchange=...)``. ``replace=True`` lets
        a new definition take the place of a tool registered under the same name
        (an adapter re-listing a remote tool); otherwise a different function under
        a taken name is a :class:`ConfigurationError`. ``definition`` is the hash of
        a remote tool's definition (an MCP pin): approvals are bound to it.
        ``read_only``: see :meth:`tool`.
        """
        is_async, generator = body_kind(fn)
        spec = ToolSpec(
            name=tool_name(name or _name_of(fn)),
            fn=fn,
            description=description if description is not None else inspect.getdoc(fn) or "",
            cost=cost,
            scopes=frozenset(scopes),
            redact=tuple(redact),
            expose=expose,
            skill=skill,
            is_async=is_async,
            generator=generator,
            binder=binder if binder is not None else ArgBinder(fn, validate=validate),
            downstream=self._downstream_of(fn, downstream),
            definition=definition,
            read_only=read_only,
        )
        known = self._tools.get(spec.name)
        if known is not None and known.fn is not fn and not replace:
            raise ConfigurationError(f"a different tool is already registered as {spec.name!r}")
        self.validator.registered(spec)
        self._tools[spec.name] = spec
        return spec

    def _downstream_of(self, fn: Callable[..., Any], spec: DownstreamSpec | None) -> Any:
        if spec is None:
            return ()
        if self.downstream is None:
            raise ConfigurationError(
                f"{fn.__name__!r} needs downstream tokens: Guard(token_exchange=...)"
            )
        return targets(spec)


def _name_of(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str):  # a functools.partial or a callable object
        raise ConfigurationError(f"{fn!r} has no __name__: register it with name=...")
    return name


def _watcher(guard: Guard, policy: Policy | str | Path, interval: float) -> PolicyWatcher:
    if isinstance(policy, Policy):
        raise ConfigurationError("watch=True needs the policy as a file path, not a Policy")
    from guardrail.reload import PolicyWatcher

    return PolicyWatcher(guard, policy, interval=interval)
