"""Deny constraints fail closed: values the policy cannot judge never slip past a deny rule.

Each test is one finding of issue 16 that passed on c841f95.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from guardrail import (
    ArgumentError,
    ConfigurationError,
    Guard,
    PermissionDenied,
    Policy,
    PolicyError,
)
from guardrail.testing import make_principal

ALICE = make_principal("alice", roles=["support"])


def _policy(*rules: dict[str, Any]) -> Policy:
    return Policy.from_dict({"rules": list(rules)})


ALLOW_ALL = {"id": "all", "allow": ["*"]}


class Liar(str):
    """A str subclass that claims to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


@pytest.mark.parametrize("value", [math.nan, float("nan"), "NaN-as-text", None, [5000]])
def test_min_in_a_deny_rule_refuses_values_it_cannot_compare(value: Any) -> None:
    """`amount: {min: 1000}` in a deny rule denies NaN, strings, null and lists (it cannot tell)."""
    policy = _policy(
        ALLOW_ALL, {"id": "big", "deny": ["refund"], "args": {"amount": {"min": 1000}}}
    )
    decision = policy.decide("refund", ALICE, {"amount": value})
    assert not decision.allowed and decision.rule == "big"
    assert policy.decide("refund", ALICE, {"amount": 5}).allowed


def test_nan_never_reaches_a_guarded_tool_past_a_deny_rule() -> None:
    """A float tool called with NaN under a `min` deny rule does not run."""
    guard = Guard(
        _policy(ALLOW_ALL, {"id": "big", "deny": ["pay"], "args": {"amount": {"min": 1000}}})
    )
    ran: list[float] = []

    @guard.tool
    def pay(amount: float) -> None:
        ran.append(amount)

    with guard.acting_as(ALICE), pytest.raises((PermissionDenied, ArgumentError)):
        pay(float("nan"))
    with guard.acting_as(ALICE), pytest.raises((PermissionDenied, ArgumentError)):
        guard.call("pay", {"amount": float("nan")})
    assert ran == []


def test_a_list_does_not_escape_eq_on_an_untyped_tool() -> None:
    """`env: {eq: prod}` denies ["prod"] (and other containers) for an untyped tool."""
    guard = Guard(
        _policy(ALLOW_ALL, {"id": "no-prod", "deny": ["deploy"], "args": {"env": {"eq": "prod"}}})
    )
    ran: list[Any] = []

    @guard.tool
    def deploy(env):  # type: ignore[no-untyped-def]  # untyped on purpose
        ran.append(env)

    for sneaky in (["prod"], ("prod",), {"prod": 1}, {"env": "prod"}):
        with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="no-prod"):
            deploy(sneaky)
    with guard.acting_as(ALICE):
        deploy("dev")
    assert ran == ["dev"]


def test_a_lying_str_subclass_cannot_pass_eq_principal_subject() -> None:
    """`customer_id: {eq: $principal.subject}` compares characters, not the object's __eq__."""
    policy = _policy(
        {"id": "own", "allow": ["get_order"], "args": {"customer_id": {"eq": "$principal.subject"}}}
    )
    assert not policy.decide("get_order", ALICE, {"customer_id": Liar("dave")}).allowed
    assert policy.decide("get_order", ALICE, {"customer_id": Liar("alice")}).allowed
    guard = Guard(policy)

    @guard.tool
    def get_order(customer_id):  # type: ignore[no-untyped-def]
        return customer_id

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        get_order(Liar("dave"))


def test_a_lying_str_subclass_cannot_dodge_a_deny_in_list() -> None:
    """A deny `in` list is checked on the plain characters of a str subclass."""

    class Never(str):
        def __eq__(self, other: object) -> bool:
            return False

        __hash__ = str.__hash__

    policy = _policy(ALLOW_ALL, {"id": "cc", "deny": ["ship"], "args": {"country": {"in": ["RU"]}}})
    assert not policy.decide("ship", ALICE, {"country": Never("RU")}).allowed


def test_deny_regex_sees_past_a_newline() -> None:
    """Regexes run with DOTALL: `.*drop\\s+table.*` denies a statement on the second line."""
    policy = _policy(
        ALLOW_ALL,
        {"id": "no-drop", "deny": ["sql"], "args": {"query": {"regex": "(?i).*drop\\s+table.*"}}},
    )
    assert not policy.decide("sql", ALICE, {"query": "select 1;\nDROP TABLE users"}).allowed
    assert policy.decide("sql", ALICE, {"query": "select 1"}).allowed


def test_regex_is_a_documented_full_match() -> None:
    """`regex` is a full match: `\\.\\.` denies only "..", `.*\\.\\..*` any traversal."""
    exact = _policy(
        ALLOW_ALL, {"id": "dots", "deny": ["read"], "args": {"path": {"regex": "\\.\\."}}}
    )
    assert exact.decide("read", ALICE, {"path": "a/../b"}).allowed
    contains = _policy(
        ALLOW_ALL, {"id": "dots", "deny": ["read"], "args": {"path": {"regex": ".*\\.\\..*"}}}
    )
    assert not contains.decide("read", ALICE, {"path": "a/../b"}).allowed
    assert not contains.decide("read", ALICE, {"path": "a/..\n/b"}).allowed


