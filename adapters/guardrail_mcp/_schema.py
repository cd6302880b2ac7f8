"""Narrow a tool's JSON schema to the argument regions a principal may use.

Private stand-in until ``guardrail/schema.py`` lands on main (to be unified then).
The result is a sound over-approximation: it never hides a value the policy
would allow, and the call itself is still checked in full.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from guardrail.policy.evaluator import Region

_MERGED_KEYS = ("const", "enum", "minimum", "maximum", "pattern", "maxLength", "maxItems", "not")


def narrow_schema(schema: Mapping[str, Any], regions: Sequence[Region]) -> dict[str, Any]:
    """``schema`` restricted to the union of ``regions`` (enum, minimum, maximum, pattern, ...)."""
    narrowed = copy.deepcopy(dict(schema))
    properties = narrowed.get("properties")
    if not regions or any(not region for region in regions) or not isinstance(properties, dict):
        return narrowed
    required = list(narrowed.get("required") or [])
    for name, prop in properties.items():
        if not isinstance(prop, dict) or not all(name in region for region in regions):
            continue
        variants = [_narrow_property(prop, region[name]) for region in regions]
        properties[name] = variants[0] if len(variants) == 1 else _union(prop, variants)
        if name not in required:
            required.append(name)  # every allowing rule demands the argument
    if required:
        narrowed["required"] = required
    return narrowed


def _narrow_property(prop: Mapping[str, Any], ops: Sequence[Any]) -> dict[str, Any]:
    out = dict(prop)
    for op in ops:
        value = _jsonable(op.value)
        if value is _SKIP:
            continue
        if op.op == "eq":
            out["const"] = value
            out["enum"] = [value]
        elif op.op == "in" and isinstance(value, list):
            known = out.get("enum")
            out["enum"] = [v for v in value if not isinstance(known, list) or v in known]
        elif op.op in ("ne", "not_in"):
            excluded = [value] if op.op == "ne" else value if isinstance(value, list) else []
            previous = (
                out.get("not", {}).get("enum", []) if isinstance(out.get("not"), dict) else []
            )
            out["not"] = {"enum": [*previous, *excluded]}
        elif op.op == "min" and _number(value):
            out["minimum"] = max(value, out["minimum"]) if _number(out.get("minimum")) else value
        elif op.op == "max" and _number(value):
            out["maximum"] = min(value, out["maximum"]) if _number(out.get("maximum")) else value
        elif op.op == "regex" and isinstance(value, str):
            anchored = f"^(?:{value})$"  # policies full-match; a JSON schema pattern searches
            if "pattern" in out:
                out["allOf"] = [*out.get("allOf", []), {"pattern": anchored}]
            else:
                out["pattern"] = anchored
        elif op.op == "max_length" and _number(value):
            out["maxItems" if out.get("type") == "array" else "maxLength"] = int(value)
    return out


def _union(original: Mapping[str, Any], variants: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Keep a narrowing only where every variant has one; widen it to cover them all."""
    out = {k: v for k, v in original.items() if k not in _MERGED_KEYS}
    if all("enum" in v for v in variants):
        out["enum"] = _dedupe(x for v in variants for x in v["enum"])
    for key, pick in (("minimum", min), ("maximum", max), ("maxLength", max), ("maxItems", max)):
        values = [v[key] for v in variants if key in v]
        if len(values) == len(variants):
            out[key] = pick(values)
    for key in ("pattern", "not", "const"):
        if all(key in v and v[key] == variants[0][key] for v in variants):
            out[key] = variants[0][key]
    return out


_SKIP: Any = object()


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        value = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return _SKIP
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dedupe(values: Any) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen
