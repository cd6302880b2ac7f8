"""``name = value`` assignments in text, found in time linear in the text's length.

The pattern looks at every name position and reads what follows it (a lookahead, so
``note=password=x`` still finds ``password``). Read without a bound, each of those
reads could run to the end of the text (``a=a=a=...``): quadratic, and an attacker who
writes a tool's argument or result could stall every guarded call. So every read in the
pattern is bounded (:data:`SPAN` characters of a value, :data:`TYPE_SPAN` of a type
annotation), and only a match that is used (a secret's name, not inside an earlier
value) is completed past the bound here, with scans that never go back over text:

- an unquoted value longer than the bound runs on to its real end;
- a quoted value still open at the bound ends at its closing quote. With none (on the
  line, for ``"`` and ``'``; in the text, for a backtick), the pattern would have read
  on past the quote; the same position is then matched again by a pattern for which
  that kind of quoted value closes within the bound or does not match.

What the bounds change: a type annotation longer than :data:`TYPE_SPAN` is not one;
and a value open past the bound with a quote that never closes, then (within the 12
characters the separator may run on) a second, open past the bound, of another kind
that does close, is read as the unquoted value after the second quote.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from guardrail.audit._secrets import secret_name

Replacement = Callable[[re.Match[str]], str]

SPAN = 32
"""Characters of a value the pattern reads at a name position (the rest, when used, here)."""
TYPE_SPAN = 64
"""Characters of a type annotation (``password: Optional[str] = ...``) read at most."""

_BARE_CHAR = r"[^\s,;&\"'`<)}\]]"


_KINDS = (("dq", '"', r'[^"\n]'), ("sq", "'", r"[^'\n]"), ("bt", "`", r"[^`]"))
"""The quoted values: group name, quote, a character inside."""


# Built at import, not by a function: these are the data the matching runs on.
_VALUES = {
    group: (
        f"{quote}{run}(?:{inside}{{0,{SPAN}}}{quote}{run})",  # closes within the bound
        f"{quote}{run}(?:{inside}{{0,{SPAN}}}{quote}{run}"  # or is still open there
        f"|(?P<{group}>{inside}{{{SPAN}}})(?={inside}))",
    )
    for group, quote, inside in _KINDS
    for run in ["+" if quote != "`" else ""]  # "x" and ""x"", but `x` only
}
_BARE = f"(?P<bare>{_BARE_CHAR}{{1,{SPAN}}})"
_TYPE_ANNOTATION = rf"[A-Za-z_][\w.<>\[\]]{{0,{TYPE_SPAN - 1}}}+"
_HEAD = (
    r"(?<![\w$@.])(?<![\w$@.]-)([$@]?[^\W\d][\w.$-]{0,79})"
    r"(?=[\"'` \t:?.+=>A-Za-z_])"  # what a separator starts with: other lengths fail
    rf"(?=((?:[\"'`]?(?:[ \t]*(?::[ \t]*)?{_TYPE_ANNOTATION})?[ \t]*"
    r"(?::{1,3}=|\?=|\.=|\+=|=>|==?|:|>)|[\"'`][ \t]*,)[ \t\r\n\"'`=]{0,12}?)"
    r"((?i:(?:bearer|basic|digest|token|negotiate|ntlm|apikey)[ \t]+)?(?:"
)
_SOURCES = {
    open_ended: (
        _HEAD
        + "|".join(_VALUES[group][group in open_ended] for group, _, _ in _KINDS)
        + f"|{_BARE})))"
    )
    for open_ended in map(frozenset, itertools.chain.from_iterable(
        itertools.combinations(["dq", "sq", "bt"], n) for n in range(4)
    ))
}  # fmt: skip
"""The assignment pattern's source, by the kinds of quoted value (``dq``, ``sq``, ``bt``:
double, single, back quote) that match as far as they got when still open after
:data:`SPAN` characters; a value of another kind that does not close within the bound
does not match."""
_ALL_KINDS = frozenset(group for group, _, _ in _KINDS)
_GROUPS = {quote: group for group, quote, _ in _KINDS}
_PATTERN = re.compile(_SOURCES[_ALL_KINDS])
_BARE_REST = re.compile(f"{_BARE_CHAR}*")
_QUOTES = {'"': re.compile('"*'), "'": re.compile("'*")}


class _Ahead:
    """Where a character next occurs at or after a position, for positions that only
    grow: each answer is kept, so no stretch of text is searched twice."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: dict[str, tuple[int, int]] = {}
        """Per character: (searched from, found at or -1)."""

    def find(self, char: str, pos: int) -> int:
        start, at = self.found.get(char, (-1, -1))
        if start < 0 or 0 <= at < pos:  # not searched yet, or passed: search on from pos
            at = self.text.find(char, pos)
        elif pos < start:  # a little before the last search: only the gap is new
            nearer = self.text.find(char, pos, start)
            at = nearer if nearer >= 0 else at
        else:
            return at
        self.found[char] = (pos, at)
        return at


