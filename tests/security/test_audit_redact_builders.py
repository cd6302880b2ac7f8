"""The builders the redactor's tables are made with, pinned directly: they run once, at
import, so a fault in them shows only as a pattern that finds too much or too little.
``any_of`` is the prefilter's trie (every literal found, nothing else); ``_Shape`` compiles
a pattern with its flags, keeps its leading groups and skips text without its needle."""

from __future__ import annotations

import os
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from guardrail.audit._secrets import any_of
from guardrail.audit._shapes import _Shape

EXAMPLES = int(os.environ.get("GUARDRAIL_EXAMPLES", "200"))
WORDS = st.text(alphabet="ab.*", min_size=1, max_size=4)


@settings(max_examples=EXAMPLES, deadline=None)
@given(words=st.frozensets(WORDS, min_size=1, max_size=6), text=st.text(alphabet="ab.*c"))
def test_any_of_finds_a_word_exactly_when_the_text_holds_one(
    words: frozenset[str], text: str
) -> None:
    pattern = re.compile(any_of(words))
    assert (pattern.search(text) is not None) == any(word in text for word in words)


def test_any_of_takes_a_tuple_and_builds_one_branch_per_first_character() -> None:
    assert any_of(("key", "kex", "pass", "pw")) == "(?:ke(?:x|y)|p(?:ass|w))"
    assert any_of(("token", "tok")) == "tok"  # `tok` finds wherever `token` would
    assert any_of(("a.b",)) == r"a\.b"


def test_a_shape_compiles_with_its_flags_and_keeps_its_leading_groups() -> None:
    shape = _Shape(r"^(user=)(\w+ )?\w+$", re.MULTILINE, keep=2)
    assert shape.sub("[R]", "x\nuser=bob pw") == "x\nuser=bob [R]"
    assert shape.sub("[R]", "x\nuser=pw") == "x\nuser=[R]"
    assert _Shape(r"(a)b").sub("[R]", "ab") == "[R]"  # keep=0: the whole match goes


def test_a_shape_searches_only_text_holding_its_needle() -> None:
    assert _Shape(r"\d+", needle=":").sub("[R]", "pin 1234") == "pin 1234"
    assert _Shape(r"\d+", needle=":").sub("[R]", "pin: 1234") == "pin: [R]"
    assert _Shape(r"\d+").sub("[R]", "pin 1234") == "pin [R]"
