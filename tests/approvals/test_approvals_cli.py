"""``guardrail approvals`` from a shell, and the offline refund example."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support.approvals import AUDIENCE, ISSUER, POLICY, Records
from support.jwks import JWKSServer

from guardrail import ApprovalRequired, Guard, JWTAuthenticator, Policy
from guardrail.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def pending(
    tmp_path: Path, authenticator: JWTAuthenticator, token: Callable[..., str]
) -> tuple[Path, str, list[float]]:
    """A SQLite store holding alice's pending request, and the refunds that ran."""
    store = tmp_path / "approvals.db"
    guard = Guard(Policy.from_dict(POLICY), authenticator=authenticator, approvals=store)
    runs: list[float] = []

    @guard.tool
    def refund(order: str, amount: float) -> str:
        runs.append(amount)
        return "ok"

    with guard.acting_as(token("alice", "agent")), pytest.raises(ApprovalRequired) as held:
        refund("A-1", 500.0)
    assert held.value.request_id is not None
    return store, held.value.request_id, runs


def auth_args(jwks: JWKSServer) -> list[str]:
    return ["--issuer", ISSUER, "--audience", AUDIENCE, "--jwks-url", jwks.url]


def test_list_and_show(
    pending: tuple[Path, str, list[float]], capsys: pytest.CaptureFixture[str]
) -> None:
    store, request_id, _ = pending
    assert main(["approvals", "list", "--store", str(store)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:5] == ["ID", "STATE", "TOOL", "REQUESTER", "RULE"]
    assert out[1].split()[:5] == [request_id, "pending", "refund", "alice", "refund-large"]
    assert main(["approvals", "list", "--store", str(store), "--status", "granted"]) == 0
    assert capsys.readouterr().out.strip() == "no approval requests"
    assert main(["approvals", "show", request_id, "--store", f"sqlite:///{store}"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["args"] == {"amount": 500.0, "order": "A-1"} and shown["state"] == "pending"


def test_approve_from_the_cli_then_the_call_runs_once(
    pending: tuple[Path, str, list[float]],
    jwks: JWKSServer,
    token: Callable[..., str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store, request_id, _ = pending
    chain = tmp_path / "decisions.jsonl"
    bob = token("bob", "finance-lead")
    argv = ["approvals", "approve", request_id, "--store", str(store), "--token", bob]
    assert main([*argv, *auth_args(jwks), "--audit", str(chain)]) == 0
    assert capsys.readouterr().out.strip() == f"{request_id} granted by bob"
    assert [e[:2] for e in Records(chain).approvals()] == [("approval.granted", "bob")]


@pytest.mark.parametrize(
    ("who", "roles", "error"),
    [
        ("carol", ("agent",), "carol is not an approver for rule 'refund-large'"),
        ("alice", ("agent", "finance-lead"), "no self-approval"),
    ],
)
def test_refused_decisions_are_one_error_line(
    pending: tuple[Path, str, list[float]],
    jwks: JWKSServer,
    token: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
    who: str,
    roles: tuple[str, ...],
    error: str,
) -> None:
    store, request_id, _ = pending
    argv = ["approvals", "deny", request_id, "--store", str(store), "--token", token(who, *roles)]
    assert main([*argv, *auth_args(jwks)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and error in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["approvals", "list", "--store", "nowhere.db"], "no approval store at nowhere.db"),
        (["approvals", "show", "nope", "--store", "{store}"], "no approval request 'nope'"),
        (["approvals", "approve", "x", "--store", "{store}"], "the following arguments"),
        (["approvals", "list", "--store", "ftp://x"], "not an approval store"),
    ],
)
def test_usage_errors_are_one_error_line(
    pending: tuple[Path, str, list[float]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    store = str(pending[0])
    assert main([arg.replace("{store}", store) for arg in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and error in err and err.count("\n") == 1


def test_refund_example_runs_the_approved_call_exactly_once() -> None:
    """The offline example: held, approved from the CLI, run once, replay and edit held."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "approvals_refund.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "granted by maria" in out
    assert out.count("agent: refunded 250.00 EUR on A-17") == 1
    assert out.count("needs a manager's approval") == 3
    assert out.strip().endswith("refunds executed: 1 (A-17 250.00)")
