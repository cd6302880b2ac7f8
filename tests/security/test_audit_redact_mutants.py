"""Behaviour of the redactor that mutation testing found unpinned: card numbers by Luhn and
length, dotted ``redact=`` paths, the shapes kept for named tuples and dataclasses, and
the entropy measure the randomness test uses."""

from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from guardrail.audit._secrets import entropy
from guardrail.audit.redact import REDACTED, Redactor

R = Redactor(max_length=10_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4222222222222", REDACTED),  # 13 digits, Visa
        ("378282246310005", REDACTED),  # 15, Amex (doubled digits above 4)
        ("6011111111111117", REDACTED),  # 16, Discover
        ("5500005555555559", REDACTED),
        ("4111111111111111110", REDACTED),  # 19 digits, Luhn-valid
        ("4111 1111 1111 1111 4111 1111 1111 1111", f"{REDACTED} {REDACTED}"),
        ("1 4111 1111 1111 1111", f"1 {REDACTED}"),
        ("411111111111", "411111111111"),  # 12 digits: too short
        ("41111111111111111113", "41111111111111111113"),  # 20 digits: too long
        ("4111111111111112", "4111111111111112"),  # Luhn fails
        ("79927398713", "79927398713"),  # Luhn-valid but 11 digits
    ],
)
def test_card_numbers_by_luhn_and_length(text: str, expected: str) -> None:
    """13 to 19 digits passing Luhn are cut; shorter, longer or failing runs stay."""
    assert R.text(text) == expected


def test_dotted_redact_paths_go_three_levels_and_skip_non_mappings() -> None:
    """``a.b.c`` hides that leaf only; a path through a non-mapping changes nothing."""
    args = {"a": {"b": {"c": "x", "d": "y"}, "e": "z"}, "s": "text"}
    out = R.arguments(args, ["a.b.c", "s.t", "a.missing.c", "a.e.f"])
    assert out == {"a": {"b": {"c": REDACTED, "d": "y"}, "e": "z"}, "s": "text"}


def test_named_tuples_and_dataclasses_keep_their_field_names() -> None:
    """Their fields become a mapping; a dataclass *class* is not an instance."""
    point = namedtuple("point", "x y")

    @dataclass
    class Card:
        holder: str
        password: str

    assert R.value(point(1, "a")) == {"x": 1, "y": "a"}
    assert R.value(Card("A", "hunter2")) == {"holder": "A", "password": REDACTED}
    assert R.value((1, "a")) == [1, "a"]
    assert isinstance(R.value(Card), str)


def test_entropy_is_shannon_bits_per_character() -> None:
    """log2 of the alphabet for a uniform string; 0 for one repeated character."""
    assert entropy("aaaa") == 0
    assert entropy("ab") == 1
    assert math.isclose(entropy("abcd" * 4), 2)
    assert math.isclose(entropy("aab"), -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3)))


def test_depth_items_and_default_length_bounds() -> None:
    """Lists count towards depth like mappings; the default cut is at 256 characters."""
    assert R.value([[[["x"]]]]) == [[[["x"]]]]
    assert R.value([[[[["x"]]]]]) == [[[["[...]"]]]]
    assert Redactor().text("x" * 300).endswith("...[44 more chars]")


