"""PolicyWarnings say exactly where (file, rule or limit, field, tool) and point at the
caller's registration line; principal references are judged at call time, not here."""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest

from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy, PolicyError, PolicyWarning
from guardrail.adapters import NamedArgBinder

KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"


def _authenticator(claims: ClaimMap | None = None) -> JWTAuthenticator:
    return JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=claims,
    )


def _register(yaml: str, authenticator: Any = None) -> list[warnings.WarningMessage]:
    guard = Guard(Policy.from_yaml(yaml, source="p.yaml"), authenticator=authenticator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str, n: int) -> None:
            """A typed tool."""

    return [w for w in caught if issubclass(w.category, PolicyWarning)]


def test_a_warning_points_at_the_registration_in_the_callers_file() -> None:
    (caught,) = _register("rules: [{id: r, allow: [t], args: {x: {min: 1}}}]")
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines add frames of their own
        assert caught.filename == __file__
    assert str(caught.message) == (
        "p.yaml: rule 'r', args.x.min, tool 't': min needs number/integer but argument 'x' "
        "is string: the rule never allows 't'"
    )
    assert caught.message.finding.field == "args.x.min"  # type: ignore[union-attr]


@pytest.mark.parametrize("op", ["eq", "ne", "in", "not_in"])
def test_a_principal_reference_in_a_comparison_is_not_judged_at_registration(op: str) -> None:
    """The referenced value's type is the principal's, known only when the call comes."""
    assert (
        _register(f"rules: [{{id: r, allow: [t], args: {{n: {{{op}: $principal.subject}}}}}}]")
        == []
    )


def test_a_principal_reference_as_a_bound_still_needs_a_number() -> None:
    (caught,) = _register(
        "rules: [{id: r, deny: [t], args: {x: {max: $principal.attributes.cap}}}]"
    )
    assert str(caught.message).endswith(
        "args.x.max, tool 't': max needs number/integer but argument 'x' is string: "
        "the rule denies every call to 't' it covers"
    )


def test_a_later_operator_is_judged_after_a_reference() -> None:
    (caught,) = _register(
        "rules: [{id: r, allow: [t], args: {n: {eq: $principal.subject, regex: 'a'}}}]"
    )
    assert "args.n.regex, tool 't': regex needs string but argument 'n' is integer" in str(
        caught.message
    )


@pytest.mark.parametrize(
    ("per", "fills"),
    [("org", "org"), ("team", "teams")],
)
def test_a_limit_per_org_or_team_names_what_the_authenticator_never_fills(
    per: str, fills: str
) -> None:
    yaml = f"limits: [{{id: l, per: {per}, calls: 5/minute}}]"
    (caught,) = _register(yaml, _authenticator(ClaimMap(org=None, teams=None)))
    assert str(caught.message) == (
        f"p.yaml: limit 'l', per, tool 't': counts per {per} but the authenticator "
        f"never fills {fills}"
    )


def test_an_attribute_warning_lists_what_the_claim_map_fills() -> None:
    yaml = "rules: [{id: r, deny: [t], when: {attributes: {tier: gold}}}]"
    (caught,) = _register(yaml, _authenticator(ClaimMap(attributes={"b": "b", "a": "a"})))
    assert str(caught.message).endswith(
        "when.attributes.tier, tool 't': the authenticator never fills attribute 'tier' "
        "(its claim map fills 'a', 'b'): the deny rule never applies"
    )
    (caught,) = _register(yaml, _authenticator())
    assert "(its claim map fills no attributes)" in str(caught.message)
    limit = "limits: [{id: l, per: user, calls: 5/minute, when: {attributes: {tier: gold}}}]"
    (caught,) = _register(limit, _authenticator())
    assert str(caught.message).startswith("p.yaml: limit 'l', when.attributes.tier, tool 't'")
    assert str(caught.message).endswith(": the limit never applies")


def test_a_policy_without_a_file_starts_its_findings_with_the_rule() -> None:
    guard = Guard(
        Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": {"y": {"eq": 1}}}]})
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """Takes no `y`."""

    (warning,) = [w for w in caught if issubclass(w.category, PolicyWarning)]
    assert str(warning.message).startswith("rule 'r', args.y, tool 't': constrains argument 'y'")


class _Opaque:
    """An argument type pydantic cannot describe as JSON schema."""


def test_a_tool_whose_types_cannot_be_described_is_judged_by_names_only() -> None:
    """Types unknown: no kind finding (regex on the int `n` is not judged), but an argument
    the tool does not take is still reported."""
    policy = Policy.from_dict(
        {
            "rules": [
                {"id": "r", "allow": ["t"], "args": {"n": {"regex": "a"}}},
                {"id": "d", "deny": ["t"], "args": {"missing": {"eq": 1}}},
            ]
        }
    )
    guard = Guard(policy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(thing: _Opaque, n: int) -> None:
            """Takes an opaque object."""

    found = [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]
    assert found == [
        "rule 'd', args.missing, tool 't': constrains argument 'missing', which the tool "
        "does not take: the rule denies every call to 't' it covers"
    ]


class _Named(NamedArgBinder):
    """A framework tool's binder that knows only its argument names (as LangChain's)."""

    def bind(self, args: tuple[Any, ...], kwargs: Any) -> dict[str, Any]:
        return dict(kwargs)


@pytest.mark.parametrize(
    ("names", "warned"),
    [(("a", "b"), True), (("a", "kwargs"), False), ((), False)],
)
def test_a_framework_tool_is_judged_by_the_names_it_declares(
    names: tuple[str, ...], warned: bool
) -> None:
    """Declared names: an argument outside them is not taken, unless the tool takes
    `**kwargs`; no names at all: nothing is assumed."""
    guard = Guard(
        Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "args": {"c": {"eq": 1}}}]})
    )

    async def framework_tool(**arguments: Any) -> None:
        """Stands in for the framework's tool."""

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guard.register(framework_tool, name="t", binder=_Named(names))
    found = [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]
    assert bool(found) is warned, found
    if warned:
        assert "constrains argument 'c', which the tool does not take" in found[0]


def test_strict_mode_refuses_with_every_finding_and_an_allow_rules_when() -> None:
    """Under strict, registration fails naming each finding, joined by '; '; an allow
    rule whose `when` can never hold reads "the rule never applies"."""
    yaml = "rules: [{id: r, allow: [t], when: {attributes: {tier: gold}}, args: {y: {eq: 1}}}]"
    guard = Guard(Policy.from_yaml(yaml), authenticator=_authenticator(), strict=True)
    with pytest.raises(PolicyError) as raised:

        @guard.tool(name="t")
        def t(x: str) -> None:
            """Takes no `y`."""

    assert str(raised.value) == (
        "rule 'r', args.y, tool 't': constrains argument 'y', which the tool does not take: "
        "the rule never allows 't'; rule 'r', when.attributes.tier, tool 't': the "
        "authenticator never fills attribute 'tier' (its claim map fills no attributes): "
        "the rule never applies"
    )
