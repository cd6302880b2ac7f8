"""The policy is checked against the tools it governs: located warnings, errors when strict.

Each test is one finding of issue 16 that passed silently on c841f95.
"""

from __future__ import annotations

import re
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from guardrail import (
    ClaimMap,
    Guard,
    JWTAuthenticator,
    PermissionDenied,
    Policy,
    PolicyError,
    PolicyWarning,
)
from guardrail.cli import main
from guardrail.testing import make_principal

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"

# The README policy as it stood on c841f95: two rules that never work as written.
OLD_README_POLICY = """
rules:
  - id: support-refunds
    allow: ["refund", "lookup_*"]
    when: {roles: [support]}
    args:
      amount: {max: 100}
  - id: own-orders-only
    allow: ["get_order"]
    when: {roles: [customer]}
    args:
      customer_id: {eq: $principal.subject}
  - id: no-contractor-refunds
    deny: ["refund"]
    when: {attributes: {employment: contractor}}
limits:
  - {id: user-rate, per: user, calls: 60/minute}
  - {id: team-spend, per: team, cost: 500, period: day}
"""

APP = """
from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy

guard = Guard(
    Policy.from_file({policy!r}),
    authenticator=JWTAuthenticator(
        issuer="https://idp.example.com/", audience="support-agent", key={key!r},
        algorithms=["HS256"], {claims}
    ),
)

@guard.tool(cost=1)
def refund(order_id: str, amount: float) -> str:
    return f"refunded {{amount}} on {{order_id}}"

@guard.tool
def lookup_order(order_id: str) -> str:
    return f"order {{order_id}}"
"""


def _authenticator(claims: ClaimMap | None = None) -> JWTAuthenticator:
    return JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=claims,
    )


def _findings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


