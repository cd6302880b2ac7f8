"""Redaction applied before any sink sees an argument: secrets never leave the process.

What counts as a secret is in :mod:`guardrail.audit._secrets` (names, token shapes,
a randomness test); this module applies it to values of any shape: text, mapping
keys and values, lists, tuples, sets, named tuples, dataclasses, pydantic models.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from guardrail.audit._commands import LITERALS as PROGRAMS
from guardrail.audit._commands import program_of, secret_parts
from guardrail.audit._secrets import NAME_LITERALS, any_of, secret_name
from guardrail.audit._shapes import ASSIGNED as _ASSIGNED
from guardrail.audit._shapes import SECRET_VALUES

REDACTED = "[REDACTED]"
_DIGIT_RUN = re.compile(r"(?<![\w.])\d+(?:[ -]\d+)*(?![\w.])")
"""Digit groups joined by single spaces or dashes; a card number is some of them."""
_GROUP = re.compile(r"\d+")
_MAYBE_SECRET_LITERALS = (
    *NAME_LITERALS, *PROGRAMS, "eyj", "://", "-----begin", "bearer", "basic", "apikey",
    "hooks.slack", "webhook", "discord", "digest", "{sha", "{ssha", "{md5", "{smd5", "{crypt",
    "{pbkdf2", "{argon2", "{bcrypt", "{cram-md5", "{plain", "{clear", "{ntlm", "{x-",
)  # fmt: skip
"""Every match of a ``SECRET_VALUES`` pattern or of ``_ASSIGNED`` that is not in a
``RUN`` contains one of these once case-folded (and NFKC-normalised, when the text is
not ASCII): text with none of them and no run is left alone without trying any."""
_MAYBE_SECRET = re.compile(any_of(_MAYBE_SECRET_LITERALS))
"""The literals as one pattern (a trie): one scan of the text instead of one per literal."""
_MAYBE_CARD = re.compile(r"\d(?:[ -]?\d){12}")
"""13 digits, single spaces or dashes between: what any card number in a digit run has."""
_CARD_MIN = 13
"""The shortest text ``_MAYBE_CARD`` can match."""
_NUMBERS = frozenset({int, float, bool})
_MAX_GROUPS = 40
_MAX_KEYS = 4096
MAX_READ = 1 << 20
"""Characters of one text the redactor reads at most. Redaction takes time linear in a
text's length, but a tool's argument or result an attacker writes can be long: a longer
text is not recorded (a note of its length says so) rather than read or cut, since a
secret that runs across a cut could keep a part outside the part redacted."""


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _maybe_secret(text: str) -> bool:
    folded = text.casefold()
    if not text.isascii():
        folded = unicodedata.normalize("NFKC", folded).casefold()
    if _MAYBE_SECRET.search(folded) is not None:
        return True
    # A run has no whitespace: without a 16-character word there is none (and split()
    # is much cheaper than trying the run pattern at every position).
    return len(text) >= 16 and any(len(word) >= 16 for word in text.split())


class Redactor:
    """Replaces secret-looking keys and values; truncates long strings; bounds nesting."""

    def __init__(
        self,
        *,
        max_length: int = 256,
        max_depth: int = 4,
        max_items: int = 50,
        max_read: int = MAX_READ,
    ) -> None:
        self.max_length = max_length
        self.max_read = max_read
        self.max_depth = max_depth
        self.max_items = max_items
        self._keys: dict[str, str] = {}
        """Mapping keys as redacted (argument names repeat from call to call)."""

    def arguments(self, args: Mapping[str, Any], fields: Iterable[str] = ()) -> dict[str, Any]:
        """Redacted copy of ``args``; ``fields`` (a tool's ``redact=``) are always hidden.

        A field may be a dotted path (``"payment.card"``) into nested mappings.
        """
        hidden = set(fields)
        nested = [f.split(".") for f in hidden if "." in f]
        out: dict[str, Any] = {}
        for key, value in args.items():
            name = str(key)
            out[self._key(name, out)] = REDACTED if key in hidden else self.value(value, key=name)
        for path in nested:
            _hide(out, path)
        return out

    def value(self, value: Any, *, key: str = "", depth: int = 0) -> Any:
        if key and secret_name(key):
            return REDACTED
        kind = type(value)
        if kind is str:  # the common cases first, by exact type (subclasses below)
            return self.text(value)
        if value is None or kind in _NUMBERS or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return self.text(value)
        if depth >= self.max_depth:
            return "[...]"
        fields = _fields_of(value)
        if fields is not None:  # a NamedTuple or dataclass: keep the field names
            value = fields
        if isinstance(value, Mapping):
            return self._mapping(value, depth)
        if isinstance(value, list | tuple) and len(value) == 2 and _secret_pair_name(value[0]):
            return [self.text(value[0]), REDACTED]  # ("Authorization", "...") header pairs
        if isinstance(value, list | tuple):  # maybe an argument vector: ["mysql", "-pX"]
            return [self.value(v, depth=depth + 1) for v in _argv(list(value)[: self.max_items])]
        if isinstance(value, set | frozenset):
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

    def _mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        # {"name": "DB_PASSWORD", "value": "..."}: an env var, header or tag as a record
        named = any(_secret_pair_name(value.get(k)) for k in _PAIR_NAMES if k in value)
        for k, v in list(value.items())[: self.max_items]:
            name = str(k)
            hidden = named and name in _PAIR_VALUES
            out[self._key(name, out)] = (
                REDACTED if hidden else self.value(v, key=name, depth=depth + 1)
            )
        return out

    def _key(self, name: str, taken: Mapping[str, Any]) -> str:
        """A mapping key, itself redacted (a token used as a key), kept apart from the others."""
        key = self._keys.get(name)
        if key is None:
            key = self.text(name)
            if len(self._keys) >= _MAX_KEYS:
                self._keys.clear()
            self._keys[name] = key
        if key not in taken:
            return key
        n = 2
        while f"{key}#{n}" in taken:
            n += 1
        return f"{key}#{n}"

    def text(self, text: str) -> str:
        if len(text) > self.max_read:
            return f"[{len(text)} chars not recorded: over the {self.max_read} redaction reads]"
        if _maybe_secret(text):
            for pattern in SECRET_VALUES:
                text = pattern.sub(REDACTED, text)
            text = _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
        if len(text) >= _CARD_MIN and _MAYBE_CARD.search(text) is not None:
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


_PAIR_NAMES = ("name", "key", "Name", "Key", "header", "field")
_PAIR_VALUES = ("value", "Value", "val", "values")


def _secret_pair_name(name: Any) -> bool:
    return type(name) is str and len(name) <= 80 and secret_name(name)


def _argv(items: list[Any]) -> list[Any]:
    """``items`` with the passwords of an argument vector redacted: a program's password
    options (``["sshpass", "-p", "X"]``) and ``["--db-password", "X"]`` flags."""
    if len(items) < 2 or not all(type(item) is str for item in items):
        return items
    program = program_of(items)
    if not program and not any(item[:1] == "-" for item in items):
        return items
    out = list(items)
    for index, offset in secret_parts(items[1:], program):
        out[index + 1] = out[index + 1][:offset] + REDACTED
    return out


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
