"""The clinic's one skill, served to agents over MCP (stdio or streamable HTTP).

    python -m examples.scheduling.mcp_server --as sam:scheduler            # stdio
    python -m examples.scheduling.mcp_server --transport http --port 8765 \\
        --jwks http://127.0.0.1:9000/jwks.json --issuer https://idp.example.test/

Agents see ``schedule_appointment`` (if the policy lets their user book) and
nothing else: the thirteen granular tools are the skill's steps, never listed, and
refused if called by name. Over HTTP each caller is the user of a bearer JWT the
server verifies against the JWKS; over stdio it is the local user given by ``--as``.
Audit records go to ``--audit`` as JSON lines (steps name their skill).
"""

from __future__ import annotations

import argparse
from typing import Any

from examples.scheduling.clinic import Clinic
from examples.scheduling.skill import build_guard
from guardrail import JWTAuthenticator, Principal
from guardrail.audit.event import AuditEvent


class JsonLines:
    """Audit events as JSON lines (use ChainLog for a tamper-evident log)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, event: AuditEvent) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(event.model_dump_json() + "\n")


def local_user(spec: str) -> Principal:
    """``"sam:scheduler"``: subject and roles of the stdio server's local user."""
    subject, _, roles = spec.partition(":")
    return Principal(subject=subject, roles=frozenset(filter(None, roles.split(","))))


def build(args: argparse.Namespace) -> Any:
    import guardrail_mcp
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from pydantic import AnyHttpUrl

    url = f"http://127.0.0.1:{args.port}/mcp"
    authenticator = JWTAuthenticator(args.issuer, url, jwks_url=args.jwks) if args.jwks else None
    sinks = [JsonLines(args.audit)] if args.audit else []
    guard = build_guard(Clinic(), authenticator=authenticator, audit=sinks)
    options: dict[str, Any] = {}
    if authenticator is not None:
        options["token_verifier"] = guardrail_mcp.token_verifier(guard, resource=url)
        options["auth"] = AuthSettings(
            issuer_url=AnyHttpUrl(args.issuer),
            resource_server_url=AnyHttpUrl(url),
            validate_token_resource=True,
        )
    server: MCPServer[Any] = MCPServer("clinic", log_level="WARNING", **options)
    user = local_user(args.as_user) if args.as_user else None
    return guardrail_mcp.serve(server, guard, default_principal=user)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--as", dest="as_user", help="stdio: the local user, subject:role,...")
    parser.add_argument("--jwks", help="http: JWKS URL of the identity provider")
    parser.add_argument("--issuer", default="https://idp.example.test/")
    parser.add_argument("--audit", help="append audit records to this file (JSON lines)")
    args = parser.parse_args()
    server = build(args)
    if args.transport == "stdio":
        server.run()
    else:
        server.run(transport="streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
