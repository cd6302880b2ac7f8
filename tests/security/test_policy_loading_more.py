"""Policies that would quietly not do what they read as are refused when they load.

New members of issue 16's "policy semantics" class, found on main at 08b4769:
duplicate keys (the second ``max`` silently replaced the first), empty or null
operands and ``when`` values that match nothing, literals no value can ever be
compared with (NaN, ``!!binary`` bytes), constraints no value can meet
(``min: 10, max: 5``), misspelt or look-alike ``$principal`` references and
references inside lists (never resolved), and a ``$principal`` reference to an
attribute the authenticator never fills (a located finding when a tool registers).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy, PolicyError, PolicyWarning
from guardrail.testing import make_principal

GUARDRAIL = str(Path(sys.executable).with_name("guardrail"))


def rule_with(**fields: Any) -> dict[str, Any]:
    return {"id": "r", "deny": "refund", **fields}


def load_yaml(text: str) -> Policy:
    return Policy.from_yaml(textwrap.dedent(text))


# -- duplicate keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "rules:\n- id: r\n  deny: [refund]\n  deny: [lookup]\n",
        "rules:\n- id: r\n  deny: [refund]\n  args: {amount: {max: 5}, amount: {max: 500}}\n",
        "rules:\n- id: r\n  deny: [refund]\n  args: {amount: {min: 1000, min: 10000000}}\n",
        "rules:\n- id: r\n  allow: [refund]\n  when: {roles: [a], roles: [b]}\n",
        "limits:\n- {id: l, per: user, calls: 5, calls: 5000}\n",
    ],
)
def test_a_duplicate_yaml_key_is_an_error_not_last_one_wins(text: str) -> None:
    with pytest.raises(PolicyError, match="duplicate key"):
        load_yaml(text)


def test_a_duplicate_json_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(
        '{"rules": [{"id": "r", "deny": ["refund"], "args": {"amount": {"min": 1, "min": 9e9}}}]}'
    )
    with pytest.raises(PolicyError, match=r"policy\.json.*duplicate key 'min'"):
        Policy.from_file(path)


def test_a_yaml_merge_key_may_still_be_overridden() -> None:
    """``<<: *defaults`` followed by an override is how merges are meant: not a duplicate."""
    policy = load_yaml(
        """
        rules:
        - id: r
          deny: [refund]
          args: {amount: {<<: {min: 5}, max: 7}}
        """
    )
    assert policy.rules[0].args["amount"].operators() == {"min": 5, "max": 7}


# -- operands that say nothing --------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"max": None}, "no operand"),
        ({"min": None}, "no operand"),
        ({"regex": None}, "no operand"),
        ({"in": None}, "no operand"),
        ({"max": True}, "must be a number"),
        ({"min": False}, "must be a number"),
        ({"max_length": -1}, "never below 0"),
        ({"eq": float("nan")}, "plain data"),
        ({"in": [1, float("nan")]}, "plain data"),
        ({"ne": b"prod"}, "plain data"),
        ({"eq": {"a": [float("nan")]}}, "plain data"),
    ],
)
def test_a_constraint_that_could_never_hold_as_written_is_refused(
    constraint: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.from_dict({"rules": [rule_with(args={"amount": constraint})]})


@pytest.mark.parametrize(
    "text",
    [
        "rules:\n- id: r\n  deny: [deploy]\n  args: {env: {eq: !!binary cHJvZA==}}\n",
        "rules:\n- id: r\n  deny: [pay]\n  args: {amount: {in: [.nan, 5]}}\n",
        "rules:\n- id: r\n  deny: [pay]\n  args: {amount: {max: ~}}\n",
    ],
)
def test_the_same_in_yaml(text: str) -> None:
    with pytest.raises(PolicyError, match=r"field 'args\.(env|amount)"):
        load_yaml(text)


@pytest.mark.parametrize(
    "constraint",
    [
        {"in": []},
        {"min": 10, "max": 5},
        {"eq": 5, "ne": 5},
        {"in": [1, 2], "min": 3},
        {"in": [1, 2], "ne": 1, "max": 1},
        {"eq": 2000, "max": 1000},
    ],
)
def test_a_constraint_no_value_meets_is_reported_and_refused_under_strict(
    constraint: dict[str, Any], tmp_path: Path
) -> None:
    """The rule would never apply to a well-typed value: ``policy check`` says so (exit
    1) and ``Guard(strict=True)`` refuses the policy. By default it loads (existing
    policies may keep such rules, which fail closed)."""
    data = {"rules": [{"id": "all", "allow": "*"}, rule_with(args={"amount": constraint})]}
    with pytest.raises(PolicyError, match=r"rule 'r', args\.amount.*no value meets"):
        Guard(Policy.from_dict(data), strict=True)
    Guard(Policy.from_dict(data))
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    done = subprocess.run(
        [GUARDRAIL, "policy", "check", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "warning: " in done.stdout and "no value meets" in done.stdout


# -- when values that match nobody --------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        {"roles": ""},
        {"roles": ["support", ""]},
        {"teams": [""]},
        {"subjects": ""},
        {"org": ""},
        {"scopes": [""]},
        {"attributes": {}},
        {"attributes": {"employment": None}},
        {"attributes": {"employment": {}}},
        {"attributes": {"employment": [None]}},
        {"attributes": {"employment": float("nan")}},
        {"attributes": {"employment": ["contractor", {"x": 1}]}},
    ],
)
@pytest.mark.parametrize("where", ["rule", "limit"])
def test_a_when_value_that_matches_nobody_is_a_located_error(
    when: dict[str, Any], where: str
) -> None:
    if where == "rule":
        data = {"rules": [rule_with(when=when)]}
    else:
        data = {"limits": [{"id": "l", "per": "user", "calls": 5, "when": when}]}
    with pytest.raises(PolicyError, match=rf"{where} '(r|l)', field 'when"):
        Policy.from_dict(data)


def test_a_null_attribute_in_yaml_is_refused() -> None:
    """``employment: ~`` read as "has no employment attribute" but matched nobody."""
    with pytest.raises(PolicyError, match="matches nobody"):
        load_yaml("rules:\n- id: r\n  deny: [refund]\n  when: {attributes: {employment: ~}}\n")


# -- $principal references ------------------------------------------------------------


@pytest.mark.parametrize(
    "operand",
    [
        "$principal.subjet",
        "$principal.token",
        "$principal",
        "$principal.",
        "$principal.attributes",
        "$principal.attributes.",
        "$principal.roles.admin",
        "$Principal.subject",
        "$PRINCIPAL.subject",
        "principal.organisation",
    ],
)
def test_a_reference_naming_no_principal_field_is_refused(operand: str) -> None:
    with pytest.raises(PolicyError, match="principal"):
        Policy.from_dict({"rules": [rule_with(args={"customer": {"eq": operand}})]})


@pytest.mark.parametrize(
    "constraint",
    [
        {"in": ["$principal.subject", "admin"]},
        {"not_in": ["$principal.attributes.region"]},
        {"eq": ["$principal.subject"]},
        {"eq": {"owner": "$principal.subject"}},
        {"eq": {"$principal.subject": "owner"}},  # a key is never resolved either
        {"in": [{"$principal.org": 1}]},
    ],
)
def test_a_reference_inside_a_list_is_refused_because_it_is_never_resolved(
    constraint: dict[str, Any],
) -> None:
    with pytest.raises(PolicyError, match=r"not resolved|principal"):
        Policy.from_dict({"rules": [rule_with(args={"customer": constraint})]})


@pytest.mark.parametrize(
    "operand",
    ["$principal.subject", "$principal.org", "$principal.attributes.region", "principal.teams"],
)
def test_valid_references_still_load(operand: str) -> None:
    Policy.from_dict({"rules": [rule_with(args={"customer": {"eq": operand}})]})


def test_a_reference_to_an_attribute_the_claim_map_never_fills_is_a_finding() -> None:
    """The deny rule would deny every call (it can never tell); the allow rule never allows."""
    own = {"region": {"eq": "$principal.attributes.region"}}
    cap = {"total": {"max": "$principal.attributes.limt"}}  # misspelt: "limit"
    policy = Policy.from_dict(
        {
            "rules": [
                {"id": "own", "allow": "get_order", "args": own},
                {"id": "cap", "deny": "get_order", "args": cap},
            ]
        }
    )
    authenticator = JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="agent",
        jwks_url="https://idp.example.com/jwks.json",
        claims=ClaimMap(attributes={"region": "region", "limit": "limit"}),
    )
    guard = Guard(policy, authenticator=authenticator)
    with pytest.warns(PolicyWarning) as caught:

        @guard.tool
        def get_order(region: str, total: float) -> None: ...

    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "rule 'cap', args.total.max" in messages[0]
    assert "$principal.attributes.limt is never filled" in messages[0]


def test_yaml_1_1_spellings_stay_strings() -> None:
    """yes/on/off/y/n, sexagesimal, dates and 0b/underscore numbers are the text written."""
    policy = load_yaml(
        """
        rules:
        - id: r
          deny: [x]
          args:
            flag: {in: [yes, no, on, off, y, n, Y, N, Yes, OFF]}
            time: {in: [1:30, 2024-01-01, 2024-01-01T10:00:00Z, 0b101, 1_000]}
            num: {in: [0o17, 0x1F, 017]}
        """
    )
    args = policy.rules[0].args
    assert args["flag"].operators()["in"] == (
        "yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "OFF",
    )  # fmt: skip
    times = ("1:30", "2024-01-01", "2024-01-01T10:00:00Z", "0b101", "1_000")
    assert args["time"].operators()["in"] == times
    assert args["num"].operators()["in"] == (15, 31, 17)
    alice = make_principal("alice")
    for value in ("no", "off", "N"):
        assert not policy.decide("x", alice, {"flag": value, "time": "1:30", "num": 15}).allowed
    assert json.dumps(times)  # plain strings, not datetimes
