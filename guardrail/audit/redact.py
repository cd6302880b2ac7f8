"""Redaction applied before any sink sees an argument: secrets never leave the process."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

SECRET_KEYS = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|authori[sz]ation|"
    r"cookie|credential|private[_-]?key|session[_-]?id|signature|^jwt$|^otp$|^pin$|^cvv2?$|"
    r"^cvc$|^ssn$|card[_-]?number|^pan$",
    re.IGNORECASE,
)
SECRET_VALUES = (
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    re.compile(r"\b(sk|pk|rk)[-_](live|test|proj)?[-_]?[A-Za-z0-9]{16,}"),  # Stripe/OpenAI style
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),  # GitHub tokens
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),  # Google API keys
    re.compile(
        r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(-----END[A-Z ]*PRIVATE KEY-----|$)", re.DOTALL
    ),
)
_ASSIGNED = re.compile(
    r"(?i)\b([\w-]*?(?:pass(?:word|wd)?|secret|token|api[_-]?key|apikey|access[_-]?key))"
    r"(\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
"""``password=...``, ``token: ...`` inside free text: the name stays, the value goes."""
_DIGIT_RUN = re.compile(r"(?<![\w.])\d+(?:[ -]\d+)*(?![\w.])")
"""Digit groups joined by single spaces or dashes; a card number is some of them."""
_GROUP = re.compile(r"\d+")
_MAYBE_SECRET = (
    "eyj", "bearer", "k-", "k_", "akia", "gh", "xox", "aiza", "-----begin",
    "pass", "secret", "token", "key",
)  # fmt: skip
"""Every ``SECRET_VALUES`` and ``_ASSIGNED`` match contains one of these once case-folded
(``casefold`` also maps U+017F and U+212A, which ``re.IGNORECASE`` takes for s and k):
text with none of them is left alone without trying each pattern."""
_MAYBE_CARD = re.compile(r"\d(?:[ -]?\d){12}")
"""13 digits, single spaces or dashes between: what any card number in a digit run has."""
_MAX_GROUPS = 40


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class Redactor:
    """Replaces secret-looking keys and values; truncates long strings; bounds nesting."""

    def __init__(self, *, max_length: int = 256, max_depth: int = 4, max_items: int = 50) -> None:
        self.max_length = max_length
        self.max_depth = max_depth
        self.max_items = max_items

    def arguments(self, args: Mapping[str, Any], fields: Iterable[str] = ()) -> dict[str, Any]:
        """Redacted copy of ``args``; ``fields`` (a tool's ``redact=``) are always hidden.

        A field may be a dotted path (``"payment.card"``) into nested mappings.
        """
        hidden = set(fields)
        nested = [f.split(".") for f in hidden if "." in f]
        out = {
            str(key): REDACTED if key in hidden else self.value(value, key=str(key))
            for key, value in args.items()
        }
        for path in nested:
            _hide(out, path)
        return out

    def value(self, value: Any, *, key: str = "", depth: int = 0) -> Any:
        if key and SECRET_KEYS.search(key):
            return REDACTED
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.text(value)
        if depth >= self.max_depth:
            return "[...]"
        fields = _fields_of(value)
        if fields is not None:  # a NamedTuple or dataclass: keep the field names
            value = fields
        if isinstance(value, Mapping):
            items = list(value.items())[: self.max_items]
            return {str(k): self.value(v, key=str(k), depth=depth + 1) for k, v in items}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, depth=depth + 1) for v in list(value)[: self.max_items]]
        if isinstance(value, bytes | bytearray | memoryview):
            return f"[{len(value)} bytes]"
        dump = getattr(value, "model_dump", None)
        if callable(dump):  # a pydantic model: its fields, not its repr
            try:
                return self.value(dump(mode="json"), depth=depth)
            except Exception:  # fall back to the repr, redacted
                pass
        return self.text(repr(value))

    def text(self, text: str) -> str:
        folded = text.casefold()
        if any(literal in folded for literal in _MAYBE_SECRET):
            for pattern in SECRET_VALUES:
                text = pattern.sub(REDACTED, text)
            text = _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        if _MAYBE_CARD.search(text) is not None:
            text = _DIGIT_RUN.sub(self._card, text)
        if len(text) > self.max_length:
            text = f"{text[: self.max_length]}...[{len(text) - self.max_length} more chars]"
        return text

    @staticmethod
    def _card(match: re.Match[str]) -> str:
        """Redact each longest run of whole groups with 13-19 digits passing Luhn."""
        run = match.group()
        groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)][:_MAX_GROUPS]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(groups):
            found = None
            digits = ""
            for j in range(i, len(groups)):
                digits += run[groups[j][0] : groups[j][1]]
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _luhn(digits):
                    found = j
            if found is None:
                i += 1
                continue
            spans.append((groups[i][0], groups[found][1]))
            i = found + 1
        for start, end in reversed(spans):
            run = run[:start] + REDACTED + run[end:]
        return run


def _hide(tree: dict[str, Any], path: list[str]) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict) and path[-1] in node:
        node[path[-1]] = REDACTED


def _fields_of(value: Any) -> dict[str, Any] | None:
    as_dict = getattr(value, "_asdict", None)
    if isinstance(value, tuple) and callable(as_dict):
        fields: dict[str, Any] = as_dict()
        return fields
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None
