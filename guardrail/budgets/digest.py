"""The key of an ``identical: true`` limit: a digest of a call's arguments.

Equal arguments must give the same digest in every process sharing a ledger, or a
looping agent escapes the limit by varying what does not matter: dict and set
order at any depth (``repr`` of a set follows per-process string hashing), an
object's default ``repr`` (its memory address changes every call), keys of mixed
types that ``json.dumps(sort_keys=True)`` cannot sort.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def args_digest(args: dict[str, Any]) -> str:
    """The same for equal arguments in every process: dicts and sets in a canonical
    order at any depth, objects by class and fields (never by ``repr``'s address)."""
    canonical = json.dumps(_canonical(args), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _canonical(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value else "NaN"  # NaN: one spelling, JSON-safe
    if depth > 100:
        return "..."
    if isinstance(value, dict):
        items = [(_canonical(k, depth + 1), _canonical(v, depth + 1)) for k, v in value.items()]
        return ["dict", sorted(items, key=_order)]
    if isinstance(value, set | frozenset):
        return ["set", sorted((_canonical(v, depth + 1) for v in value), key=_order)]
    if isinstance(value, list | tuple):
        return [_canonical(v, depth + 1) for v in value]
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict):
        return [type(value).__qualname__, _canonical(fields, depth + 1)]
    custom = any("__repr__" in vars(cls) for cls in type(value).__mro__[:-1])
    return [type(value).__qualname__, repr(value) if custom else ""]


def _order(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)
