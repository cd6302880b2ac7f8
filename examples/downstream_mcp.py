"""On behalf of the user, end to end: the MCP server sees the real user, not a service account.

    python examples/downstream_mcp.py

An agent calls a remote MCP server through a guarded session. For each call the
guard exchanges the user's token (RFC 8693) at a token service for one meant for
that server, and sends it; the server, protected by guardrail, runs the tool as
the same user and sees who acted for them (the ``act`` claim). Both sides keep an
audit trail. A user who never consented to the scope is refused with a reason the
model can relay, and no other credential is sent in their place.

Everything runs offline on 127.0.0.1: an IdP (its JWKS), a token service, the MCP
server over streamable HTTP, and the agent. Finishes in a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import urllib.parse
import uuid
from typing import Any

import guardrail_mcp
import httpx2
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp_types import TextContent
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guardrail import (
    ClaimMap,
    ClientSecret,
    Guard,
    JWTAuthenticator,
    Policy,
    TokenExchange,
    current_principal,
)
from guardrail.testing import MemorySink

IDP, STS, APP = "https://idp.example.test/", "https://sts.example.test/", "support-agent"
CONSENTS = {"alice": {"crm.read"}}  # bob never consented to the CRM


class Keys:
    def __init__(self, kid: str) -> None:
        self.kid, self.private = kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def sign(self, claims: dict[str, Any]) -> str:
        now = int(time.time())
        body = {"iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **claims}
        return jwt.encode(body, self.private, algorithm="RS256", headers={"kid": self.kid})


def serve(app: Any, sock: socket.socket, lifespan: str = "off") -> None:
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)


def listening() -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


def identity_services(idp: Keys, sts: Keys, crm_url: str) -> Starlette:
    """The IdP's JWKS and a token service doing RFC 8693 with its own consent rules."""

    async def token(request: Request) -> JSONResponse:
        form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
        if request.headers.get("authorization") != "Basic YWdlbnQ6czNjcmV0":  # agent:s3cret
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        user_token = form["subject_token"]
        key = idp.private.public_key()  # the IdP's published key (served at /idp/jwks.json)
        user = jwt.decode(user_token, key, algorithms=["RS256"], audience=APP, issuer=IDP)
        scopes = set(form.get("scope", "").split())
        lacking = scopes - CONSENTS.get(user["sub"], set())
        if form.get("resource") != crm_url or lacking:
            why = f"user {user['sub']} has not consented to {' '.join(sorted(lacking))}"
            return JSONResponse({"error": "consent_required", "error_description": why}, 400)
        claims = {"iss": STS, "sub": user["sub"], "aud": crm_url, "roles": user["roles"]}
        access = sts.sign({**claims, "scope": " ".join(scopes), "act": {"sub": "agent"}})
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 300})

    async def idp_jwks(request: Request) -> JSONResponse:
        return JSONResponse(idp.jwks())

    async def sts_jwks(request: Request) -> JSONResponse:
        return JSONResponse(sts.jwks())

    return Starlette(
        routes=[
            Route("/idp/jwks.json", idp_jwks),
            Route("/sts/jwks.json", sts_jwks),
            Route("/sts/token", token, methods=["POST"]),
        ]
    )


def crm_server(url: str, sts_jwks: str, audit: MemorySink) -> MCPServer[Any]:
    """The CRM's MCP server: it trusts the token service, for its own URL only."""
    verifier = JWTAuthenticator(STS, url, jwks_url=sts_jwks, claims=ClaimMap(attributes=["act"]))
    policy = Policy.from_dict(
        {"rules": [{"id": "crm", "allow": ["*"], "when": {"roles": ["support"]}}]}
    )
    guard = Guard(policy, authenticator=verifier, audit=[audit])
    server: MCPServer[Any] = MCPServer(
        "crm",
        log_level="WARNING",
        token_verifier=guardrail_mcp.token_verifier(guard, resource=url),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(STS),
            resource_server_url=AnyHttpUrl(url),
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def lookup_customer(customer_id: str) -> str:
        """Look up a customer record, as the calling user."""
        who = current_principal()
        assert who is not None
        actor = who.attributes["act"]["sub"]
        return f"{customer_id}: good standing (read as {who.subject}, acted for by {actor})"

    guardrail_mcp.protect(server, guard)
    return server


async def agent(session: Any, customer: str) -> str:
    """A scripted agent: it looks the customer up (as whoever it is acting for)."""
    result = await session.call_tool("lookup_customer", {"customer_id": customer})
    words = " ".join(c.text for c in result.content if isinstance(c, TextContent))
    return ("REFUSED: " if result.is_error else "") + words


async def main() -> None:
    idp, sts = Keys("idp-1"), Keys("sts-1")
    id_sock, base = listening()
    crm_sock, crm_base = listening()
    crm_url = f"{crm_base}/mcp"
    server_audit, agent_audit = MemorySink(), MemorySink()
    serve(identity_services(idp, sts, crm_url), id_sock)
    serve(
        crm_server(crm_url, f"{base}/sts/jwks.json", server_audit).streamable_http_app(),
        crm_sock,
        "on",
    )

    policy = Policy.from_dict(
        {"rules": [{"id": "agent", "allow": ["crm/*"], "when": {"roles": ["support"]}}]}
    )
    guard = Guard(
        policy,
        authenticator=JWTAuthenticator(IDP, APP, jwks_url=f"{base}/idp/jwks.json"),
        token_exchange=TokenExchange(
            f"{base}/sts/token", client=ClientSecret(client_id="agent", secret="s3cret")
        ),
        audit=[agent_audit],
    )
    auth = guardrail_mcp.on_behalf_of(guard, scopes=["crm.read"])
    alice, bob = (
        idp.sign({"iss": IDP, "aud": APP, "sub": user, "roles": ["support"]})
        for user in ("alice", "bob")
    )
    async with (
        guard.acting_as(alice),  # the connection is opened as the first user
        httpx2.AsyncClient(auth=auth, timeout=10) as http,
        streamable_http_client(crm_url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        crm = guardrail_mcp.wrap_session(session, guard, server="crm")
        for name, token in (("alice", alice), ("bob", bob)):
            async with guard.acting_as(token):  # each call carries this user's token
                print(f"{name:6} -> {await agent(crm, 'c-42')}")

    print("\nagent's audit (client side):")
    for e in agent_audit.events:
        who_for = e.delegations[0] if e.delegations else None
        via = f" token for {who_for['audience']} as {who_for['subject']}" if who_for else ""
        print(
            f"  {e.phase:8} {e.tool:20} {e.subject:6} {e.decision:8}{via}  {e.reason or ''}"[:150]
        )
    print("\nCRM's audit (server side):")
    for e in server_audit.events:
        act = json.dumps(e.attributes.get("act"))
        print(f"  {e.phase:8} {e.tool:20} {e.subject:6} {e.decision:8} act={act}")


if __name__ == "__main__":
    asyncio.run(main())
