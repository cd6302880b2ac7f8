"""`guardrail audit stats` and `audit report` count the approvals of a real approval story
per tool: requests, grants, denials, refused attempts and uses, from the chain log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from support.approvals import make_guard

from guardrail import ApprovalError, ApprovalRequired, JWTAuthenticator
from guardrail.cli import main

Token = Callable[..., str]


def story(tmp_path: Path, authenticator: JWTAuthenticator, token: Token) -> Path:
    """Two refunds held; one granted and used, one refused to a non-approver then denied."""
    chain = tmp_path / "audit.jsonl"
    guard = make_guard(str(tmp_path / "approvals.db"), authenticator, chain)

    @guard.tool
    def refund(order: str, amount: float) -> str:
        """Refund an order."""
        return "refunded"

    alice, bob = token("alice", "agent"), token("bob", "finance-lead")
    held: list[str] = []
    with guard.acting_as(alice):
        for order, amount in (("A-1", 500.0), ("A-2", 700.0), ("A-1", 500.0)):
            with pytest.raises(ApprovalRequired) as exc:
                refund(order, amount)
            held.append(str(exc.value.request_id))
        refund("A-3", 20.0)  # allowed outright: no approval record
    assert held[0] == held[2]  # asking again is the same request
    guard.approvals.approve(held[0], token=bob)
    with pytest.raises(ApprovalError):
        guard.approvals.approve(held[1], token=token("carol", "agent"))
    guard.approvals.deny(held[1], token=bob)
    with guard.acting_as(alice):
        refund("A-1", 500.0)
    return chain


def test_stats_and_report_count_approvals_per_tool(
    tmp_path: Path,
    authenticator: JWTAuthenticator,
    token: Token,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chain = story(tmp_path, authenticator, token)
    want = {"requested": 2, "granted": 1, "denied": 1, "refused": 1, "consumed": 1}

    capsys.readouterr()
    assert main(["audit", "stats", "--json", str(chain)]) == 0
    assert json.loads(capsys.readouterr().out)["approvals"] == {"refund": want}

    assert main(["audit", "stats", str(chain)]) == 0
    text = capsys.readouterr().out
    assert (
        "approvals by tool:\n  refund: requested 2, granted 1, denied 1, refused 1, consumed 1\n"
        in text
    )

    page = tmp_path / "report.html"
    assert main(["audit", "report", str(chain), "-o", str(page)]) == 0
    shown = dict(
        re.findall(r"data-figure='approvals\.refund\.(\w+)' data-value='(\d+)'", page.read_text())
    )
    assert {k: int(v) for k, v in shown.items()} == want


def test_a_log_without_approvals_reports_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from guardrail import ChainLog, Guard, Policy
    from guardrail.testing import make_principal

    chain = tmp_path / "audit.jsonl"
    guard = Guard(
        Policy.from_dict({"rules": [{"id": "ping", "allow": "ping"}]}), audit=[ChainLog(chain)]
    )

    @guard.tool
    def ping() -> str:
        """Ping."""
        return "pong"

    with guard.acting_as(make_principal("alice")):
        ping()
    capsys.readouterr()
    assert main(["audit", "stats", "--json", str(chain)]) == 0
    assert json.loads(capsys.readouterr().out)["approvals"] == {}
    page = tmp_path / "report.html"
    assert main(["audit", "report", str(chain), "-o", str(page)]) == 0
    assert "Human approvals" not in page.read_text()
