"""Policy behaviour that mutation testing (issue 16, `make mutate`) found no test pinning."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import pytest
from guardrail_mcp._common import JSONArgs

from guardrail import Guard, Policy, PolicyError, PolicyWarning
from guardrail.policy.regex import Regex, json_schema_pattern
from guardrail.testing import make_principal

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


REASONS = Policy.from_dict(
    {
        "rules": [
            {
                "id": "cap",
                "allow": ["t"],
                "args": {
                    "amount": {"max": "$principal.attributes.limit"},
                    "owner": {"eq": "$principal.attributes.team_id"},
                    "note": {"regex": "ok.*", "max_length": 10},
                },
            },
            {"id": "no", "deny": ["u"], "args": {"amount": {"min": 100}, "tag": {"ne": "x"}}},
            {"id": "all", "allow": ["u"]},
        ]
    }
)
ALICE = make_principal("alice", limit=50)
OK = {"amount": 10, "owner": None, "note": "ok"}


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        (
            "t",
            {**OK, "amount": 60},
            "only when argument 'amount' is <= $principal.attributes.limit",
        ),
        ("t", OK, "only when argument 'owner' equals $principal.attributes.team_id"),
        ("t", {**OK, "note": "no"}, "only when argument 'note' matches 'ok.*'"),
        ("t", {**OK, "note": "ok" * 6}, "only when argument 'note' has length <= 10"),
        ("t", {"owner": None, "note": "ok"}, "only when argument 'amount' is given"),
        ("t", {**OK, "amount": math.nan}, "only when argument 'amount' is a plain value (not NaN)"),
        ("u", {"amount": 150, "tag": "y"}, "rule 'no' denies 'u'"),
        (
            "u",
            {"tag": "y"},
            "rule 'no' denies 'u': it cannot tell whether argument 'amount' is given, "
            "and a deny rule applies when in doubt",
        ),
        (
            "u",
            {"amount": "150", "tag": "y"},
            "it cannot tell whether argument 'amount' is >= 100, and a deny rule applies",
        ),
    ],
)
def test_reasons_say_what_the_argument_must_be_never_its_value(
    tool: str, args: dict[str, Any], reason: str
) -> None:
    """A reference reads as written ($principal...), a literal as its repr; a missing or
    NaN argument says so; a deny rule in doubt says which constraint it could not check."""
    decision = REASONS.decide(tool, ALICE, args)
    assert not decision.allowed and reason in decision.reason, decision.reason


def test_a_missing_principal_attribute_never_equals_a_null_argument() -> None:
    """`eq: $principal.attributes.team_id` with no such attribute cannot hold, even for
    an argument that is null."""
    assert not REASONS.decide("t", ALICE, OK).allowed
    team = make_principal("alice", limit=50, team_id=None)
    assert REASONS.decide("t", team, OK).allowed


def test_a_declared_argument_left_out_is_not_given() -> None:
    """An MCP tool declaring `mode` called without it: an allow rule on `mode` does not
    hold (it says so) and a deny rule on `mode` does not apply; an argument the tool does
    not declare is unknown, so a deny rule on it applies."""
    guard = Guard(
        Policy.from_dict(
            {
                "rules": [
                    {"id": "modes", "allow": ["a"], "args": {"mode": {"eq": "x"}}},
                    {"id": "all", "allow": ["d"]},
                    {"id": "no-x", "deny": ["d"], "args": {"mode": {"eq": "x"}}},
                    {"id": "no-y", "deny": ["d"], "args": {"other": {"eq": "y"}}},
                ]
            }
        )
    )
    schema = {"type": "object", "properties": {"mode": {"type": "string"}}}

    async def remote(**arguments: Any) -> None:
        """A remote tool's local stand-in."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)  # `other` is not taken: the point
        guard.register(remote, name="a", binder=JSONArgs(schema))
        guard.register(remote, name="d", binder=JSONArgs(schema), replace=True)
    refused = guard.check("a", {}, ALICE)
    assert not refused.allowed and refused.reason.endswith("argument 'mode' is given")
    assert guard.check("a", {"mode": "x"}, ALICE).allowed
    in_doubt = guard.check("d", {}, ALICE)
    assert in_doubt.rule == "no-y" and "argument 'other' is given" in in_doubt.reason
    assert guard.check("d", {"mode": "x", "other": "z"}, ALICE).rule == "no-x"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(", "missing ): ("),
        ("a\\1", "invalid escape sequence: \\1"),
        ("(?=a)", "invalid perl operator: (?="),
        ("é(", "missing ): é("),
    ],
)
def test_a_bad_regex_is_refused_with_re2s_reason_as_text(pattern: str, reason: str) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.from_dict(
            {"rules": [{"id": "r", "allow": ["t"], "args": {"s": {"regex": pattern}}}]}
        )
    assert str(raised.value) == (
        f"rule 'r', field 'args.s.regex': invalid regular expression (RE2 syntax): {reason}"
    )


def test_a_regex_keeps_its_pattern() -> None:
    assert Regex("a.b").pattern == "a.b" and repr(Regex("a.b")) == "Regex('a.b')"
