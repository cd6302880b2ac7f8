"""@guard.tool(downstream=...): a refused exchange is a refusal, like the policy's own.

The tokens a tool declares are fetched by a pipeline step before the audit intent:
when the token service refuses, the call leaves one refusal record (no intent, no
outcome), its span says denied, the budget it held is given back, and the reason
is one the model can relay.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from exchange_support import APP, CRM, IDP, Users, downstream_verifier, exchange_for
from opentelemetry.trace import StatusCode
from support.jwks import JWKSServer, SigningKey
from support.token_service import TokenService

from guardrail import DelegationRefused, Guard, JWTAuthenticator, Policy, downstream_token
from guardrail.testing import MemorySink, recording_tracer

POLICY = {
    "rules": [{"id": "support", "allow": ["*"], "when": {"roles": ["support"]}}],
    "limits": [{"id": "once", "per": "user", "tools": ["update"], "calls": "1/minute"}],
}
NEEDS = {"audience": CRM, "scopes": ["crm.read", "crm.write"]}


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_refused_exchange_is_one_refusal_record(
    idp: JWKSServer, idp_key: SigningKey, service: TokenService, mode: str
) -> None:
    provider, spans = recording_tracer()
    sink = MemorySink()
    guard = Guard(
        Policy.from_dict(POLICY),
        authenticator=JWTAuthenticator(IDP, APP, jwks_url=idp.url),
        token_exchange=exchange_for(service),
        tracer_provider=provider,
        audit=[sink],
    )
    seen: list[str] = []
    if mode == "sync":

        @guard.tool(downstream=NEEDS)
        def update(customer: str) -> str:
            seen.append(customer)
            return downstream_token(CRM, ["crm.read", "crm.write"])

        def call() -> Any:
            return update("c-1")
    else:

        @guard.tool(downstream=[NEEDS])
        async def update(customer: str) -> str:  # type: ignore[misc]
            seen.append(customer)
            return downstream_token(CRM, ["crm.write", "crm.read"])

        def call() -> Any:
            return asyncio.run(update("c-1"))

    users = Users(idp_key, guard)
    with guard.acting_as(users.token("alice")):
        with pytest.raises(DelegationRefused) as caught:
            call()
        refusal = caught.value
        assert refusal.reason.startswith("consent needed: alice has not granted scope(s) crm.write")
        assert refusal.tool == "update" and refusal.missing_scopes == {"crm.write"}
        assert seen == []
        [record] = sink.events
        assert (record.phase, record.decision, record.tool) == ("refusal", "denied", "update")
        assert record.reason == refusal.reason and record.delegations is None
        [span] = spans.get_finished_spans()
        assert span.name == "execute_tool update"
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["guardrail.decision"] == "denied"
        assert span.attributes["error.type"] == "DelegationRefused"

        # Consent given: the same user's next call runs (the refused call's slot of
        # the 1/minute limit was given back), exchanging once: the body hits the cache.
        service.consent("alice", CRM, {"crm.read", "crm.write"})
        before = service.exchanges
        token = call()
    assert seen == ["c-1"] and service.exchanges == before + 1
    intent, outcome = sink.events[1:]
    assert (intent.phase, outcome.phase, outcome.decision) == ("intent", "outcome", "allowed")
    assert intent.delegations == outcome.delegations
    assert outcome.delegations is not None and len(outcome.delegations) == 1
    assert outcome.delegations[0]["audience"] == CRM
    assert {"crm.read", "crm.write"} <= downstream_verifier(service, CRM).authenticate(token).scopes


def test_refused_exchange_through_guard_run(
    guard: Guard, users: Users, service: TokenService, audit: list[Any]
) -> None:
    """An adapter's tool registered with downstream= is refused the same way."""
    guard.register(lambda customer: customer, name="sync_crm", downstream=NEEDS)
    with guard.acting_as(users.token("bob")):
        refused = guard.run("sync_crm", {"customer": "c-2"}, denied=lambda r: r)
    assert isinstance(refused, DelegationRefused) and "crm.write" in refused.reason
    assert [(e.phase, e.decision) for e in audit] == [("refusal", "denied")]
    assert service.exchanges == 0
