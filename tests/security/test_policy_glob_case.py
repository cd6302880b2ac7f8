"""Case in tool globs, as enforced: deny globs written with capitals still stop the
lower-case name; allow globs and names are exact (a capitalised allow rule allows
exactly that name). And a tool is listed only when some call could be allowed."""

from __future__ import annotations

import pytest

from guardrail import Policy, PolicyError
from guardrail.testing import make_principal

WHO = make_principal("p", size=-1)


def test_a_deny_glob_with_capitals_stops_the_lower_case_name() -> None:
    policy = Policy.from_yaml(
        "rules: [{id: a, allow: ['crm.*']}, {id: d, deny: ['CRM.Delete*', 'CRM.Drop_All']}]"
    )
    for name in ("crm.delete_user", "crm.drop_all"):
        decision = policy.decide(name, WHO, {})
        assert (decision.allowed, decision.rule) == (False, "d")
    assert policy.decide("crm.lookup", WHO, {}).allowed


def test_allow_rules_with_capitals_are_exact() -> None:
    policy = Policy.from_yaml("rules: [{id: a, allow: ['CRM.*', Lookup_Order]}]")
    assert policy.decide("CRM.find", WHO, {}).allowed
    assert policy.decide("Lookup_Order", WHO, {}).allowed
    assert not policy.decide("crm.find", WHO, {}).allowed
    assert not policy.decide("lookup_order", WHO, {}).allowed


def test_a_length_bound_below_zero_from_the_principal_hides_the_tool() -> None:
    """`max_length: -1` holds for no value: no call is allowed, so the tool is not listed."""
    policy = Policy.from_yaml(
        "rules: [{id: a, allow: [t], args: {x: {max_length: $principal.attributes.size}}}]"
    )
    assert policy.visible_tools(WHO, ["t"]) == []
    assert not any(policy.decide("t", WHO, {"x": v}).allowed for v in ["", "a", [], {}])
    assert policy.visible_tools(make_principal("q", size=3), ["t"]) == ["t"]


def test_a_glob_with_characters_no_name_has_is_refused_saying_which_are_allowed() -> None:
    with pytest.raises(PolicyError) as refused:
        Policy.from_yaml("rules: [{id: a, allow: ['crm delete']}]")
    assert str(refused.value).endswith(
        "tool glob 'crm delete' has characters no tool name can have (names use ASCII letters, "
        "digits, '_', '-', '.', '/'; globs add * ? [ ] !)"
    )
