"""Redaction applied before any sink sees an argument: secrets never leave the process.

What counts as a secret is in :mod:`guardrail.audit._secrets` (names, token shapes,
a randomness test); this module applies it to values of any shape: text, mapping
keys and values, lists, tuples, sets, named tuples, dataclasses, pydantic models.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from guardrail.audit._secrets import NAME_LITERALS, RUN, TOKEN, random_looking, secret_name

REDACTED = "[REDACTED]"
Replacement = Callable[[re.Match[str]], str]


class _Shape:
    """A secret pattern whose whole match goes (the ``re.Pattern.sub`` interface)."""

    def __init__(self, pattern: str, flags: int = 0, keep: int = 0) -> None:
        self.pattern = re.compile(pattern, flags)
        self.keep = keep
        """Leading groups kept (``postgres://user:`` of a URL, ``curl -u user:``)."""

    def sub(self, replacement: str, text: str) -> str:
        return self.pattern.sub(self._replace(replacement), text)

    def _replace(self, replacement: str) -> Replacement:
        def replace(match: re.Match[str]) -> str:
            kept = "".join(match.group(i) or "" for i in range(1, self.keep + 1))
            return kept + replacement if self.secret(match) else match.group()

        return replace

    def secret(self, match: re.Match[str]) -> bool:
        return True


class _BasicCredentials(_Shape):
    """``Basic <base64>``: a secret when it decodes to ``user:password``, not prose."""

    def secret(self, match: re.Match[str]) -> bool:
        try:
            return b":" in base64.b64decode(match.group(1), validate=True)
        except (binascii.Error, ValueError):
            return False


class _Runs:
    """Runs of token characters: a service's token shape or key-like randomness."""

    def sub(self, replacement: str, text: str) -> str:
        return RUN.sub(
            lambda m: replacement if TOKEN.search(m.group()) or random_looking(m.group())
            else m.group(),
            text,
        )  # fmt: skip


class _Assignments:
    """``name = value`` in text (code, config, JSON, YAML, XML, headers, query strings)
    where ``name`` is a secret's name: the name stays, the value goes.

    ``sub(replace, text)`` calls ``replace(match)`` with group 1 the name and group 2
    what stands between it and the value, and puts the result in place of both and
    the value. Names are matched without consuming what follows, so in
    ``note=password=x`` the ``password`` assignment is still found.
    """

    pattern = re.compile(
        r"(?<![\w$@.])(?<![\w$@.]-)([$@]?[^\W\d][\w.$-]{0,79})"
        r"(?=((?:[\"'`]?(?:[ \t]*:?[ \t]*[A-Za-z_][\w.<>\[\]]*)?[ \t]*"
        r"(?::{1,3}=|\?=|\.=|\+=|=>|==?|:|>)|[\"'`][ \t]*,)[ \t\r\n\"'`=]{0,12}?)"
        r"((?i:(?:bearer|basic|digest|token|negotiate|apikey)[ \t]+)?"
        r"(?:\"+[^\"\n]*\"+|'+[^'\n]*'+|`[^`]*`|[^\s,;&\"'`<)}\]]+)))"
    )

    def sub(self, replace: Replacement, text: str) -> str:
        out: list[str] = []
        done = 0
        for match in self.pattern.finditer(text):
            if match.start() < done or not secret_name(match.group(1)):
                continue
            out += (text[done : match.start()], replace(match))
            done = match.end(3)
        return "".join(out) + text[done:] if out else text


class _Flags:
    """``--password VALUE`` on a command line: a flag named like a secret, then its value
    after a space (``--password=VALUE`` is an assignment)."""

    pattern = re.compile(
        r"(?<![\w-])--?([A-Za-z][\w.-]{1,60})([ \t]+)(?!-)(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)"
    )

    def sub(self, replacement: str, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if not secret_name(match.group(1)):
                return match.group()
            return match.group()[: match.start(3) - match.start()] + replacement

        return self.pattern.sub(replace, text)


SECRET_VALUES = (
    _Shape(
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.DOTALL,
    ),
    _Shape(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"),  # JWT
    # URL credentials: the password runs to the *last* `@` of the URL, as URL parsers
    # read it (`postgres://u:p@ss@host`), and may hold `/ ? #` (unencoded, as people do).
    _Shape(
        r"(?i)\b([a-z][a-z0-9+.-]{1,30}://[^\s/:@?#\[\]]*:)[^\s@\"'<>]*(?:@[^\s@\"'<>]*)*?"
        r"(?=@[^\s@\"'<>]*(?![^\s\"'<>]))",
        keep=1,
    ),
    _Shape(r"(?i)\b(?:bearer|token|apikey)\s+[\w.~+/=-]{8,}"),
    _BasicCredentials(r"(?i)\bbasic\s+([A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])"),
    _Shape(r"(?is)(\bcurl\b.{0,300}?\s(?:-u|--user)(?:=|\s+))(?:'[^'\n]*'|\"[^\"\n]*\")", keep=1),
    _Shape(r"(?is)(\bcurl\b.{0,300}?\s(?:-u|--user)(?:=|\s+)[^\s\"':]*:)[^\s\"']+", keep=1),
    _Shape(r"\b\d{15,16}(?:\||%7C)[\w-]{20,}"),  # Facebook app token
    _Shape(
        r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/[\w+/]{20,}|"
        r"webhook\.office\.com/webhookb2/[^\s\"']+|discord(?:app)?\.com/api/webhooks/\d+/[\w-]+"
    ),
    _Flags(),
    _Runs(),
)
"""Applied in order to text; each has ``sub(REDACTED, text)``."""
_ASSIGNED = _Assignments()
_DIGIT_RUN = re.compile(r"(?<![\w.])\d+(?:[ -]\d+)*(?![\w.])")
"""Digit groups joined by single spaces or dashes; a card number is some of them."""
_GROUP = re.compile(r"\d+")
_MAYBE_SECRET_LITERALS = (
    *NAME_LITERALS, "eyj", "://", "-----begin", "bearer", "basic", "apikey", "curl",
    "hooks.slack", "webhook", "discord",
)  # fmt: skip
"""Every match of a ``SECRET_VALUES`` pattern or of ``_ASSIGNED`` that is not in a
``RUN`` contains one of these once case-folded (and NFKC-normalised, when the text is
not ASCII): text with none of them and no run is left alone without trying any."""
_MAYBE_SECRET = re.compile("|".join(map(re.escape, _MAYBE_SECRET_LITERALS)))
"""The literals as one pattern: one scan of the text instead of one per literal."""
_MAYBE_CARD = re.compile(r"\d(?:[ -]?\d){12}")
"""13 digits, single spaces or dashes between: what any card number in a digit run has."""
_CARD_MIN = 13
"""The shortest text ``_MAYBE_CARD`` can match."""
_NUMBERS = frozenset({int, float, bool})
_MAX_GROUPS = 40
_MAX_KEYS = 4096


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

    def __init__(self, *, max_length: int = 256, max_depth: int = 4, max_items: int = 50) -> None:
        self.max_length = max_length
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
