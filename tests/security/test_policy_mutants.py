"""Policy behaviour that mutation testing (issue 16, `make mutate`) found no test pinning."""

from __future__ import annotations

import re
import warnings
from typing import Any

import pytest
from guardrail_mcp._common import JSONArgs

from guardrail import Guard, Policy, PolicyError, PolicyWarning
from guardrail.policy.regex import Regex, json_schema_pattern

ONE_OF_EACH: dict[str, Any] = {
    "roles": ["support"],
    "scopes": ["crm:read"],
    "teams": ["payments"],
    "subjects": ["alice"],
    "org": ["acme"],
    "attributes": {"tier": "gold"},
}


@pytest.mark.parametrize("field", sorted(ONE_OF_EACH))
def test_anonymous_with_any_single_principal_field_is_refused(field: str) -> None:
    """`anonymous: true` plus any one principal field reads as two contradicting intents."""
    when = {"anonymous": True, field: ONE_OF_EACH[field]}
    with pytest.raises(PolicyError, match="cannot be combined"):
        Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "when": when}]})


PATTERNS = [
    "a.c",  # `.` outside a class: any character, newline included
    r"a\.c",  # escaped: a literal dot, left alone
    r"\\.",  # an escaped backslash, then an unescaped `.`
    "[.]x",  # `.` inside a class: a literal dot
    r"[\].]y",  # an escaped `]` does not end the class
    "[a].",  # the class ended: `.` is any character again
    "[ab.]x",  # a longer class: its `.` is still literal
    "[^.]z",
    "x|y",  # alternatives: both anchored
    ".*secret.*",
]
VALUES = [
    "abc", "a.c", "a\nc", "ac", ".x", "\nx", "ax", "]y", ".y", "\ny", "x", "y", "xy", "yz",
    "zx", "\\a", "\\\n", "a\n", "aa", "my\nsecret\n", "secret", "a.cd", ".z", "\nz", "bz",
]  # fmt: skip


@pytest.mark.parametrize("pattern", PATTERNS)
def test_listing_pattern_admits_exactly_what_the_policy_regex_matches(pattern: str) -> None:
    """A narrowed tool schema's `pattern` (ECMA: unanchored, `.` stops at newlines) admits
    the same whole values as the policy's full-match DOTALL regex."""
    listed = json_schema_pattern(pattern)
    for value in VALUES:
        policy_says = Regex(pattern).fullmatch(value)
        assert (re.search(listed, value) is not None) == policy_says, (pattern, value)


def _mcp_findings(schema: dict[str, Any], args: dict[str, Any]) -> list[str]:
    """PolicyWarnings from registering an MCP-listed tool (its binder carries the input schema)."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": args}]}))

    async def listed(**arguments: Any) -> None:
        """A remote tool's local stand-in."""

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        guard.register(listed, name="t", binder=JSONArgs(schema))
    return [str(w.message) for w in seen if issubclass(w.category, PolicyWarning)]


NOT_TAKEN = "constrains argument 'amount', which the tool does not take"


@pytest.mark.parametrize(
    ("extra", "warned"),
    [(None, True), (False, True), (True, False), ({}, False), ({"type": "number"}, False)],
)
def test_mcp_schema_additional_properties_decide_whether_an_argument_is_taken(
    extra: Any, warned: bool
) -> None:
    """An argument the input schema does not list is not taken, unless the schema admits
    additional properties (`true` or a schema for them)."""
    schema: dict[str, Any] = {"type": "object", "properties": {"x": {"type": "string"}}}
    if extra is not None:
        schema["additionalProperties"] = extra
    found = _mcp_findings(schema, {"amount": {"max": 5}})
    assert any(NOT_TAKEN in f for f in found) is warned, found


def test_mcp_schema_without_properties_assumes_nothing() -> None:
    """No `properties` object: the tool's parameters are unknown, so nothing is reported."""
    assert _mcp_findings({"type": "object"}, {"amount": {"max": 5}}) == []
    assert _mcp_findings({"type": "object", "properties": []}, {"amount": {"max": 5}}) == []


@pytest.mark.parametrize(
    ("prop", "op", "types"),
    [
        ({"type": "string"}, {"max": 5}, "string"),
        ({"type": ["string", "null"]}, {"max": 5}, "string/null"),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, {"regex": "a"}, "integer/null"),
        ({"oneOf": [{"type": "string"}, {"type": ["string", "null"]}]}, {"min": 1}, "string/null"),
    ],
)
def test_mcp_schema_types_are_read_from_type_lists_and_branches(
    prop: dict[str, Any], op: dict[str, Any], types: str
) -> None:
    """The JSON types an MCP property admits come from `type` (one or a list) or from every
    `anyOf`/`oneOf` branch, each named once; an operator that cannot apply is reported."""
    found = _mcp_findings({"type": "object", "properties": {"amount": prop}}, {"amount": op})
    assert len(found) == 1, found
    assert f"argument 'amount' is {types}: the rule never allows 't'" in found[0]


@pytest.mark.parametrize(
    "prop",
    [
        {},
        {"type": ["string", 1]},
        {"anyOf": []},
        {"anyOf": [{"type": "string"}, {}]},
        {"oneOf": [{"type": "string"}, "junk"]},
        "junk",
    ],
)
def test_mcp_schema_types_not_stated_are_not_guessed(prop: Any) -> None:
    """A property whose types the schema leaves open (or garbles) is not judged."""
    found = _mcp_findings(
        {"type": "object", "properties": {"amount": prop}}, {"amount": {"max": 5}}
    )
    assert found == []
