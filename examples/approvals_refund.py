"""A refund over the agent's limit waits for a manager, who approves it from the CLI.

Runs offline in a few seconds. The "agent" is a scripted model that asks for a
250 EUR refund; the policy lets support agents refund up to 100 EUR on their own
and holds anything larger for a finance lead. The held call is refused with a
request id the agent relays; the manager approves that request with
``guardrail approvals approve ... --token`` (a real JWT, checked against the
issuer's key), and when the agent makes the identical call again it runs,
exactly once. Replaying it, or editing the amount, is held again.

    python examples/approvals_refund.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from guardrail import ApprovalRequired, ChainLog, Guard, JWTAuthenticator, Policy

ISSUER, AUDIENCE = "https://idp.example/", "refund-agent"
POLICY = {
    "rules": [
        {
            "id": "refund-small",
            "allow": "refund",
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "refund-large",
            "approve": "refund",
            "when": {"roles": ["support"]},
            "args": {"amount": {"min": 100}},
            "approvers": {"roles": ["finance-lead"]},
            "ttl": "1h",
        },
    ]
}
REFUNDS: list[str] = []  # what really happened at the payment provider


def token(key: rsa.RSAPrivateKey, subject: str, role: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "roles": [role]}
    return jwt.encode({**claims, "iat": now, "exp": now + 600}, key, algorithm="RS256")


def make_guard(workdir: Path, public_pem: bytes) -> Guard:
    guard = Guard(
        Policy.from_dict(POLICY),
        authenticator=JWTAuthenticator(ISSUER, AUDIENCE, key=public_pem, algorithms=["RS256"]),
        audit=[ChainLog(workdir / "audit.jsonl")],
        approvals=workdir / "approvals.db",  # SQLite: survives restarts, shared by processes
    )

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        """Refund an order (EUR)."""
        REFUNDS.append(f"{order_id} {amount:.2f}")
        return f"refunded {amount:.2f} EUR on {order_id}"

    return guard


def agent_turn(guard: Guard, user_token: str, order_id: str, amount: float) -> str | None:
    """One tool call of the scripted agent; what it tells the user. Returns a request id."""
    with guard.acting_as(user_token):
        try:
            print(f"  agent: {guard.run('refund', {'order_id': order_id, 'amount': amount})}")
        except ApprovalRequired as held:
            print(f"  agent: this refund needs a manager's approval (request {held.request_id})")
            return held.request_id
    return None


def manager_approves(workdir: Path, request_id: str, manager_token: str, pem: Path) -> None:
    command = [sys.executable, "-m", "guardrail", "approvals"]
    store = ["--store", str(workdir / "approvals.db")]
    listed = subprocess.run([*command, "list", *store], capture_output=True, text=True, check=True)
    print("  $ guardrail approvals list\n    " + listed.stdout.strip().replace("\n", "\n    "))
    auth = ["--issuer", ISSUER, "--audience", AUDIENCE, "--key-file", str(pem)]
    approve = [*command, "approve", request_id, *store, "--token", manager_token, *auth]
    done = subprocess.run(
        [*approve, "--audit", str(workdir / "approvals-audit.jsonl")],
        capture_output=True,
        text=True,
    )
    print(f"  $ guardrail approvals approve {request_id} --token ...\n    {done.stdout.strip()}")
    if done.returncode != 0:
        raise SystemExit(done.stderr.strip())


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    alice, maria = token(key, "alice", "support"), token(key, "maria", "finance-lead")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "issuer.pem").write_bytes(public_pem)
        guard = make_guard(workdir, public_pem)
        print("1. alice asks the agent to refund 250 EUR on order A-17")
        request_id = agent_turn(guard, alice, "A-17", 250.0)
        assert request_id is not None
        print("2. maria (finance lead) approves it from the command line")
        manager_approves(workdir, request_id, maria, workdir / "issuer.pem")
        print("3. the agent resumes: the identical call runs")
        agent_turn(make_guard(workdir, public_pem), alice, "A-17", 250.0)  # a restarted agent
        print("4. replaying it, or editing the amount, is held again")
        agent_turn(guard, alice, "A-17", 250.0)
        agent_turn(guard, alice, "A-17", 2500.0)
        print(f"refunds executed: {len(REFUNDS)} ({', '.join(REFUNDS)})")


if __name__ == "__main__":
    main()