def _open(match: re.Match[str], ahead: _Ahead) -> tuple[str, int] | None:
    """The quote of ``match``'s value when it is still open at the bound, and where it
    closes (-1: never, on its line for ``"`` and ``'``, in the text for a backtick)."""
    found = match.groupdict()
    for group, quote, _ in _KINDS:
        if found.get(group) is not None:
            pos = match.end(group)
            close = ahead.find(quote, pos)
            if quote != "`" and 0 <= ahead.find("\n", pos) < close:
                close = -1
            return quote, close
    return None


def _settled(match: re.Match[str], ahead: _Ahead) -> tuple[re.Match[str], int] | None:
    """``match`` as the unbounded pattern would have found it (None: no match there),
    and where its open quoted value closes (-1 when its value is not one)."""
    if match.end(3) - match.start(3) < SPAN:  # no read reached its bound
        return match, -1
    kinds = _ALL_KINDS
    while (value := _open(match, ahead)) is not None:
        quote, close = value
        if close >= 0:
            return match, close
        # never closed: the unbounded pattern reads on past this quote, and so does the
        # pattern for which this kind of value closes within the bound or does not match
        kinds = kinds - {_GROUPS[quote]}
        again = re.compile(_SOURCES[kinds]).match(  # re caches it
            ahead.text, match.start()
        )
        if again is None:
            return None
        match = again
    return match, -1


def _value_end(match: re.Match[str], close: int, text: str) -> int:
    """Where the value of a used ``match`` ends (its quoted value closing at ``close``)."""
    if close >= 0:
        if text[close] == "`":
            return close + 1
        return _QUOTES[text[close]].match(text, close).end()  # type: ignore[union-attr]
    end = match.end("bare")
    if end >= 0 and end - match.start("bare") == SPAN:
        return _BARE_REST.match(text, end).end()  # type: ignore[union-attr]
    return match.end(3)


class Assignments:
    """``name = value`` in text (code, config, JSON, YAML, XML, headers, query strings)
    where ``name`` is a secret's name: the name stays, the value goes.

    ``sub(replace, text)`` calls ``replace(match)`` with group 1 the name and group 2
    what stands between it and the value, and puts the result in place of both and
    the value. Names are matched without consuming what follows, so in
    ``note=password=x`` the ``password`` assignment is still found.
    """

    pattern = _PATTERN

    def sub(self, replace: Replacement, text: str) -> str:
        out: list[str] = []
        done = 0
        ahead = _Ahead(text)
        for candidate in self.pattern.finditer(text):
            if candidate.start() < done:
                continue
            settled = _settled(candidate, ahead)
            if settled is None or not secret_name(settled[0].group(1)):
                continue
            match, close = settled
            out += (text[done : match.start()], replace(match))
            done = _value_end(match, close, text)
        return "".join(out) + text[done:] if out else text
