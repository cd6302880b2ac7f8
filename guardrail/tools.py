"""What a guarded tool is: its name, declared cost and scopes, and its argument binder."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from guardrail._inspect_tool import args_model, arity_message, body_kind, signature_of
from guardrail._plain_args import exactly, plain_fields
from guardrail._varparams import VarParams, validation_message
from guardrail.errors import ArgumentError, ConfigurationError
from guardrail.values import (
    allows_inf_nan,
    checked_cost,
    is_loose,
    plain_arguments,
    plain_key,
)

if TYPE_CHECKING:
    from guardrail.downstream import Downstream

__all__ = ["ArgBinder", "NamedArgBinder", "ToolSpec", "body_kind", "validation_message"]

_SELF_NAMES = ("self", "cls")


class ArgBinder:
    """Maps a call's positional and keyword arguments to a name -> value dict.

    Validates values against the function's type hints with pydantic (coercing,
    e.g. ``"40"`` -> ``40.0`` for a ``float``) so the policy sees what the tool gets.
    NaN and infinity are refused unless a parameter is annotated
    ``Annotated[float, pydantic.AllowInfNan()]``; values the hints leave open
    (untyped, ``Any``, bare containers) are made plain (:mod:`guardrail.values`).
    ``**kwargs`` are flattened: the policy sees ``{"amount": 5}``, not
    ``{"kwargs": {"amount": 5}}``; ``*args`` stay one tuple under their name.
    """

    _own_binding: bool = True
    """This class binds as :class:`ArgBinder` does (no subclass ``bind``/``invoke_args``),
    so :meth:`invocation` may take its exact path."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Fail closed by construction: whatever a subclass's ``bind`` returns is made
        # plain before the guard sees it (an adapter cannot forget to).
        super().__init_subclass__(**kwargs)
        bind = cls.__dict__.get("bind")
        if bind is not None or "invoke_args" in cls.__dict__:
            cls._own_binding = False
        if bind is not None:

            @functools.wraps(bind)
            def checked_bind(
                self: ArgBinder, args: tuple[Any, ...], kwargs: Mapping[str, Any]
            ) -> dict[str, Any]:
                return self.validate(bind(self, args, kwargs))

            setattr(cls, "bind", checked_bind)  # noqa: B010 - mypy: no method assignment

    def __init__(self, fn: Callable[..., Any], *, validate: bool = True) -> None:
        self.signature = signature_of(fn)
        params = list(self.signature.parameters.values())
        self.skip_first = bool(params) and params[0].name in _SELF_NAMES
        if self.skip_first:
            params = params[1:]
        self.params = params
        self.names = tuple(p.name for p in params)
        self._simple = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
        self._positional = tuple(p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD)
        self._defaults = {p.name: p.default for p in params if p.default is not p.empty}
        self._required = frozenset(p.name for p in params if p.default is p.empty)
        self.model = args_model(getattr(fn, "__name__", "tool"), params) if validate else None
        self._plain = plain_fields(params) if self.model is not None else None
        self._vars = VarParams(params, validate=validate)
        named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        self._loose = tuple(p.name for p in named if self.model is None or is_loose(p.annotation))
        self._inf_nan = frozenset(p.name for p in params if allows_inf_nan(p.annotation))
        self._exact = self._exact_plan()

    def _exact_plan(self) -> tuple[tuple[type, ...], tuple[int, ...]] | None:
        """For a function of plainly typed positional parameters only: their types and
        the positions of the ``float`` ones. A call giving every one positionally with a
        value of exactly its type (floats finite) is bound without further work."""
        plain = self._plain
        if plain is None or self._vars.present or self._loose or plain[0] != self._positional:
            return None
        floats = tuple(i for i, kind in enumerate(plain[1]) if kind is float)
        return plain[1], floats

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments by name, defaults applied, ``self`` left out; raises ArgumentError."""
        if self.skip_first:
            args = args[1:]
        exact = self._exact
        if exact is not None and not kwargs and exactly(args, *exact):
            return dict(zip(self._positional, args, strict=True))
        if self._simple and len(args) <= len(self._positional):
            bound = dict(zip(self._positional, args, strict=False))
            for key, value in kwargs.items():
                name = key if type(key) is str else plain_key(key)
                if name in bound or name not in self.names:
                    raise ArgumentError(arity_message(name, name in bound))
                bound[name] = value
            # Every name bound (keys are checked names): nothing missing, no default due.
            if len(bound) < len(self.names):
                missing = self._required.difference(bound)
                if missing:
                    raise ArgumentError(
                        f"missing required argument(s): {', '.join(sorted(missing))}"
                    )
                for name, default in self._defaults.items():
                    bound.setdefault(name, default)
        else:
            bound = self._slow_bind(args, kwargs)
        return self.validate(bound)

    def invocation(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]:
        """:meth:`bind` and :meth:`invoke_args` at once: the bound arguments, and the
        positional and keyword arguments to call the function with. Values of exactly
        the plain types given positionally are passed on as they came (nothing to copy)."""
        exact = self._exact if self._own_binding else None
        if exact is not None and not kwargs and not self.skip_first and exactly(args, *exact):
            return dict(zip(self._positional, args, strict=True)), args, {}
        bound = self.bind(args, kwargs)
        positional, keywords = self.invoke_args(args, bound)
        return bound, positional, keywords

    def _already_valid(self, bound: Mapping[str, Any]) -> bool:
        """Every field plainly typed (``str``, ``int``, ``float``, ``bool``) and given a value
        of exactly that type (``is``: a metaclass may lie in ``==``), floats finite: pydantic
        would return the same values, so skip it."""
        if self._plain is None:
            return False
        names, kinds, floats = self._plain
        if not all(map(operator.is_, map(type, map(bound.get, names)), kinds)):
            return False
        return not floats or all(-math.inf < bound[name] < math.inf for name in floats)

    def validate(self, bound: dict[str, Any]) -> dict[str, Any]:
        if self.model is not None and not self._already_valid(bound):
            bound = {**bound, **self._validated(bound)}
        if self._vars.present:
            bound = self._vars.validate(bound, self.names, self._inf_nan)
        if self._loose:
            bound = plain_arguments(bound, loose=self._loose, allow_inf_nan=self._inf_nan)
        return bound

    def _validated(self, bound: Mapping[str, Any]) -> dict[str, Any]:
        """The model's fields after validation (a model's ``__dict__`` is exactly those)."""
        assert self.model is not None
        try:
            validated = self.model.model_validate(bound)
        except ValidationError as exc:
            raise ArgumentError(validation_message(exc)) from None
        fields: dict[str, Any] = validated.__dict__
        return fields

    def invoke_args(
        self, original: tuple[Any, ...], bound: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Positional and keyword arguments to call the function with, from ``bound``."""
        first = original[:1] if self.skip_first else ()
        if self._simple:
            return first, dict(bound)
        positional: list[Any] = list(first)
        keywords: dict[str, Any] = {}
        for param in self.params:
            if param.kind == param.VAR_KEYWORD:
                keywords.update({k: v for k, v in bound.items() if k not in self.names})
                continue
            value = bound.get(param.name, param.default)
            if param.kind == param.POSITIONAL_ONLY or (
                # before a *args, a parameter given by keyword would collide with it
                param.kind == param.POSITIONAL_OR_KEYWORD and self._vars.positional is not None
            ):
                positional.append(value)
            elif param.kind == param.VAR_POSITIONAL:
                positional.extend(value)
            else:
                keywords[param.name] = value
        return tuple(positional), keywords

    def _slow_bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        placeholder = (None,) if self.skip_first else ()
        kwargs = {plain_key(key): value for key, value in kwargs.items()}
        try:
            bound = self.signature.bind(*placeholder, *args, **kwargs)
        except TypeError as exc:
            raise ArgumentError(str(exc)) from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self.skip_first:
            arguments.pop(next(iter(self.signature.parameters)))
        return self._vars.flatten(arguments, self.names)


