"""RFC 8785 (JCS) canonical JSON and the digest an approval is bound to.

An approval is for one exact call: the SHA-256 of the canonical JSON of who
(subject and issuer), which tool, which definition of it, which arguments and
under which policy. JCS makes the bytes independent of key order, whitespace and
number spelling, so any implementation that follows the RFC computes the same
digest for the same call.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

if TYPE_CHECKING:
    from guardrail.identity import Principal
    from guardrail.tools import ToolSpec

_SAFE_INT = 2**53
"""JCS numbers are IEEE doubles: integers beyond this cannot be told apart."""


def canonical(value: Any) -> bytes:
    """``value`` (JSON data: dict, list, str, int, float, bool, None) as JCS bytes."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if value is None or value is True or value is False:
        return json.dumps(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        if abs(value) > _SAFE_INT:
            raise ValueError(f"integer {value} is too large for canonical JSON (RFC 8785)")
        return str(int(value))
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: _utf16(kv[0]))
        return "{" + ",".join(f"{_string(k)}:{_encode(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    raise ValueError(f"{type(value).__name__} is not JSON data")


def _utf16(key: Any) -> bytes:
    if not isinstance(key, str):
        raise ValueError(f"object keys must be strings, not {type(key).__name__}")
    return key.encode("utf-16-be", "surrogatepass")


def _string(text: str) -> str:
    # json.dumps escapes exactly what JCS escapes (quote, backslash, controls as
    # \b \t \n \f \r or lowercase \u00xx) when it may keep other characters as they are.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate (not valid Unicode)") from None
    return json.dumps(text, ensure_ascii=False)


def _number(value: float) -> str:
    """ECMAScript ``Number.prototype.toString`` of ``value`` (RFC 8785 section 3.2.2.3)."""
    if not math.isfinite(value):
        raise ValueError(f"{value} has no JSON form")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    exact = Decimal(repr(abs(value))).normalize()
    digits = "".join(str(d) for d in exact.as_tuple().digits)
    k = len(digits)
    n = int(exact.as_tuple().exponent) + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    exponent = f"e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return sign + mantissa + exponent


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def definition_hash(spec: ToolSpec) -> str:
    """The tool-definition hash: the MCP pin when there is one, else the local signature.

    The local signature covers the name, the function's qualified name and
    parameters (with annotations) and the description, so an edited tool no
    longer matches approvals given for the old one.
    """
    if spec.definition is not None:
        return spec.definition
    fn = spec.fn
    try:
        signature = str(inspect.signature(fn))
    except (TypeError, ValueError):
        signature = "?"
    where = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
    return sha256_hex(
        {
            "name": spec.name,
            "function": where,
            "signature": signature,
            "description": spec.description,
        }
    )


def binding(
    principal: Principal, spec: ToolSpec, args: Mapping[str, Any], policy_digest: str
) -> dict[str, Any]:
    """What an approval binds, as JSON data (``args`` in their JSON form)."""
    return {
        "subject": {"sub": principal.subject, "iss": principal.issuer},
        "tool": spec.name,
        "tool_definition": definition_hash(spec),
        "arguments": to_jsonable_python(dict(args), fallback=_unbindable),
        "policy": policy_digest,
    }


def call_digest(
    principal: Principal, spec: ToolSpec, args: Mapping[str, Any], policy_digest: str
) -> str:
    """SHA-256 (hex) of the JCS form of :func:`binding`."""
    return sha256_hex(binding(principal, spec, args, policy_digest))


def _unbindable(value: Any) -> Any:
    raise ValueError(f"an argument of type {type(value).__name__} has no JSON form to approve")
