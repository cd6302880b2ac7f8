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
