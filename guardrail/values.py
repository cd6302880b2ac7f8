"""Plain values: what a call's arguments are turned into before any policy sees them.

Why: a policy compares values, and two kinds of value defeat comparisons. A
subclass of a builtin can lie (``class S(str): __eq__ = lambda *_: True`` passes
``eq: prod``), and a NaN compares false with every bound (``min: 1000`` in a deny
rule lets it through). So every value the type hints leave open (untyped
parameters, ``Any``, bare ``list``/``dict``, ``**kwargs``, framework tools) is
rebuilt here from exact builtins (``str``, ``int``, ``float``, ``bytes``,
``list``, ``tuple``, ``dict``, ``set``, ``frozenset``; enums become their value's
builtin), nested containers included, and a non-finite float (NaN, +-inf) or
``Decimal`` is refused with an :class:`~guardrail.errors.ArgumentError` unless
the parameter opts in with ``Annotated[..., pydantic.AllowInfNan()]``. Values
pydantic validated against a concrete type are already plain (pydantic rebuilds
builtins); other objects (datetimes, models, ...) pass through unchanged.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import AllowInfNan

from guardrail.errors import ArgumentError

MAX_DEPTH = 100
"""Containers nested deeper than this are refused (a cycle would recurse forever)."""

_SCALARS = (str, int, bool, type(None))
_INF = math.inf


class _Refused(Exception):
    """A value that cannot be made plain; ``path`` is filled in on the way out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []


def plain_arguments(
    values: dict[str, Any], *, loose: Iterable[str], allow_inf_nan: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``values`` with each argument named in ``loose`` made plain; raises ArgumentError.

    ``allow_inf_nan`` names the arguments whose annotation accepts NaN and infinity.
    """
    out = values
    for name in loose:
        if name not in values:
            continue
        value = values[name]
        try:
            made = plain(value, allow_inf_nan=name in allow_inf_nan)
        except _Refused as exc:
            where = name + "".join(reversed(exc.path))
            raise ArgumentError(f"invalid arguments: {where}: {exc.reason}") from None
        if made is not value:
            if out is values:
                out = dict(values)
            out[name] = made
    return out


def plain(value: Any, *, allow_inf_nan: bool = False, depth: int = 0) -> Any:
    """``value`` rebuilt from exact builtins (the same object when it already is one)."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    if cls is float:
        if allow_inf_nan or -_INF < value < _INF:
            return value
        raise _Refused(_non_finite(value))
    if depth >= MAX_DEPTH:
        raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
    if cls is list or cls is tuple or cls is dict or cls is set or cls is frozenset:
        return _container(value, cls, allow_inf_nan, depth + 1)
    return _converted(value, allow_inf_nan, depth + 1)


def _converted(value: Any, allow_inf_nan: bool, depth: int) -> Any:
    """A subclass of a builtin as that builtin, through the builtin's own methods (the
    subclass's overrides, which may lie, are never called)."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool cannot be subclassed: an int subclass or an enum
        return int.__int__(value)
    if isinstance(value, float):
        return plain(float.__float__(value), allow_inf_nan=allow_inf_nan)
    if isinstance(value, bytes):
        return bytes.__bytes__(value)
    if isinstance(value, Decimal) and not allow_inf_nan and not Decimal.is_finite(value):
        raise _Refused(_non_finite(value))
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        # A named tuple is data the tool reads by field name: keep its class, make its
        # fields plain (tuple.__new__: an overridden __new__ is not called).
        items = _container(value, tuple, allow_inf_nan, depth)
        return tuple.__new__(type(value), items)
    for base in (list, tuple, dict, frozenset, set):
        if isinstance(value, base):
            return _container(value, base, allow_inf_nan, depth)
    return value


def _container(value: Any, cls: type, allow_inf_nan: bool, depth: int) -> Any:
    if cls is dict:
        return _mapping(value, allow_inf_nan, depth)
    items = list(cls.__iter__(value))  # type: ignore[attr-defined]
    out = [_item(item, index, allow_inf_nan, depth) for index, item in enumerate(items)]
    if type(value) is cls and all(map(operator.is_, out, items)):
        return value
    if cls is set or cls is frozenset:
        made = cls(out)
        if len(made) != len(out):
            raise _Refused("two members are equal once made plain")
        return made
    return out if cls is list else tuple(out)


def _item(item: Any, index: int, allow_inf_nan: bool, depth: int) -> Any:
    try:
        return plain(item, allow_inf_nan=allow_inf_nan, depth=depth)
    except _Refused as exc:
        exc.path.append(f"[{index}]")
        raise


def _mapping(value: Any, allow_inf_nan: bool, depth: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    same = type(value) is dict
    for key, item in dict.items(value):
        try:
            new_key = plain(key, allow_inf_nan=allow_inf_nan, depth=depth)
            new_item = plain(item, allow_inf_nan=allow_inf_nan, depth=depth)
        except _Refused as exc:
            exc.path.append(f"[{key!r}]" if type(key) in _SCALARS else "[<key>]")
            raise
        if new_key in out:
            raise _Refused(f"two keys equal {new_key!r} once made plain")
        same = same and new_key is key and new_item is item
        out[new_key] = new_item
    return value if same else out


def plain_key(name: Any) -> str:
    """A keyword argument's name as an exact ``str`` (a subclass could lie in ``__eq__``)."""
    if type(name) is str:
        return name
    if isinstance(name, str):
        return str.__str__(name)
    raise ArgumentError(f"argument names must be strings, not {type(name).__name__}")


def _non_finite(value: Any) -> str:
    return (
        f"{value!r} is not a finite number (NaN and infinity are refused; "
        "annotate the parameter Annotated[float, pydantic.AllowInfNan()] to accept them)"
    )


# -- what an annotation leaves open ---------------------------------------------------

_BARE = (list, tuple, dict, set, frozenset, object)


def is_loose(annotation: Any) -> bool:
    """Whether values validated against ``annotation`` may still hold arbitrary objects
    (no annotation, ``Any``, a bare container, ``list[Any]``, a forward reference...):
    those must go through :func:`plain`; pydantic rebuilds everything else."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if isinstance(annotation, str | TypeVar):  # unresolved forward reference
        return True
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return is_loose(args[0])
    if origin is None:
        return annotation in _BARE or _abstract_container(annotation)
    if origin is Literal:
        return False
    if not args:  # typing.List, typing.Dict: no parameters given
        return True
    return any(arg is not Ellipsis and is_loose(arg) for arg in args)


def _abstract_container(annotation: Any) -> bool:
    return isinstance(annotation, type) and annotation.__module__ == "collections.abc"


def allows_inf_nan(annotation: Any) -> bool:
    """``Annotated[..., AllowInfNan()]`` (at any depth): the parameter opts in to NaN and
    infinity."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        if any(isinstance(m, AllowInfNan) and m.allow_inf_nan for m in metadata):
            return True
        return allows_inf_nan(base)
    return any(allows_inf_nan(arg) for arg in get_args(annotation))


def checked_cost(amount: Any, what: str) -> float:
    """``amount`` as a float cost; a cost that is not a finite number >= 0 (NaN, infinity,
    negative, a bool or a string) raises ArgumentError naming ``what``."""
    if isinstance(amount, bool | str | bytes) or not isinstance(amount, int | float | Decimal):
        raise ArgumentError(f"{what}: a cost must be a number, not {type(amount).__name__}")
    try:
        value = float(amount)
    except OverflowError:  # an int too large for a float: no budget holds it
        value = _INF
    if not 0 <= value < _INF:
        raise ArgumentError(f"{what}: a cost must be a finite number >= 0, not {value!r}")
    return value
