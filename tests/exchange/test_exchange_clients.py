"""Client authentication, the Entra on-behalf-of dialect, actor tokens, declarative downstream."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from exchange_support import APP, CRM, IDP, POLICY, SECRET, Users, downstream_verifier, exchange_for
from support.jwks import SigningKey, mint, rsa_key
from support.token_service import TokenService

from guardrail import (
    ClientSecret,
    DelegationRefused,
    Guard,
    JWTAuthenticator,
    Policy,
    PrivateKeyJWT,
    TokenExchange,
    adownstream_token,
    downstream_token,
)
from guardrail.testing import capture_audit


def guard_with(exchange: TokenExchange, idp_url: str) -> Guard:
    return Guard(
        Policy.from_dict(POLICY),
        authenticator=JWTAuthenticator(IDP, APP, jwks_url=idp_url),
        token_exchange=exchange,
    )


def fetch(guard: Guard, users: Users, scopes: list[str] | None = None, audience: str = CRM) -> str:
    @guard.tool(name=f"fetch_{len(guard.tools)}")
    def fetch_token() -> str:
        return downstream_token(audience, scopes if scopes is not None else ["crm.read"])

    with guard.acting_as(users.token("alice")):
        return fetch_token()


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_secret(method: Any, service: TokenService, idp: Any, users: Users) -> None:
    """The secret goes in the Basic header or in the form, and the service accepts it."""
    client = ClientSecret(client_id="agent", secret=SECRET, method=method)
    guard = guard_with(exchange_for(service, client=client), idp.url)
    assert fetch(guard, users)
    sent = service.requests[-1]
    if method == "client_secret_basic":
        expected = base64.b64encode(f"agent:{SECRET}".encode()).decode()
        assert sent["authorization"] == f"Basic {expected}" and "client_secret" not in sent
    else:
        assert sent["client_secret"] == SECRET and sent["client_id"] == "agent"
        assert sent["authorization"] == ""


def test_wrong_secret_refused(service: TokenService, idp: Any, users: Users) -> None:
    """invalid_client: the agent itself is not trusted; said so, no token."""
    client = ClientSecret(client_id="agent", secret="wrong")
    guard = guard_with(exchange_for(service, client=client), idp.url)
    with pytest.raises(DelegationRefused) as caught:
        fetch(guard, users)
    assert caught.value.error == "invalid_client" and "administrator" in caught.value.reason


def test_private_key_jwt(service: TokenService, idp: Any, users: Users) -> None:
    """A signed client assertion (aud = token URL, one-use jti) authenticates the agent."""
    key = rsa_key("agent-key")
    service.add_client("signed-agent", key=key.public_key)
    client = PrivateKeyJWT(client_id="signed-agent", key=key.private_key, kid=key.kid)
    guard = guard_with(exchange_for(service, client=client), idp.url)
    token = fetch(guard, users)
    assertion = service.requests[-1]["client_assertion"]
    claims = jwt.decode(assertion, options={"verify_signature": False})
    assert claims["aud"] == service.token_url and claims["iss"] == claims["sub"] == "signed-agent"
    assert jwt.decode(token, options={"verify_signature": False})["act"] == {"sub": "signed-agent"}
    fetch(guard, users, scopes=[])  # a second assertion: a fresh jti, accepted again
    assert service.exchanges == 2


def test_private_key_jwt_with_another_key_refused(
    service: TokenService, idp: Any, users: Users
) -> None:
    """An assertion signed by a key the service does not know is refused."""
    service.add_client("signed-agent", key=rsa_key("registered").public_key)
    client = PrivateKeyJWT(client_id="signed-agent", key=rsa_key("stolen").private_key)
    guard = guard_with(exchange_for(service, client=client), idp.url)
    with pytest.raises(DelegationRefused, match="invalid_client"):
        fetch(guard, users)


def test_entra_on_behalf_of(service: TokenService, idp: Any, users: Users) -> None:
    """Entra dialect: jwt-bearer grant, requested_token_use=on_behalf_of, resource in the scope."""
    service.add_audience("api://crm", {"Orders.Read"})
    service.consent("alice", "api://crm", {"Orders.Read"})
    guard = guard_with(exchange_for(service, dialect="entra_obo"), idp.url)
    token = fetch(guard, users, scopes=["Orders.Read"], audience="api://crm")
    sent = service.requests[-1]
    assert sent["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert sent["requested_token_use"] == "on_behalf_of" and "assertion" in sent
    assert sent["scope"] == "api://crm/Orders.Read"
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "api://crm"


def test_entra_consent_error(service: TokenService, idp: Any, users: Users) -> None:
    """AADSTS65001 (no consent) becomes a consent-needed refusal naming the scope."""
    service.add_audience("api://crm", {"Orders.Read", "Orders.Write"})
    guard = guard_with(exchange_for(service, dialect="entra_obo"), idp.url)
    with pytest.raises(DelegationRefused) as caught:
        fetch(guard, users, scopes=["Orders.Write"], audience="api://crm")
    assert caught.value.reason.startswith("consent needed: alice has not granted scope(s) Orders")
    assert "AADSTS65001" in caught.value.reason


def test_actor_token(service: TokenService, idp: Any, idp_key: SigningKey, users: Users) -> None:
    """RFC 8693 actor_token: the minted token's act names the agent's own identity."""
    agent = mint(idp_key, issuer=IDP, audience=APP, subject="svc-agent")
    guard = guard_with(exchange_for(service, actor_token=lambda: agent), idp.url)
    token = fetch(guard, users)
    act = jwt.decode(token, options={"verify_signature": False})["act"]
    assert act == {"sub": "svc-agent", "client_id": "agent"}
    assert service.requests[-1]["actor_token"] == agent


def test_declarative_downstream(guard: Guard, users: Users, service: TokenService) -> None:
    """@guard.tool(downstream=...): exchanged before the body; the body reads it from the cache."""
    seen: list[str] = []

    @guard.tool(downstream={"audience": CRM, "scopes": ["crm.read"]})
    def lookup(customer: str) -> str:
        seen.append(customer)
        return downstream_token(CRM, ["crm.read"])

    with guard.acting_as(users.token("alice")):
        token = lookup("c-1")
    assert seen == ["c-1"] and service.exchanges == 1
    assert downstream_verifier(service, CRM).authenticate(token).subject == "alice"


async def test_declarative_refusal_never_runs_the_body(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """Without consent the body never runs, and the refusal is on the record."""
    seen: list[str] = []

    @guard.tool(downstream=[{"audience": CRM, "scopes": ["crm.read", "crm.write"]}])
    async def update(customer: str) -> str:
        seen.append(customer)
        return await adownstream_token(CRM, ["crm.read", "crm.write"])

    with capture_audit(guard) as events:
        async with guard.acting_as(users.token("alice")):
            with pytest.raises(DelegationRefused, match=r"consent needed.*crm.write"):
                await update("c-1")
    assert seen == []
    assert events[-1].decision == "denied" and "crm.write" in (events[-1].reason or "")
