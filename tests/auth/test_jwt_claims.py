"""ClaimMap turns claims from common identity providers into Principal fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from guardrail import AuthenticationError, ClaimMap

Mint = Callable[..., str]

BASE = {"sub": "alice", "iss": "https://idp.test/", "exp": 2_000_000_000}


def _principal(claims: dict[str, Any], claim_map: ClaimMap | None = None) -> Any:
    return (claim_map or ClaimMap()).principal({**BASE, **claims}, "raw-token")


def test_scope_string_and_scp_list() -> None:
    """``scope`` is space-separated; ``scp`` may be a list or a string; both are merged."""
    assert _principal({"scope": "a b  c"}).scopes == {"a", "b", "c"}
    assert _principal({"scp": ["x", "y"]}).scopes == {"x", "y"}
    assert _principal({"scp": "x y"}).scopes == {"x", "y"}
    assert _principal({"scope": "a", "scp": ["b"]}).scopes == {"a", "b"}


def test_roles_from_roles_groups_and_keycloak_realm_access() -> None:
    """``roles``, ``groups`` and ``realm_access.roles`` all count as roles."""
    claims = {"roles": ["support"], "groups": ["staff"], "realm_access": {"roles": ["admin"]}}
    assert _principal(claims).roles == {"support", "staff", "admin"}


def test_custom_paths_including_dotted_claim_names() -> None:
    """Custom paths reach nested objects and Auth0-style namespaced claim names."""
    claim_map = ClaimMap(
        roles=["https://example.com/roles", "resource_access.support-agent.roles"],
        org=["tenant.id"],
        teams=["https://example.com/teams"],
    )
    claims = {
        "https://example.com/roles": ["refunder"],
        "resource_access": {"support-agent": {"roles": ["agent"]}},
        "tenant": {"id": "acme"},
        "https://example.com/teams": ["emea", "tier2", "emea"],
    }
    principal = _principal(claims, claim_map)
    assert principal.roles == {"refunder", "agent"}
    assert principal.org == "acme"
    assert principal.teams == ("emea", "tier2")


def test_default_org_and_teams() -> None:
    """``org`` (first found of org, org_id, tenant, tid) and ``teams``/``team``."""
    principal = _principal({"org_id": "acme", "team": "support"})
    assert principal.org == "acme"
    assert principal.teams == ("support",)


def test_attributes_from_mapping_or_list() -> None:
    """Listed claim paths become attributes, renamed when given as a mapping."""
    claims = {"email": "a@example.com", "ext": {"employment": "contractor"}}
    mapped = ClaimMap(attributes={"ext.employment": "employment", "missing": "nope"})
    assert _principal(claims, mapped).attributes == {"employment": "contractor"}
    listed = ClaimMap(attributes=["email"])
    assert _principal(claims, listed).attributes == {"email": "a@example.com"}


def test_junk_values_are_ignored() -> None:
    """Non-string list items and wrong types do not become roles or scopes."""
    principal = _principal({"roles": ["ok", 7, None, ""], "scope": 12, "org": 5})
    assert principal.roles == {"ok"}
    assert principal.scopes == frozenset()
    assert principal.org is None


def test_custom_subject_claim_must_be_a_string() -> None:
    """A ``subject`` path (Entra ``oid``) is used, and must be a non-empty string."""
    assert _principal({"oid": "u-1"}, ClaimMap(subject="oid")).subject == "u-1"
    with pytest.raises(AuthenticationError, match="'oid' claim must be a non-empty string"):
        _principal({"oid": 12}, ClaimMap(subject="oid"))


def test_principal_carries_secret_token_issuer_and_expiry() -> None:
    """The raw token is a SecretStr; issuer and expiry come from the claims."""
    principal = _principal({})
    assert principal.token is not None
    assert principal.token.get_secret_value() == "raw-token"
    assert "raw-token" not in repr(principal) and "raw-token" not in str(principal.model_dump())
    assert principal.issuer == "https://idp.test/"
    assert principal.expires_at == 2_000_000_000.0


def test_keycloak_token_end_to_end(auth: Any, token: Mint) -> None:
    """A Keycloak-shaped token maps through a real verification."""
    raw = token(
        subject="f3a1",
        scope="openid profile refunds",
        realm_access={"roles": ["support", "offline_access"]},
        groups=["/emea"],
        org="acme",
    )
    principal = auth.authenticate(raw)
    assert principal.roles == {"support", "offline_access", "/emea"}
    assert principal.scopes == {"openid", "profile", "refunds"}
    assert principal.org == "acme"


def test_single_path_given_as_string() -> None:
    """``roles="realm_access.roles"`` means one path, not one per character."""
    claim_map = ClaimMap(roles="realm_access.roles", org="tenant")
    principal = _principal({"realm_access": {"roles": ["a"]}, "tenant": "t"}, claim_map)
    assert principal.roles == {"a"}
    assert principal.org == "t"


def test_numeric_string_exp_still_sets_expiry() -> None:
    """PyJWT accepts ``"exp": "2000000000"``; the principal still knows when it expires."""
    assert _principal({"exp": "2000000000"}).expires_at == 2_000_000_000.0


def test_the_current_actor_of_a_delegated_token() -> None:
    """RFC 8693 4.1: the outermost ``act`` names the current actor; nested ones earlier."""
    chain = {"act": {"sub": "agent", "act": {"sub": "gateway"}}}
    assert _principal(chain).actor == "agent"
    assert _principal({}).actor is None


@pytest.mark.parametrize("act", [{"sub": ""}, {"sub": 7}, "agent", ["agent"], {"client": "x"}])
def test_an_act_claim_without_a_string_subject_names_no_actor(act: Any) -> None:
    assert _principal({"act": act}).actor is None


def test_the_actor_claim_path_can_be_changed_or_turned_off() -> None:
    claims = {"act": {"sub": "agent"}, "azp": "cli"}
    assert _principal(claims, ClaimMap(actor="azp")).actor == "cli"
    assert _principal(claims, ClaimMap(actor=None)).actor is None