def test_an_attribute_the_claim_map_never_fills_is_reported() -> None:
    """The contractor rule with the default ClaimMap: a located warning naming the attribute."""
    guard = Guard(
        Policy.from_yaml(OLD_README_POLICY, source="policy.yaml"), authenticator=_authenticator()
    )
    with pytest.warns(PolicyWarning) as caught:

        @guard.tool
        def refund(order_id: str, amount: float) -> None: ...

    [message] = [m for m in _findings(caught.list) if "employment" in m]
    assert message.startswith(
        "policy.yaml: rule 'no-contractor-refunds', when.attributes.employment"
    )
    assert "never fills attribute 'employment'" in message
    mapped = Guard(
        Policy.from_yaml(OLD_README_POLICY),
        authenticator=_authenticator(ClaimMap(attributes={"employment": "employment"})),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @mapped.tool
        def refund2(order_id: str, amount: float) -> None: ...


def test_an_allow_rule_that_can_never_allow_a_tool_is_reported() -> None:
    """`lookup_*` under a rule constraining `amount`: the lookup can never be allowed; said so."""
    guard = Guard(Policy.from_yaml(OLD_README_POLICY))
    with pytest.warns(
        PolicyWarning, match="support-refunds.*args.amount.*never allows 'lookup_order'"
    ):

        @guard.tool
        def lookup_order(order_id: str) -> None: ...

    support = make_principal("s", roles=["support"])
    with guard.acting_as(support), pytest.raises(PermissionDenied):
        lookup_order("A-1")


def test_strict_guards_refuse_the_registration() -> None:
    """Guard(strict=True) turns findings into a PolicyError and does not register the tool."""
    policy = Policy.from_dict(
        {"rules": [{"id": "cap", "deny": ["refund"], "args": {"amout": {"min": 100}}}]}
    )
    guard = Guard(policy, strict=True)
    with pytest.raises(PolicyError, match=r"rule 'cap', args\.amout"):
        guard.register(lambda amount: None, name="refund")
    assert "refund" not in guard.tools


@pytest.mark.parametrize(
    ("constraint", "annotation", "field"),
    [
        ({"regex": "[0-9]+"}, int, "regex"),
        ({"max": 100}, str, "max"),
        ({"min": 1}, bool, "min"),
        ({"max_length": 3}, float, "max_length"),
        ({"eq": "5"}, int, "eq"),
        ({"in": [1, 2]}, str, "in"),
    ],
)
def test_operators_of_the_wrong_kind_are_reported(
    constraint: dict[str, Any], annotation: type, field: str
) -> None:
    """A regex on a number, max on a string, ... : the operator can never judge the argument."""
    guard = Guard(
        Policy.from_dict({"rules": [{"id": "r", "deny": ["t"], "args": {"x": constraint}}]})
    )

    def t(x: Any) -> None: ...

    t.__annotations__["x"] = annotation
    with pytest.warns(PolicyWarning, match=rf"rule 'r', args\.x\.{field}, tool 't'"):
        guard.register(t)


def test_limits_are_checked_too() -> None:
    """A limit per team with an authenticator that fills no teams, and a limit's `when`."""
    policy = Policy.from_dict(
        {
            "rules": [{"id": "all", "allow": ["*"]}],
            "limits": [
                {"id": "team-spend", "per": "team", "cost": 5, "period": "day"},
                {"id": "vip", "per": "user", "calls": 5, "when": {"attributes": {"tier": "vip"}}},
            ],
        }
    )
    guard = Guard(policy, authenticator=_authenticator(ClaimMap(teams=())))
    with pytest.warns(PolicyWarning) as caught:
        guard.register(lambda: None, name="t")
    found = "\n".join(_findings(caught.list))
    assert "limit 'team-spend', per" in found and "never fills teams" in found
    assert "limit 'vip', when.attributes.tier" in found


def _app(tmp_path: Path, name: str, policy: str, claims: str) -> str:
    (tmp_path / "policy.yaml").write_text(policy)
    source = APP.format(policy=str(tmp_path / "policy.yaml"), key=KEY, claims=claims)
    (tmp_path / f"{name}.py").write_text(source)
    return f"{name}:guard"


def test_policy_check_tools_prints_the_two_old_readme_traps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`policy check --tools` on the c841f95 README policy names both traps and exits 1."""
    monkeypatch.syspath_prepend(str(tmp_path))
    target = _app(tmp_path, "old_readme_app", OLD_README_POLICY, "")
    assert main(["policy", "check", str(tmp_path / "policy.yaml"), "--tools", target]) == 1
    out = capsys.readouterr().out
    assert "regex: full match" in out
    assert re.search(r"rule 'support-refunds', args.amount, tool 'lookup_order'", out)
    assert re.search(
        r"rule 'no-contractor-refunds', when.attributes.employment, tool 'refund'", out
    )
    assert "2 finding(s)" in out


def _readme_blocks() -> tuple[str, str]:
    text = README.read_text()
    python = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    policy = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)[0]
    return python, policy


def test_the_readme_policy_has_no_traps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README quickstart (ClaimMap, tools) and policy: `policy check` finds nothing."""
    python, policy = _readme_blocks()
    assert 'claims=ClaimMap(attributes={"employment": "employment"})' in python
    assert "def lookup_order(" in python
    monkeypatch.syspath_prepend(str(tmp_path))
    claims = 'claims=ClaimMap(attributes={"employment": "employment"}),'
    target = _app(tmp_path, "readme_app", policy, claims)
    assert main(["policy", "check", str(tmp_path / "policy.yaml"), "--tools", target]) == 0
    assert "no findings" in capsys.readouterr().out


def test_the_readme_policy_does_what_it_reads_as() -> None:
    """Support refunds up to 100 and looks up; customers see their own orders; contractors
    never refund (the attribute comes from the token through the README's ClaimMap)."""
    _, text = _readme_blocks()
    claims = ClaimMap(attributes={"employment": "employment"})
    contractor = claims.principal(
        {"sub": "c", "roles": ["support"], "employment": "contractor"}, token="t"
    )
    support = claims.principal({"sub": "s", "roles": ["support"]}, token="t")
    customer = claims.principal({"sub": "carol", "roles": ["customer"]}, token="t")
    policy = Policy.from_yaml(text)
    assert policy.decide("refund", support, {"order_id": "A", "amount": 100}).allowed
    assert not policy.decide("refund", support, {"order_id": "A", "amount": 101}).allowed
    assert policy.decide("lookup_order", support, {"order_id": "A"}).allowed
    assert not policy.decide("refund", contractor, {"order_id": "A", "amount": 1}).allowed
    assert policy.decide("get_order", customer, {"customer_id": "carol"}).allowed
    assert not policy.decide("get_order", customer, {"customer_id": "dave"}).allowed


def test_policy_explain_binds_arguments_like_the_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`explain --args '{"amount":"50"}' --tools app:guard` agrees with the guard (ALLOW)."""
    _, policy = _readme_blocks()
    monkeypatch.syspath_prepend(str(tmp_path))
    claims = 'claims=ClaimMap(attributes={"employment": "employment"}),'
    target = _app(tmp_path, "explain_app", policy, claims)
    base = ["policy", "explain", str(tmp_path / "policy.yaml"), "--tool", "refund"]
    who = ["--principal", '{"subject": "s", "roles": ["support"]}']
    args = ["--args", '{"order_id": "A", "amount": "50"}']
    assert main([*base, *who, *args, "--tools", target]) == 0
    assert capsys.readouterr().out.startswith("ALLOW")
    assert main([*base, *who, *args]) == 1  # as given, "50" is not a number: said so
    assert "--tools" in capsys.readouterr().out
    too_much = ["--args", '{"order_id": "A", "amount": "500"}']
    assert main([*base, *who, *too_much, "--tools", target]) == 1


def test_readme_shows_the_claim_map_next_to_the_contractor_rule() -> None:
    """The README explains where `attributes` come from, right by the rule that needs them."""
    text = textwrap.dedent(README.read_text())
    assert (
        "employment: contractor}}   # from the token's `employment` claim (ClaimMap above)" in text
    )
