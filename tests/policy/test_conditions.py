"""`when` conditions: every field is checked, all of them together, compiled or not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrail import Policy, Principal
from guardrail.conditions import Condition
from guardrail.testing import make_principal

FULL: dict[str, Any] = {
    "roles": ["support"],
    "scopes": ["crm:write", "crm:read"],
    "teams": ["payments"],
    "subjects": ["alice"],
    "org": ["acme"],
    "attributes": {"tier": "gold", "region": ["eu", "us"]},
}
FITS: dict[str, Any] = {
    "roles": ["support", "x"],
    "scopes": ["crm:write", "crm:read", "other"],
    "teams": ["payments", "ops"],
    "org": "acme",
}


def _principal(subject: str = "alice", **overrides: Any) -> Principal:
    fields = {**FITS, **overrides}
    attributes = fields.pop("attributes", {"tier": "gold", "region": "eu"})
    return make_principal(subject, **fields, **attributes)


def _allows(when: dict[str, Any], who: Principal | None) -> bool:
    policy = Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "when": when}]})
    compiled = policy.decide("t", who).allowed
    assert compiled == Condition.model_validate(when).matches(who)
    return compiled


def test_a_principal_meeting_every_field_passes() -> None:
    """All six fields hold: allowed (compiled and interpreted alike)."""
    assert _allows(FULL, _principal())
    assert not _allows(FULL, None)


@pytest.mark.parametrize(
    ("field", "miss"),
    [
        ("roles", {"roles": ["viewer"]}),
        ("roles", {"roles": []}),
        ("scopes", {"scopes": ["crm:read"]}),
        ("teams", {"teams": ["ops"]}),
        ("teams", {"teams": []}),
        ("org", {"org": "globex"}),
        ("org", {"org": None}),
        ("attributes", {"attributes": {"tier": "silver", "region": "eu"}}),
        ("attributes", {"attributes": {"tier": "gold", "region": "apac"}}),
        ("attributes", {"attributes": {"region": "eu"}}),
    ],
)
def test_each_field_alone_can_refuse(field: str, miss: dict[str, Any]) -> None:
    """A principal failing one field of a several-field `when` is refused, whichever field."""
    assert not _allows(FULL, _principal(**miss)), field
    assert not _allows({field: FULL[field]}, _principal(**miss)), field


def test_subjects_are_checked() -> None:
    """`subjects` names who: another logged-in user is refused."""
    assert not _allows(FULL, _principal("mallory"))
    assert not _allows({"subjects": ["alice"]}, _principal("mallory"))
    assert _allows({"subjects": ["alice", "bob"]}, _principal("bob"))


def test_empty_when_means_any_principal_and_anonymous_means_none() -> None:
    """No fields: any principal, never an anonymous call; `anonymous: true`: the reverse."""
    assert _allows({}, _principal()) and not _allows({}, None)
    assert _allows({"anonymous": True}, None) and not _allows({"anonymous": True}, _principal())


def test_a_deny_rules_principal_reference_is_resolved() -> None:
    """`ne: $principal.subject` compares with the caller's subject, not the literal text."""
    policy = Policy.from_dict(
        {
            "rules": [
                {"id": "all", "allow": ["get"]},
                {"id": "own", "deny": ["get"], "args": {"who": {"ne": "$principal.subject"}}},
            ]
        }
    )
    alice = make_principal("alice")
    assert policy.decide("get", alice, {"who": "alice"}).allowed
    assert not policy.decide("get", alice, {"who": "bob"}).allowed
    assert not policy.decide("get", alice, {"who": "$principal.subject"}).allowed


names = st.sampled_from(["a", "b", "c"])
conditions = st.fixed_dictionaries(
    {},
    optional={
        "roles": st.lists(names, min_size=1, max_size=2),
        "scopes": st.lists(names, min_size=1, max_size=2),
        "teams": st.lists(names, min_size=1, max_size=2),
        "subjects": st.lists(names, min_size=1, max_size=2),
        "org": st.lists(names, min_size=1, max_size=2),
        "attributes": st.dictionaries(
            names, names | st.lists(names, min_size=1, max_size=2), min_size=1, max_size=2
        ),
    },
)
principals = st.builds(
    lambda s, r, sc, t, o, a: make_principal(s, roles=r, scopes=sc, teams=t, org=o, **a),
    names,
    st.lists(names, max_size=2),
    st.lists(names, max_size=2),
    st.lists(names, max_size=2),
    st.none() | names,
    st.dictionaries(names, names | st.lists(names, max_size=2), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(when=conditions, who=principals)
def test_compiled_conditions_agree_with_matches(when: dict[str, Any], who: Principal) -> None:
    """The compiled test the evaluator uses gives the answers Condition.matches gives."""
    condition = Condition.model_validate(when)
    assert condition.compile()(who) == condition.matches(who)
    assert condition.compile()(None) == condition.matches(None)
