"""What a guarded tool is: its name, declared cost and scopes, and its argument binder."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from guardrail.errors import ArgumentError

_SELF_NAMES = ("self", "cls")
_PLAIN_TYPES = {t: t for t in (str, int, float, bool)} | {
    t.__name__: t for t in (str, int, float, bool)
}
"""Annotations for which a value of exactly that type validates to itself (also as the
strings that ``from __future__ import annotations`` leaves, which name the builtins)."""


class ArgBinder:
    """Maps a call's positional and keyword arguments to a name -> value dict.

    Validates values against the function's type hints with pydantic (coercing,
    e.g. ``"40"`` -> ``40.0`` for a ``float``) so the policy sees what the tool gets.
    """

    def __init__(self, fn: Callable[..., Any], *, validate: bool = True) -> None:
        self.signature = inspect.signature(fn)
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
        self.model = _args_model(fn.__name__, params) if validate else None
        self._plain = _plain_fields(params) if self.model is not None else None

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Arguments by name, defaults applied, ``self`` left out; raises ArgumentError."""
        if self.skip_first:
            args = args[1:]
        if self._simple and len(args) <= len(self._positional):
            bound = dict(zip(self._positional, args, strict=False))
            for name, value in kwargs.items():
                if name in bound or name not in self.names:
                    raise ArgumentError(_arity_message(name, name in bound))
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

    def _already_valid(self, bound: Mapping[str, Any]) -> bool:
        """Every field plainly typed (``str``, ``int``, ``float``, ``bool``) and given a value
        of exactly that type: pydantic would return the same values, so skip it."""
        if self._plain is None:
            return False
        names, kinds = self._plain
        return tuple(map(type, map(bound.get, names))) == kinds

    def validate(self, bound: dict[str, Any]) -> dict[str, Any]:
        if self.model is None or self._already_valid(bound):
            return bound
        return {**bound, **self._validated(bound)}

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
            value = bound.get(param.name, param.default)
            if param.kind == param.POSITIONAL_ONLY:
                positional.append(value)
            elif param.kind == param.VAR_POSITIONAL:
                positional.extend(value)
            elif param.kind == param.VAR_KEYWORD:
                keywords.update(value)
            else:
                keywords[param.name] = value
        return tuple(positional), keywords

    def _slow_bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        placeholder = (None,) if self.skip_first else ()
        try:
            bound = self.signature.bind(*placeholder, *args, **kwargs)
        except TypeError as exc:
            raise ArgumentError(str(exc)) from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self.skip_first:
            arguments.pop(next(iter(self.signature.parameters)))
        return arguments


class NamedArgBinder(ArgBinder):
    """Binds the arguments of a framework tool (MCP, LangChain): no Python signature.

    Subclasses implement :meth:`bind` (the call's input to named arguments). The
    framework validates the values, so :meth:`validate` keeps them as bound, and the
    tool is invoked with keyword arguments only.

    .. versionadded:: 0.1
    """

    def __init__(self, names: Iterable[str] = ()) -> None:  # no signature to inspect
        self.names = tuple(names)
        self.skip_first = False
        self.model = None

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, bound: dict[str, Any]) -> dict[str, Any]:
        return bound

    def invoke_args(
        self, original: tuple[Any, ...], bound: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (), dict(bound)


def _args_model(name: str, params: list[inspect.Parameter]) -> type[BaseModel] | None:
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    if not fields or all(p.annotation is p.empty for p in params):
        return None
    config = ConfigDict(arbitrary_types_allowed=True)
    model: type[BaseModel] = create_model(f"{name}_args", __config__=config, **fields)
    return model


def _plain_fields(
    params: list[inspect.Parameter],
) -> tuple[tuple[str, ...], tuple[type, ...]] | None:
    """Field names and their types when every field is annotated with a plain type."""
    fields = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not all(_hashable(p.annotation) and p.annotation in _PLAIN_TYPES for p in fields):
        return None
    return tuple(p.name for p in fields), tuple(_PLAIN_TYPES[p.annotation] for p in fields)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _arity_message(name: str, duplicate: bool) -> str:
    if duplicate:
        return f"got multiple values for argument {name!r}"
    return f"unexpected argument {name!r}"


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one ``ArgumentError`` message (``"invalid arguments: a: ...; ..."``)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "invalid arguments: " + "; ".join(parts)


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