def test_redacted_keys_are_numbered_apart() -> None:
    """Three secret keys: three entries, the 2nd and 3rd numbered."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    out = R.value({f"{jwt}A": 1, f"{jwt}B": 2, f"{jwt}C": 3})
    assert out == {REDACTED: 1, f"{REDACTED}#2": 2, f"{REDACTED}#3": 3}
    again = Redactor()
    assert again.arguments({f"{jwt}A": 1}) == again.arguments({f"{jwt}A": 1}) == {REDACTED: 1}


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("aB3dE6gH9jK2mN5p", True),  # 16 characters of key material
        ("aB3dE6gH9jK2mN5", False),  # 15: too short to judge
        ("aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF==", True),  # base64 padding
        ("abcdefghijabcdefghijabcdefghijabcdefghij", False),  # 40 letters, one case
        ("aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkL12", True),  # 40, the AWS shape
        ("Ab1" + "c" * 30, False),  # low entropy
    ],
)
def test_randomness_boundaries(text: str, redacted: bool) -> None:
    """Length, padding, the AWS shape and entropy decide, at their edges."""
    assert (R.text(f"v {text} w") != f"v {text} w") is redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # 20 distinct characters: class switches must reach 0.4 per character (8 of 20)
        ("abcABC23deDEfgFGhiHJ", True),  # 8 switches, 2 digits
        ("abcABC234defDEghFGij", False),  # 7 switches
        # without 2 digits, switches must reach 0.5 per character (10 of 20)
        ("abCDefGHijKMnpQRstUv", True),  # 10 switches, no digit
        ("abCDefGHijKMnpQRS2TU", False),  # 9 switches, 1 digit
        ("abCDefGHijKMnpQRS23T", True),  # 9 switches, 2 digits
        # entropy must reach 3.5 bits per character
        ("aBaBcDcD23eFgHiJ", True),  # exactly 3.5
        ("aBaBcDcD23eFgHiB", False),  # 3.33
        # names of things stay: hex (one case), ULIDs, typed object ids, short parts
        ("0123456789abcdef0123456789abcdef", False),
        ("aBcDeF0123456789aBcD", True),  # mixed-case is not a hex digest
        ("01ARZ3NDEKTSV4RRFFQ69G5FAV", False),
        ("ch_3MmlLrLkdIwHu7ix0snN0B15", False),
        ("aB3dE6gH9j.K2mN5pQ8s", False),  # no part of 16
        ("aB3dE6gH9j.K2mN5pQ8sT1vW4yZ", True),  # a part of 16
    ],
)
def test_randomness_thresholds_at_their_edges(text: str, redacted: bool) -> None:
    """Each threshold of the randomness test decides on its own, at its exact edge."""
    assert (R.text(f"v {text} w") != f"v {text} w") is redacted


def test_a_deep_redact_path_through_text_or_a_list_changes_nothing() -> None:
    args = {"a": {"e": "z", "l": ["x", {"k": "v"}]}, "s": "text"}
    out = R.arguments(args, ["a.e.f.g", "s.t.u", "a.l.k.v"])
    assert out == args


def test_twenty_digits_are_no_card_even_when_they_pass_luhn() -> None:
    assert R.text("id 12345678901234567894 ok") == "id 12345678901234567894 ok"


@pytest.mark.parametrize(
    "key",
    [
        "A+B/C~D=E+F/G~H=I+J/K~L+M/",  # upper case and symbols alternate
        "1+2/3~4=5+6/7~8=9+0/1~2+",  # digits and symbols alternate
    ],
)
def test_random_looking_counts_every_change_of_character_class(key: str) -> None:
    """Upper case, lower case, digits and symbols are four classes: a run that changes
    between any two of them at every character reads as key material."""
    assert R.text(f"key {key} here") == f"key {REDACTED} here"


def test_padding_is_not_key_material() -> None:
    """A run is measured without its trailing `=`: 15 characters and padding are too short."""
    assert R.text("aB3dE5gH7jK9mN1==") == "aB3dE5gH7jK9mN1=="
    assert R.text("aB3dE5gH7jK9mN1q==") == REDACTED
    assert R.text("aB3dE5gH7jK9mN1X") == REDACTED  # only `=` is padding


def test_none_and_numbers_pass_through_unchanged() -> None:
    assert R.value(None) is None
    assert R.arguments({"note": None, "ok": True, "n": 3, "x": 1.5}) == {
        "note": None,
        "ok": True,
        "n": 3,
        "x": 1.5,
    }


class Tag(str):
    """A str subclass (enums and typed ids are): redacted like a str, kept as text."""


def test_a_str_subclass_is_redacted_like_a_str() -> None:
    assert R.value(Tag("token=abc123")) == "token=[REDACTED]"
    assert R.value(Tag("plain")) == "plain"


class Event(BaseModel):
    at: datetime
    note: str


class Box(BaseModel):
    inner: dict[str, Any]


def test_a_model_is_recorded_as_its_json_fields_at_its_own_depth() -> None:
    """Pydantic models: their JSON form (an ISO time, not a datetime repr), nested no deeper
    than the bound counts from where the model sits."""
    event = Event(at=datetime(2026, 1, 1, tzinfo=UTC), note="token=abc")
    assert R.value(event) == {"at": "2026-01-01T00:00:00Z", "note": "token=[REDACTED]"}
    assert Redactor(max_depth=2).value([Box(inner={"a": {"b": 1}})]) == [{"inner": "[...]"}]


def test_sets_are_redacted_item_by_item_within_the_depth_bound() -> None:
    assert R.value({"token=abc"}) == ["token=[REDACTED]"]
    assert Redactor(max_depth=1).value({frozenset({"a"})}) == ["[...]"]
    assert Redactor(max_depth=2).value({frozenset({"a"})}) == [["a"]]


class Opaque:
    """Neither a mapping, a sequence, a dataclass nor a model: recorded by its repr."""

    def __repr__(self) -> str:
        return "Opaque(token=abc123, size=3)"


def test_any_other_object_is_recorded_as_its_redacted_repr() -> None:
    assert R.value(Opaque()) == "Opaque(token=[REDACTED], size=3)"


def test_a_fullwidth_secret_name_is_found_by_its_normalised_form() -> None:
    """Short non-ASCII text is checked for secret names after NFKC (fullwidth `pwd`)."""
    name = "\uff50\uff57\uff44"  # fullwidth p, w, d
    assert R.text(f"{name}=hunter2") == f"{name}=[REDACTED]"


def test_text_of_exactly_max_length_is_kept_whole() -> None:
    assert Redactor(max_length=5).text("abcde") == "abcde"
    assert Redactor(max_length=5).text("abcdef") == "abcde...[1 more chars]"