def test_a_deny_rule_on_a_misspelt_argument_denies_instead_of_allowing() -> None:
    """A deny rule on `amout` (the tool takes `amount`) can never be checked: it denies."""
    guard = Guard(
        _policy(ALLOW_ALL, {"id": "cap", "deny": ["refund"], "args": {"amout": {"min": 100}}})
    )
    ran: list[float] = []
    with pytest.warns(UserWarning, match="amout"):

        @guard.tool
        def refund(amount: float) -> None:
            ran.append(amount)

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="cap"):
        refund(5000)
    assert ran == []


def test_kwargs_tools_do_not_escape_argument_constraints() -> None:
    """A `**kwargs` tool under a deny rule on `amount` never runs a call the rule covers."""
    guard = Guard(
        _policy(ALLOW_ALL, {"id": "cap", "deny": ["pay"], "args": {"amount": {"min": 100}}})
    )
    ran: list[Any] = []

    @guard.tool
    def pay(**kwargs: Any) -> None:
        ran.append(kwargs)

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="cap"):
        pay(amount=5000)
    assert ran == []


def test_a_principal_reference_the_caller_lacks_makes_a_deny_rule_apply() -> None:
    """`ne: $principal.attributes.region` denies when the caller has no region (cannot tell)."""
    policy = _policy(
        ALLOW_ALL,
        {
            "id": "home-region",
            "deny": ["move"],
            "args": {"region": {"ne": "$principal.attributes.region"}},
        },
    )
    assert not policy.decide("move", ALICE, {"region": "eu"}).allowed
    eu = make_principal("eve", region="eu")
    assert policy.decide("move", eu, {"region": "eu"}).allowed
    assert not policy.decide("move", eu, {"region": "us"}).allowed


@pytest.mark.parametrize("field", ["roles", "scopes", "teams", "subjects", "org"])
def test_an_empty_list_in_when_is_a_located_error(field: str) -> None:
    """`when: {roles: []}` would apply to everyone; it is refused, naming rule and field."""
    with pytest.raises(PolicyError, match=f"rule 'r'.*when.{field}.*empty"):
        _policy({"id": "r", "deny": ["*"], "when": {field: []}})
    with pytest.raises(PolicyError, match="empty"):
        _policy({"id": "r", "deny": ["*"], "when": {"attributes": {"tier": []}}})


def test_yaml_no_stays_a_country_code(tmp_path: Any) -> None:
    """YAML 1.2 scalars: `in: [NO, RU]` holds "NO", so Norway is denied."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n"
        "  - {id: all, allow: ['*']}\n"
        "  - id: sanctions\n"
        "    deny: [ship]\n"
        "    args: {country: {in: [NO, RU, on, yes, off]}}\n"
    )
    policy = Policy.from_file(path)
    for country in ("NO", "RU", "on", "yes", "off"):
        assert not policy.decide("ship", ALICE, {"country": country}).allowed, country
    assert policy.decide("ship", ALICE, {"country": "SE"}).allowed
    assert (
        Policy.from_yaml("rules: [{id: a, allow: [t], args: {x: {eq: true}}}]")
        .rules[0]
        .args["x"]
        .eq
        is True
    )


@pytest.mark.parametrize(
    ("registered", "deny_glob"),
    [
        ("crm\u2024delete", "crm.delete*"),  # one dot leader
        ("crm\uff0edelete", "crm.delete*"),  # fullwidth full stop
        ("\uff43rm.delete", "crm.delete*"),  # fullwidth c
    ],
)
def test_look_alike_tool_names_are_normalised_before_globs(registered: str, deny_glob: str) -> None:
    """NFKC look-alikes register under the plain name, so the deny glob covers them."""
    guard = Guard(
        _policy({"id": "crm", "allow": ["crm*"]}, {"id": "no-delete", "deny": [deny_glob]})
    )

    @guard.tool(name=registered)
    def delete() -> str:
        return "deleted"

    assert "crm.delete" in guard.tools
    with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="no-delete"):
        delete()
    assert not guard.check(registered, {}, ALICE).allowed
    assert guard.visible_tools(ALICE) == []


@pytest.mark.parametrize(
    "name", ["crm.\u200bdelete", "crm delete", "crm\u00e9", "", "x" * 129, "crm;delete", "a\nb"]
)
def test_tool_names_outside_the_mcp_alphabet_are_refused(name: str) -> None:
    """A zero-width space, spaces, non-ASCII letters, empty or 129 characters: refused."""
    guard = Guard(_policy({"id": "crm", "allow": ["crm*"]}))
    with pytest.raises(ConfigurationError, match="invalid tool name"):
        guard.register(lambda: None, name=name)
    assert not guard.check(name, {}, ALICE).allowed


def test_a_catastrophic_pattern_cannot_stall_the_process() -> None:
    """`(a+)+` against 'a'*40+'b' (exponential for backtracking engines) finishes: RE2.

    Run in a child process so a regression fails the test instead of hanging the suite; the
    bound is a liveness guard (backtracking needs hours here), not a timing assertion.
    """
    import subprocess
    import sys

    script = (
        "from guardrail import Policy, Principal\n"
        "who = Principal(subject='u')\n"
        "p = Policy.from_dict({'rules': [{'id': 'a', 'allow': ['t']},"
        " {'id': 'r', 'deny': ['t'], 'args': {'s': {'regex': '(a+)+'}}}]})\n"
        "print(p.decide('t', who, {'s': 'a' * 40 + 'b'}).allowed,"
        " p.decide('t', who, {'s': 'a' * 100_000}).allowed)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["True", "False"]  # no full match, then a full match: denied
