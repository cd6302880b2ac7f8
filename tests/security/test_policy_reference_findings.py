"""A ``$principal`` reference in an argument constraint that the authenticator can
never fill is a located finding when a tool registers: the allow rule using it
never allows, a deny rule using it denies every call it covers (it can never
tell). A reference to a field the claim map does fill is no finding, and nothing
is assumed when the authenticator's fields are not known."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy, PolicyWarning

KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"


def _authenticator(**claims: Any) -> JWTAuthenticator:
    return JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=ClaimMap(**claims),
    )


def _findings(operand: str, authenticator: Any, *, kind: str = "allow") -> list[str]:
    rule = {"id": "r", kind: ["t"], "args": {"x": {"eq": operand}}}
    guard = Guard(Policy.from_dict({"rules": [rule]}), authenticator=authenticator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


FILLS_LIMIT = {"attributes": {"lim": "limit", "dept": "dept"}}


@pytest.mark.parametrize(
    ("operand", "fills"),
    [
        ("$principal.attributes.limt", "'dept', 'limit'"),
        ("$principal.attributes.limt.cap", "'dept', 'limit'"),  # the attribute is the first part
        ("principal.attributes.region", "'dept', 'limit'"),
    ],
)
def test_an_attribute_the_claim_map_never_fills(operand: str, fills: str) -> None:
    expected = (
        f"rule 'r', args.x.eq, tool 't': {operand} is never filled: the authenticator's "
        f"claim map fills {fills}: the rule never allows 't'"
    )
    assert _findings(operand, _authenticator(**FILLS_LIMIT)) == [expected]


def test_a_deny_rule_on_an_unfilled_attribute_denies_every_call() -> None:
    (finding,) = _findings("$principal.attributes.limt", _authenticator(), kind="deny")
    assert finding == (
        "rule 'r', args.x.eq, tool 't': $principal.attributes.limt is never filled: the "
        "authenticator's claim map fills no attributes: the rule denies every call to 't' it covers"
    )


@pytest.mark.parametrize(
    "operand",
    [
        "$principal.attributes.limit",
        "$principal.attributes.limit.cap",  # a path inside a filled attribute
        "$principal.attributes.dept",
        "$principal.subject",
        "$principal.issuer",
    ],
)
def test_a_filled_field_is_no_finding(operand: str) -> None:
    assert _findings(operand, _authenticator(**FILLS_LIMIT)) == []


@pytest.mark.parametrize("field", ["teams", "org", "roles", "scopes"])
def test_a_list_field_the_claim_map_never_fills(field: str) -> None:
    operand = f"$principal.{field}"
    expected = (
        f"rule 'r', args.x.eq, tool 't': {operand} is never filled: the authenticator "
        f"never fills {field}: the rule never allows 't'"
    )
    assert _findings(operand, _authenticator(**{field: ()})) == [expected]
    assert _findings(operand, _authenticator()) == []  # the defaults fill each of them
    others = {name: () for name in ("teams", "org", "roles", "scopes") if name != field}
    assert _findings(operand, _authenticator(**others)) == []


@pytest.mark.parametrize(
    "operand", ["$principal.attributes.anything", "$principal.teams", "attributes.limt"]
)
def test_nothing_is_assumed_without_known_fields(operand: str) -> None:
    """No authenticator (principals given directly): any field may be filled. A plain
    string that merely looks like a path is a literal, not a reference."""
    assert _findings(operand, None) == []
    assert _findings("attributes.limt", _authenticator(teams=())) == []


def test_the_finding_names_the_policy_file() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: r, allow: [t], args: {x: {eq: $principal.attributes.limt}}}]",
        source="policy.yaml",
    )
    guard = Guard(policy, authenticator=_authenticator(**FILLS_LIMIT))
    with pytest.warns(PolicyWarning) as caught:

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    (finding,) = [str(w.message) for w in caught]
    assert finding.startswith("policy.yaml: rule 'r', args.x.eq, tool 't': ")