class NamedArgBinder(ArgBinder):
    """Binds the arguments of a framework tool (MCP, LangChain): no Python signature.

    Subclasses implement :meth:`bind` (the call's input to named arguments). The
    framework validates the values; :meth:`validate` (applied to whatever ``bind``
    returns) only makes them plain and refuses NaN and infinity, except for the
    argument names listed in ``allow_inf_nan``. The tool is invoked with keyword
    arguments only.

    .. versionadded:: 0.1
    """

    allow_inf_nan: frozenset[str] = frozenset()
    """Arguments that may be NaN or infinite (JSON has neither; the default refuses both)."""

    def __init__(self, names: Iterable[str] = ()) -> None:  # no signature to inspect
        self.names = tuple(names)
        self.skip_first = False
        self.model = None

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, bound: dict[str, Any]) -> dict[str, Any]:
        if any(type(key) is not str for key in bound):
            bound = {plain_key(key): value for key, value in bound.items()}
        return plain_arguments(bound, loose=tuple(bound), allow_inf_nan=self.allow_inf_nan)

    def invoke_args(
        self, original: tuple[Any, ...], bound: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (), dict(bound)


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool as the guard knows it."""

    name: str
    """The name policies and audit records use."""
    fn: Callable[..., Any]
    description: str = ""
    cost: float | None = None
    """Cost reserved before the call (``cost`` limits); the tool may report the real cost."""
    scopes: frozenset[str] = frozenset()
    """OAuth scopes the caller must hold, on top of the policy."""
    redact: tuple[str, ...] = ()
    """Argument names never written to audit records or spans."""
    expose: Literal["agent", "skill"] = "agent"
    """``"skill"``: callable only from inside a ``@guard.skill``, hidden from the agent."""
    skill: bool = False
    """A playbook (``@guard.skill``): its steps may include ``expose="skill"`` tools."""
    is_async: bool = False
    generator: bool = False
    """A generator (or, with ``is_async``, an async generator) function: its body runs
    inside the guard, item by item, until it is exhausted or closed."""
    binder: ArgBinder | None = field(default=None, compare=False)
    downstream: tuple[Downstream, ...] = ()
    """Downstream systems the tool calls as the user: their tokens are exchanged
    before its body runs (``@guard.tool(downstream=...)``); no token, no run."""
    definition: str | None = None
    """Hash of the tool's definition where it comes from elsewhere (an MCP pin);
    approvals are bound to it (``None``: the function's own signature is used)."""
    read_only: bool = False
    """The tool changes nothing: an allowed call is one audit record, its outcome,
    kept before the result reaches the caller (no intent record before it runs)."""

    def __post_init__(self) -> None:
        if self.cost is not None:
            # A negative or NaN declared cost would refill every cost budget it is charged to.
            try:
                checked_cost(self.cost, f"tool {self.name!r}")
            except ArgumentError as exc:
                raise ConfigurationError(str(exc).replace("a cost", "its cost", 1)) from None
