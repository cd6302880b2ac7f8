"""guardrail for MCP: governed client sessions, protected servers, pinned tools.

Client side::

    session = guardrail_mcp.wrap_session(client_session, guard, server="crm")
    tools = await session.list_tools()          # what the current user may call
    result = await session.call_tool("lookup_customer", {"customer_id": "c-1"})

Server side::

    server = MCPServer("crm", token_verifier=token_verifier(guard, resource=URL),
                       auth=AuthSettings(issuer_url=..., resource_server_url=URL,
                                         validate_token_resource=True))
    protect(server, guard)

A server built elsewhere gets guardrail's verifier and auth settings with
``install_auth(server, guard, resource=URL, issuer_url=ISSUER)``.

On behalf of the user (each call sent with the user's exchanged token)::

    http = httpx2.AsyncClient(auth=on_behalf_of(guard, scopes=["crm.read"]))

A guard's own tools and skills, served to agents (skill steps never listed)::

    serve(MCPServer("clinic", token_verifier=..., auth=...), guard)
"""

from guardrail_mcp._adapter import MCPAdapter
from guardrail_mcp._auth import GuardedAccessToken, GuardrailTokenVerifier, token_verifier
from guardrail_mcp._client import PIN_RULE, GuardedSession, wrap_session
from guardrail_mcp._downstream import OnBehalfOf, on_behalf_of
from guardrail_mcp._install import install_auth
from guardrail_mcp._listing import ListedTool
from guardrail_mcp._pins import PinStore, qualify, tool_definition, tool_digest
from guardrail_mcp._serve import SkillListing, serve
from guardrail_mcp._server import GuardMiddleware, caller, protect

__all__ = [
    "PIN_RULE",
    "GuardMiddleware",
    "GuardedAccessToken",
    "GuardedSession",
    "GuardrailTokenVerifier",
    "ListedTool",
    "MCPAdapter",
    "OnBehalfOf",
    "PinStore",
    "SkillListing",
    "caller",
    "install_auth",
    "on_behalf_of",
    "protect",
    "qualify",
    "serve",
    "token_verifier",
    "tool_definition",
    "tool_digest",
    "wrap_session",
]
