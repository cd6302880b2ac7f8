"""Exact refusals for tool names, listing of rules that combine `eq` or `in` with other
operators, and what several issuers together can fill."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from guardrail import (
    ClaimMap,
    ConfigurationError,
    Guard,
    JWTAuthenticator,
    MultiIssuerAuthenticator,
    Policy,
    PolicyWarning,
)
from guardrail.testing import make_principal

KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"


def test_a_tool_name_that_is_not_a_string_is_refused_saying_its_type() -> None:
    guard = Guard(Policy.from_dict({"rules": [{"id": "r", "allow": ["*"]}]}))
    with pytest.raises(ConfigurationError) as refused:
        guard.register(lambda: None, name=42)  # type: ignore[arg-type]
    assert str(refused.value) == "a tool name must be a string, not int"


def test_an_invalid_tool_name_is_refused_saying_what_is_allowed() -> None:
    guard = Guard(Policy.from_dict({"rules": [{"id": "r", "allow": ["*"]}]}))
    with pytest.raises(ConfigurationError) as refused:
        guard.register(lambda: None, name="crm delete")
    assert str(refused.value) == (
        "invalid tool name 'crm delete': use 1-128 ASCII letters, digits, "
        "'_', '-', '.' and '/' (MCP tool names; checked after NFKC normalisation)"
    )


@pytest.mark.parametrize(
    ("ops", "listed"),
    [
        ({"eq": 1, "min": 5}, False),
        ({"eq": 5, "min": 5}, True),
        ({"eq": "a", "max_length": 0}, False),
        ({"eq": "", "max_length": 0}, True),
        ({"eq": "ab", "regex": "a."}, True),
        ({"eq": "cd", "regex": "a."}, False),
        ({"in": ["cd", "ab"], "regex": "a."}, True),
        ({"in": ["cd", "ef"], "regex": "a."}, False),
        ({"eq": 3, "in": [1, 2]}, False),
        ({"eq": 2, "in": [1, 2]}, True),
    ],
)
def test_an_eq_or_in_rule_is_listed_iff_one_of_its_values_passes_the_rest(
    ops: dict[str, Any], listed: bool
) -> None:
    policy = Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": {"x": ops}}]})
    who = make_principal("p")
    assert (policy.visible_tools(who, ["t"]) == ["t"]) is listed
    values = [ops.get("eq"), *ops.get("in", [])]
    assert any(policy.decide("t", who, {"x": v}).allowed for v in values) is listed


def _jwt(issuer: str, claims: ClaimMap) -> JWTAuthenticator:
    return JWTAuthenticator(
        issuer=issuer, audience="a", key=KEY, algorithms=["HS256"], claims=claims
    )


def _findings(when: str, authenticator: Any) -> list[str]:
    guard = Guard(
        Policy.from_yaml(f"rules: [{{id: r, deny: [t], when: {when}}}]", source="p.yaml"),
        authenticator=authenticator,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


def test_several_issuers_fill_what_any_of_them_fills() -> None:
    both = MultiIssuerAuthenticator(
        [
            _jwt("https://a.example/", ClaimMap(roles=(), attributes={"tier": "tier"})),
            _jwt("https://b.example/", ClaimMap(attributes={"dept": "dept"})),
        ]
    )
    assert _findings("{roles: [admin]}", both) == []  # the second issuer fills roles
    assert _findings("{attributes: {tier: gold}}", both) == []
    assert _findings("{attributes: {dept: x}}", both) == []
    (finding,) = _findings("{attributes: {level: x}}", both)
    assert "(its claim map fills 'dept', 'tier')" in finding
    neither = MultiIssuerAuthenticator(
        [
            _jwt("https://a.example/", ClaimMap(roles=())),
            _jwt("https://b.example/", ClaimMap(roles=())),
        ]
    )
    (finding,) = _findings("{roles: [admin]}", neither)
    assert finding.endswith("the authenticator never fills roles: the deny rule never applies")
