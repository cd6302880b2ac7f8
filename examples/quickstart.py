"""guardrail quickstart: two users, one policy, real JWTs, no network beyond 127.0.0.1.

Run it with `make demo` (or `python examples/quickstart.py`). It generates an RSA
key, serves its JWKS on 127.0.0.1, mints a token for each user, and calls the
same tools as both, printing what happened and why.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from guardrail import AuthenticationError, Guard, JWTAuthenticator, PermissionDenied, Policy

ISSUER, AUDIENCE = "https://idp.example.test/", "support-agent"

POLICY = Policy.from_dict(
    {
        "rules": [
            {
                "id": "support-refunds",
                "allow": ["refund", "lookup_order"],
                "when": {"roles": ["support"]},
                "args": {"amount": {"max": 100}},
            },
            {"id": "support-lookups", "allow": ["lookup_order"], "when": {"roles": ["support"]}},
            {
                "id": "own-orders-only",
                "allow": ["lookup_order"],
                "when": {"roles": ["customer"]},
                "args": {"customer_id": {"eq": "$principal.subject"}},
            },
        ]
    }
)


@contextmanager
def jwks_server(public_jwk: dict[str, Any]) -> Iterator[str]:
    """Serve {"keys": [public_jwk]} on 127.0.0.1 (what an identity provider does)."""
    body = json.dumps({"keys": [public_jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public_jwk.update(kid="demo-key", use="sig", alg="RS256")

    def token(subject: str, roles: list[str], ttl: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "roles": roles,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "demo-key"})

    with jwks_server(public_jwk) as jwks_url:
        guard = Guard(
            policy=POLICY,
            authenticator=JWTAuthenticator(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url),
        )

        @guard.tool(cost=1)
        def refund(order_id: str, amount: float) -> str:
            """Refund part of an order."""
            return f"refunded {amount:.2f} on {order_id}"

        @guard.tool
        def lookup_order(customer_id: str) -> str:
            """Look up a customer's latest order."""
            return f"order A-17 for {customer_id}"

        users = {
            "alice (support)": token("alice", ["support"]),
            "carol (customer)": token("carol", ["customer"]),
            "mallory (expired)": token("mallory", ["support"], ttl=-120),
        }
        calls: list[tuple[str, Callable[[], str]]] = [
            ("refund A-17 40.00", lambda: refund("A-17", 40.0)),
            ("refund A-17 500.00", lambda: refund("A-17", 500.0)),
            ("lookup_order carol", lambda: lookup_order("carol")),
            ("lookup_order dave", lambda: lookup_order("dave")),
        ]
        print(f"{'user':18} {'call':20} {'outcome':28} why")
        print(f"{'-' * 18} {'-' * 20} {'-' * 28} {'-' * 40}")
        for user, bearer in users.items():
            for label, run in calls:
                outcome, why = attempt(guard, bearer, run)
                print(f"{user:18} {label:20} {outcome:28} {why}")


def attempt(guard: Guard, bearer: str, run: Callable[[], str]) -> tuple[str, str]:
    """Run one call as the token's user; classify what happened."""
    try:
        with guard.acting_as(bearer):
            return "allowed", run()
    except AuthenticationError as exc:
        return "rejected token", exc.reason
    except PermissionDenied as exc:
        if exc.rule is None:
            return "denied by role", "no rule allows this user"
        return "denied by arg constraint", exc.reason.split(": ", 1)[-1]


if __name__ == "__main__":
    main()
