"""Names that differ from a deny glob only by case do not slip past it (issue 16, tool names).

Found on main at 08b4769: with ``allow: "*"`` and ``deny: crm.delete*``, a tool
registered as ``CRM.delete`` or ``crm.Delete_all`` ran, was listed and
``guard.check`` allowed it. Globs that restrict (deny and approve rules,
limits) now ignore case; allow globs stay exact.
"""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import BudgetExceeded, Guard, PermissionDenied, Policy, PolicyWarning
from guardrail.testing import make_principal

ALICE = make_principal("alice")
NAMES = ["CRM.delete", "Crm.Delete", "crm.DELETE_all", "CRM.DELETE", "crm.deLete"]


def guard_with(*rules: dict[str, Any], limits: Any = ()) -> Guard:
    return Guard(Policy.from_dict({"rules": list(rules), "limits": list(limits)}))


CASES = [(deny, name) for deny in ("crm.delete*", "*delete*", "crm.[d]elete*") for name in NAMES]
CASES += [("crm.delete", name) for name in NAMES if name.lower() == "crm.delete"]


@pytest.mark.parametrize(("deny", "name"), CASES)
def test_a_deny_glob_stops_every_casing_of_a_name(deny: str, name: str) -> None:
    """check, visible and the call all refuse the tool whatever its letters' case."""
    guard = guard_with({"id": "all", "allow": "*"}, {"id": "no-delete", "deny": deny})
    ran: list[str] = []
    tool = guard.tool(name=name)(lambda: ran.append(name))
    assert not guard.check(name, {}, ALICE).allowed
    assert name not in guard.visible_tools(ALICE)
    with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="no-delete"):
        tool()
    assert ran == []


def test_an_approve_glob_holds_every_casing() -> None:
    guard = guard_with(
        {"id": "all", "allow": "*"},
        {"id": "ask", "approve": "refund*", "approvers": {"roles": ["lead"]}},
    )
    guard.tool(name="REFUND_big")(lambda: None)
    decision = guard.check("REFUND_big", {}, ALICE)
    assert not decision.allowed and decision.approval


def test_an_allow_glob_stays_exact() -> None:
    """Allowing ``crm.lookup*`` does not allow ``CRM.lookup`` (deny by default)."""
    guard = guard_with({"id": "lookups", "allow": "crm.lookup*"})
    guard.tool(name="crm.lookup")(lambda: None)
    guard.tool(name="CRM.lookup")(lambda: None)
    assert guard.check("crm.lookup", {}, ALICE).allowed
    assert not guard.check("CRM.lookup", {}, ALICE).allowed
    assert guard.visible_tools(ALICE) == ["crm.lookup"]


def test_a_limit_glob_counts_every_casing() -> None:
    guard = guard_with(
        {"id": "all", "allow": "*"},
        limits=[{"id": "refunds", "per": "user", "calls": 1, "tools": ["refund"]}],
    )
    lower = guard.tool(name="refund")(lambda: None)
    upper = guard.tool(name="Refund")(lambda: None)
    with guard.acting_as(ALICE):
        lower()
        with pytest.raises(BudgetExceeded, match="refunds"):
            upper()


def test_the_registration_check_sees_the_deny_rule_a_casing_meets() -> None:
    """The compile-time check covers the same tools the deny rule does."""
    guard = guard_with(
        {"id": "all", "allow": "*"},
        {"id": "big", "deny": "pay*", "args": {"amout": {"min": 1000}}},
    )
    with pytest.warns(PolicyWarning, match="amout"):
        guard.tool(name="PAY")(lambda amount: None)
