"""What a principal may see and call (mixed into :class:`~guardrail.Guard`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from guardrail.call import Call, current_call
from guardrail.errors import GuardrailDenied
from guardrail.identity import Principal, current_principal
from guardrail.policy.decision import Decision
from guardrail.schema import narrow_schema

if TYPE_CHECKING:
    from guardrail.approvals.model import ApprovalRequest
    from guardrail.checks import PolicyChecker
    from guardrail.policy.evaluator import Region
    from guardrail.policy.policy import Policy
    from guardrail.tools import ToolSpec


class Views:
    """Asking the policy, listing visible tools, narrowing schemas, wrapping frameworks."""

    policy: Policy
    tools: Mapping[str, ToolSpec]
    checker: PolicyChecker

    def check(
        self, tool: str, args: Mapping[str, Any] | None = None, principal: Principal | None = None
    ) -> Decision:
        """The decision a call of ``tool`` would get, without running or recording anything.

        For a registered tool it is exactly the call's: the same check (expired token,
        missing scopes, a skill step outside its skill, the policy) on the arguments
        bound as the call would bind them.
        """
        who = principal if principal is not None else current_principal()
        spec = self.tools.get(tool)
        if spec is None or spec.binder is None:
            return self.policy.decide(tool, who, args or {})
        call = Call(tool=spec, args={}, principal=who, parent=current_call())
        try:
            call.args = spec.binder.bind((), args or {})
            self.checker.judge(call)  # decides only: never files or uses an approval
        except GuardrailDenied as refusal:
            return call.decision or Decision(False, refusal.rule, refusal.reason)
        assert call.decision is not None
        return call.decision

    def approval_for(
        self, tool: str, args: Mapping[str, Any] | None = None, principal: Principal | None = None
    ) -> ApprovalRequest | None:
        """The approval a call of ``tool`` waits for, without running or consuming anything.

        ``None`` when no ``approve`` rule holds the call (or it would be refused, or
        there is no store: running it decides and records that). Otherwise the unused
        grant for exactly this call, or its pending request, filed (and audited) now
        if there is none. Frameworks with a native pause ask this before pausing.
        """
        who = principal if principal is not None else current_principal()
        spec = self.tools.get(tool)
        if spec is None or spec.binder is None:
            return None
        call = Call(tool=spec, args={}, principal=who, parent=current_call())
        try:
            call.args = spec.binder.bind((), args or {})
            return self.checker.approval(call)
        except GuardrailDenied:
            return None

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

    def wrap(self, obj: Any, **options: Any) -> Any:
        """Govern a framework object (LangChain tools, an MCP session, ...) with this guard.

        A list or tuple is wrapped item by item. The adapter is chosen by
        ``supports(obj)`` among those registered under ``guardrail.adapters``.
        ``options`` are the adapter's own (``guard.wrap(session, server="crm")``
        for MCP); an adapter that takes none refuses them with a
        :class:`~guardrail.ConfigurationError`.
        """
        from guardrail.adapters import registry

        if isinstance(obj, list | tuple):
            return type(obj)(self.wrap(item, **options) for item in obj)
        adapter = registry.for_object(obj)
        if not options:
            return adapter.wrap(obj, self)  # type: ignore[arg-type]
        _check_options(adapter, options)
        return adapter.wrap(obj, self, **options)  # type: ignore[arg-type]

    def visible(self, obj: Any, principal: Principal | None = None) -> Any:
        """What of ``obj`` (tools, a tool list) ``principal`` may see, schemas narrowed."""
        from guardrail.adapters import registry

        who = principal if principal is not None else current_principal()
        if isinstance(obj, list | tuple):
            shown = [self.visible(item, who) for item in obj]
            return type(obj)(item for item in shown if item is not None)
        return registry.for_object(obj).visible(obj, self, who)  # type: ignore[arg-type]


def _renamed(region: Region, aliases: Mapping[str, str]) -> Region:
    return {aliases.get(arg, arg): ops for arg, ops in region.items()}


def _check_options(adapter: Any, options: Mapping[str, Any]) -> None:
    import inspect

    accepted = inspect.signature(adapter.wrap).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        from guardrail.errors import ConfigurationError

        raise ConfigurationError(
            f"the {adapter.name} adapter's wrap() takes no option {', '.join(unknown)}"
        )
