"""A claim map given as {claim path: attribute name} fills the attribute *names*: a `when`
on such an attribute is not reported as never filled, and one on the claim path is."""

from __future__ import annotations

import warnings

from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy, PolicyWarning

KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"


def _findings(attribute: str, claims: ClaimMap) -> list[str]:
    policy = Policy.from_yaml(
        f"rules: [{{id: r, deny: [t], when: {{attributes: {{{attribute}: gold}}}}}}]",
        source="p.yaml",
    )
    authenticator = JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=claims,
    )
    guard = Guard(policy, authenticator=authenticator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


def test_a_mapped_claim_fills_the_attribute_it_is_mapped_to() -> None:
    claims = ClaimMap(attributes={"https://corp.example/tier": "tier"})
    assert _findings("tier", claims) == []
    (finding,) = _findings("https://corp.example/tier", claims)
    assert "(its claim map fills 'tier')" in finding


def test_a_listed_claim_fills_an_attribute_of_its_own_name() -> None:
    assert _findings("tier", ClaimMap(attributes=["tier"])) == []
    (finding,) = _findings("level", ClaimMap(attributes=["tier"]))
    assert "(its claim map fills 'tier')" in finding


def test_approvers_the_authenticator_can_never_fill_are_reported() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: r, approve: [t], approvers: {roles: [lead], attributes: {tier: gold}}}]",
        source="p.yaml",
    )
    authenticator = JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=ClaimMap(roles=(), attributes={"level": "level"}),
    )
    guard = Guard(policy, authenticator=authenticator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="t")
        def t(x: str) -> None:
            """A tool."""

    assert sorted(str(w.message) for w in caught if issubclass(w.category, PolicyWarning)) == [
        "p.yaml: rule 'r', approvers.attributes.tier, tool 't': the authenticator never fills "
        "attribute 'tier' (its claim map fills 'level'): nobody can approve",
        "p.yaml: rule 'r', approvers.roles, tool 't': the authenticator never fills roles: "
        "nobody can approve",
    ]
    (finding,) = [w.message.finding for w in caught if "roles" in str(w.message)]  # type: ignore[union-attr]
    assert (finding.kind, finding.id, finding.field, finding.tool) == (
        "rule",
        "r",
        "approvers.roles",
        "t",
    )


def test_a_registration_without_known_parameters_forgets_the_declared_ones() -> None:
    """Two guards on one policy: the later registration of `t`, whose parameters are not
    known, leaves the policy assuming nothing about them (an allow rule on `y` may hold)."""
    from guardrail.testing import make_principal
    from guardrail.tools import NamedArgBinder

    policy = Policy.from_yaml("rules: [{id: r, allow: [t], args: {y: {eq: 1}}}]")
    who = make_principal("p")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)
        Guard(policy).register(lambda x: x, name="t")
        assert policy.visible_tools(who, ["t"]) == []  # `t` takes no `y`
        Guard(policy).register(lambda **k: None, name="t", binder=NamedArgBinder([]))
    assert policy.visible_tools(who, ["t"]) == ["t"]
