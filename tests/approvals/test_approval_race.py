"""Several real processes race to consume one grant: exactly one call runs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.approvals import POLICY, Records, make_guard, register
from support.jwks import JWKSServer

from guardrail import ApprovalRequired, JWTAuthenticator

RACERS = 4


def test_racing_processes_consume_one_grant_once(
    store_uri: str,
    authenticator: JWTAuthenticator,
    jwks: JWKSServer,
    token: Callable[..., str],
    tmp_path: Path,
) -> None:
    """Four processes make the approved call at once: one runs it, three are held."""
    ledger = tmp_path / "refunds.txt"
    guard = make_guard(store_uri, authenticator, tmp_path / "main.jsonl")
    refund = register(guard, ledger)
    alice = token("alice", "agent")
    with guard.acting_as(alice), pytest.raises(ApprovalRequired) as held:
        refund("A-1", 500.0)  # type: ignore[operator]
    request_id = held.value.request_id
    assert request_id is not None
    guard.approvals.approve(request_id, token=token("bob", "finance-lead"))
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps(POLICY))
    start_at = str(time.time() + 3.0)
    here = Path(__file__).parent
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from support.approvals import race; race(*sys.argv[1:])",
                store_uri,
                str(policy),
                jwks.url,
                alice,
                str(ledger),
                str(tmp_path / f"racer{n}.jsonl"),
                start_at,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=here,
            env={"PYTHONPATH": f"{here}:{here.parent}", "PATH": "/usr/bin:/bin"},
        )
        for n in range(RACERS)
    ]
    outputs = [racer.communicate(timeout=120) for racer in racers]
    results = [out.strip() for out, _ in outputs]
    assert all(r.returncode == 0 for r in racers), [err for _, err in outputs]
    assert sorted(results)[-1] == "ran" and results.count("ran") == 1, results
    assert ledger.read_text().splitlines() == ["A-1 500.0"]
    assert guard.approvals.get(request_id).status == "consumed"
    consumed = [
        event
        for n in range(RACERS)
        for event in Records(tmp_path / f"racer{n}.jsonl").approvals()
        if event[0] == "approval.consumed"
    ]
    assert [(event, approver) for event, approver, _ in consumed] == [("approval.consumed", "bob")]
    # The losers each filed (or found) a new request for the identical call.
    assert {r.split()[0] for r in results} == {"ran", "held"}
