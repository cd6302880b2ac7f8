"""downstream_token against a real token endpoint on 127.0.0.1: success, cache, refusals."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import jwt
import pytest
from exchange_support import BILLING, CRM, Clock, Users, downstream_verifier
from pydantic import SecretStr
from support.token_service import TokenService

import guardrail
from guardrail import (
    AuthenticationError,
    ConfigurationError,
    DelegationRefused,
    Guard,
    Principal,
    downstream_token,
)


def crm_tool(guard: Guard, scopes: list[str] | None = None, audience: str = CRM) -> Any:
    ran: list[str] = []

    @guard.tool(name=f"crm_{len(guard.tools)}")
    def lookup(customer: str) -> str:
        token = downstream_token(audience=audience, scopes=scopes or ["crm.read"])
        ran.append(customer)
        return token

    lookup.ran = ran  # type: ignore[attr-defined]
    return lookup


def test_exchanged_token_acts_for_the_user(
    guard: Guard, users: Users, service: TokenService, audit: list[Any]
) -> None:
    """The tool gets a token the CRM accepts as alice, acted for by the agent, and it is audited."""
    lookup = crm_tool(guard)
    with guard.acting_as(users.token("alice")):
        token = lookup("c-1")
    seen = downstream_verifier(service, CRM).authenticate(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert seen.subject == "alice" and seen.scopes == {"crm.read"}
    assert claims["act"] == {"sub": "agent"}
    form = service.requests[-1]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert form["resource"] == CRM and form["scope"] == "crm.read"
    assert form["subject_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    outcome = audit[-1]
    assert outcome.phase == "outcome" and outcome.decision == "allowed"
    assert outcome.delegations == [
        {
            "subject": "alice",
            "actor": "agent",
            "audience": CRM,
            "scopes": ["crm.read"],
            "token_id_sha256": hashlib.sha256(claims["jti"].encode()).hexdigest(),
        }
    ]
    dumped = json.dumps([e.model_dump(mode="json") for e in audit])
    assert token not in dumped and token.split(".")[2] not in dumped


def test_cache_per_user_audience_scopes_and_subject_token(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """Same user, audience and scopes: one exchange; any of them different: another."""
    read, write = crm_tool(guard), crm_tool(guard, ["crm.read", "crm.write"])
    service.consent("alice", CRM, {"crm.read", "crm.write"})
    alice = users.token("alice")
    with guard.acting_as(alice):
        first = {read("c-1") for _ in range(5)}
    assert len(first) == 1 and service.exchanges == 1
    with guard.acting_as(alice):
        assert read("c-2") in first  # another acting_as with the same token: cached
        write("c-3")
    assert service.exchanges == 2
    with guard.acting_as(users.token("bob")):
        assert read("c-4") not in first
    with guard.acting_as(users.token("alice", jti="second-login")):
        assert read("c-5") not in first  # a new subject token is a new key
    assert service.exchanges == 4


def test_scope_order_and_spelling_share_one_entry(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """A list, a tuple, a string, a set, a frozenset or a generator: the same scopes."""
    service.consent("alice", CRM, {"crm.read", "crm.write"})
    both = ["crm.read", "crm.write"]
    seen = []
    with guard.acting_as(users.token("alice")):
        for scopes in (both, ("crm.write", "crm.read"), "crm.write crm.read", set(both),
                       frozenset(both), (s for s in both), both):  # fmt: skip
            lookup = crm_tool(guard, scopes)  # type: ignore[arg-type]
            seen.append(lookup("c"))
    assert service.exchanges == 1 and len(set(seen)) == 1
    assert service.requests[0]["scope"] == "crm.read crm.write"


def test_expiry_and_refresh(
    guard: Guard, users: Users, service: TokenService, clock: Clock
) -> None:
    """A token is reused until shortly before it expires, then exchanged again."""
    service.lifetime = 40  # refreshed 10 s (a quarter of its life) before it expires
    lookup = crm_tool(guard)
    with guard.acting_as(users.token("alice")):
        first = lookup("c-1")
        clock.advance(29)
        assert lookup("c-2") == first
        clock.advance(2)
        second = lookup("c-3")
    assert second != first and service.exchanges == 2


def test_endpoint_down_refuses_without_fallback(
    guard: Guard, users: Users, service: TokenService, audit: list[Any]
) -> None:
    """Unreachable token service: DelegationRefused saying so; the body stops; audited as denied."""
    lookup = crm_tool(guard)
    service.stop()
    with guard.acting_as(users.token("alice")), pytest.raises(DelegationRefused) as caught:
        lookup("c-1")
    assert "unreachable" in caught.value.reason and caught.value.error == "unavailable"
    assert caught.value.audience == CRM
    assert lookup.ran == []
    outcome = audit[-1]
    assert (outcome.phase, outcome.decision, outcome.outcome) == (
        "outcome",
        "denied",
        "DelegationRefused",
    )
    assert "unreachable" in (outcome.reason or "")
    assert outcome.delegations is None


def test_endpoint_failing_refuses(guard: Guard, users: Users, service: TokenService) -> None:
    """A 503 from the token service is a refusal too, and it is not cached."""
    lookup = crm_tool(guard)
    service.fail(503)
    with guard.acting_as(users.token("alice")):
        with pytest.raises(DelegationRefused, match=r"failed \(HTTP 503\)"):
            lookup("c-1")
        service.fail(None)
        assert lookup("c-2")
    assert service.exchanges == 1


def test_scope_without_consent_is_refused_with_the_scope(
    guard: Guard, users: Users, service: TokenService, audit: list[Any]
) -> None:
    """No consent for crm.write: the refusal names the scope and says consent is needed."""
    lookup = crm_tool(guard, ["crm.read", "crm.write"])
    with guard.acting_as(users.token("alice")), pytest.raises(DelegationRefused) as caught:
        lookup("c-1")
    refusal = caught.value
    assert refusal.reason.startswith("consent needed: alice has not granted scope(s) crm.write")
    assert refusal.missing_scopes == {"crm.write"} and refusal.error == "consent_required"
    assert audit[-1].decision == "denied" and "crm.write" in (audit[-1].reason or "")


def test_token_with_fewer_scopes_is_refused(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """A token service that silently grants less than asked: refused, never used."""
    service.consent("alice", CRM, {"crm.read", "crm.write"})
    service.grant_fewer = {"crm.write"}
    lookup = crm_tool(guard, ["crm.read", "crm.write"])
    with guard.acting_as(users.token("alice")), pytest.raises(DelegationRefused) as caught:
        lookup("c-1")
    assert "consent needed" in caught.value.reason and caught.value.missing_scopes == {"crm.write"}
    assert lookup.ran == []


def test_unknown_audience_refused(guard: Guard, users: Users) -> None:
    """The token service will not issue for an audience it does not know (invalid_target)."""
    lookup = crm_tool(guard, audience="https://unknown.test.invalid/")
    with guard.acting_as(users.token("alice")), pytest.raises(DelegationRefused) as caught:
        lookup("c-1")
    assert caught.value.error == "invalid_target" and "will not issue" in caught.value.reason


def test_wrong_audience_refused_downstream(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """A CRM token presented to billing is refused by billing."""
    lookup = crm_tool(guard)
    with guard.acting_as(users.token("alice")):
        token = lookup("c-1")
    with pytest.raises(AuthenticationError, match="wrong audience"):
        downstream_verifier(service, BILLING).authenticate(token)
    assert downstream_verifier(service, CRM).authenticate(token).subject == "alice"


def test_expired_subject_token_refused(guard: Guard, users: Users, service: TokenService) -> None:
    """The token service checks the subject token itself (invalid_grant)."""
    # Verified while fresh, expired by the time it is exchanged.
    principal = users.principal("alice")
    who = principal.model_copy(update={"token": SecretStr(users.token("alice", lifetime=-120))})
    lookup = crm_tool(guard)
    with guard.acting_as(who), pytest.raises(DelegationRefused) as caught:
        lookup("c-1")
    assert caught.value.error == "invalid_grant" and "sign in again" in caught.value.reason


def test_principal_without_token_refused(guard: Guard) -> None:
    """A principal given without a verified token has nothing to exchange: refused."""
    lookup = crm_tool(guard)
    alice = Principal(subject="alice", roles=frozenset({"support"}))
    with guard.acting_as(alice), pytest.raises(DelegationRefused, match="no verified token"):
        lookup("c-1")


def test_outside_a_guarded_tool_is_a_configuration_error(users: Users, guard: Guard) -> None:
    """downstream_token() needs the guard's exchange: outside a tool it says so."""
    with guard.acting_as(users.token("alice")), pytest.raises(ConfigurationError):
        downstream_token(CRM, ["crm.read"])


def test_guard_without_exchange_refuses_declarative_tool() -> None:
    """@guard.tool(downstream=...) on a guard with no token_exchange fails at decoration."""
    guard = Guard(guardrail.Policy.from_dict({"rules": []}))
    with pytest.raises(ConfigurationError, match="token_exchange"):

        @guard.tool(downstream={"audience": CRM, "scopes": ["crm.read"]})
        def lookup() -> None: ...
