"""A tiny JSON-schema checker for the keywords narrow_schema writes (tests only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: _num(v) and float(v).is_integer(),
    "number": lambda v: _num(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _eq(a: Any, b: Any) -> bool:
    return bool(a == b) if _num(a) and _num(b) else type(a) is type(b) and a == b


def admits(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` is valid against ``schema`` (subset of draft 2020-12)."""
    checks: dict[str, Callable[[Any], bool]] = {
        "type": lambda t: any(_TYPES[x](value) for x in ([t] if isinstance(t, str) else t)),
        "enum": lambda e: any(_eq(value, x) for x in e),
        "const": lambda c: _eq(value, c),
        "minimum": lambda m: not _num(value) or value >= m,
        "maximum": lambda m: not _num(value) or value <= m,
        "pattern": lambda p: not isinstance(value, str) or re.search(p, value) is not None,
        "maxLength": lambda n: not isinstance(value, str) or len(value) <= n,
        "maxItems": lambda n: not isinstance(value, list) or len(value) <= n,
        "anyOf": lambda subs: any(admits(s, value) for s in subs),
        "allOf": lambda subs: all(admits(s, value) for s in subs),
        "not": lambda sub: not admits(sub, value),
        "required": lambda names: not isinstance(value, dict) or all(n in value for n in names),
        "properties": lambda props: (
            not isinstance(value, dict)
            or all(admits(props[k], v) for k, v in value.items() if k in props)
        ),
    }
    return all(check(schema[key]) for key, check in checks.items() if key in schema)
