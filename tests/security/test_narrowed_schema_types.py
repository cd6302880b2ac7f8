"""A narrowed schema keeps every type bound it was given: a later one never replaces an earlier."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from guardrail import Guard, Policy, PolicyWarning
from guardrail._schema_keywords import conjoin
from guardrail.testing import make_principal

WHO = make_principal("u", roles=["a"])


def _guard(allow: dict[str, Any], deny: dict[str, Any]) -> Guard:
    guard = Guard(
        Policy.from_dict(
            {
                "rules": [
                    {"id": "a", "allow": ["t"], "args": allow},
                    {"id": "d", "deny": ["t"], "args": deny},
                ]
            }
        )
    )

    def t(y=None):  # type: ignore[no-untyped-def]
        return y

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        guard.tool(name="t")(t)
    return guard


@pytest.mark.parametrize(
    ("allow", "deny"),
    [
        ({"y": {"regex": "a"}}, {"y": {"eq": 1}}),  # found by the hypothesis property
        ({"y": {"ne": "a"}}, {"y": {"eq": 1}}),
        ({"y": {"max": 5}}, {"y": {"regex": "b"}}),
        ({"y": {"in": ["a", 1]}}, {"y": {"min": 2}}),
    ],
)
def test_narrowed_schema_admits_only_allowed_calls(
    allow: dict[str, Any], deny: dict[str, Any]
) -> None:
    guard = _guard(allow, deny)
    shown = guard.narrowed_schema("t", {"type": "object", "properties": {"y": {}}}, WHO)
    if shown is None:
        return
    validator = Draft202012Validator(shown)
    for value in (0, 1, 3, 7, 1.5, "a", "b", "ab", True, None):
        if validator.is_valid({"y": value}):
            assert guard.check("t", {"y": value}, WHO).allowed, (value, shown)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("string", "integer", None),
        ("number", "integer", "integer"),
        ("integer", "number", "integer"),
        (["string", "number"], "integer", "integer"),
        (["string", "number"], ["string", "boolean"], "string"),
    ],
)
def test_type_keywords_intersect(first: Any, second: Any, expected: str | None) -> None:
    merged = conjoin({"type": first}, {"type": second})
    for value in ("a", 1, 1.5, True):
        fits_both = all(Draft202012Validator({"type": t}).is_valid(value) for t in (first, second))
        assert Draft202012Validator(merged).is_valid(value) == fits_both, (value, merged)
    if expected is not None:
        assert merged["type"] == expected
