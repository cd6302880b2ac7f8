"""Policy regular expressions: one semantic, one linear-time engine.

A policy ``regex`` must match the **whole** value (full match), ``.`` matches
newlines too (DOTALL), and the pattern runs on RE2 (google-re2), whose time is
linear in the input: no pattern can stall the process (``(a+)+`` is as fast as
``a+``). RE2 has no backreferences or lookaround; such patterns are refused when
the policy loads. To deny values that merely *contain* something, say so:
``regex: '.*\\.\\..*'``.
"""

from __future__ import annotations

from typing import Any

import re2

SEMANTICS = "regex: full match of the whole value; '.' matches newlines; RE2 syntax (linear time)"


def _options() -> Any:
    options = re2.Options()
    options.dot_nl = True  # DOTALL: a newline cannot hide the rest of a value
    options.log_errors = False  # a bad pattern is reported as a PolicyError, not on stderr
    return options


_OPTIONS = _options()


class Regex:
    """A compiled policy pattern; ``fullmatch`` is the only question it answers."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            self._compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            raise ValueError(f"invalid regular expression (RE2 syntax): {reason}") from None

    def fullmatch(self, value: str) -> bool:
        return self._compiled.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def json_schema_pattern(pattern: str) -> str:
    """The ECMA-262 ``pattern`` that matches the same whole values (DOTALL spelt out).

    JSON schema patterns are unanchored and ``.`` stops at newlines there, so the
    pattern is anchored and each ``.`` outside a character class becomes ``[\\s\\S]``.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == ".":
            out.append(r"[\s\S]")
            continue
        out.append(char)
    return f"^(?:{''.join(out)})$"
