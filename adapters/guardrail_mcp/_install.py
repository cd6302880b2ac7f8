"""``install_auth``: guardrail's token verifier and auth settings on a server already built.

``MCPServer`` takes ``token_verifier=`` and ``auth=`` only in its constructor and
has no public setter; servers are often built by code the application does not
own (a framework, a factory). This sets both where the SDK reads them when the
HTTP app is built (``settings.auth`` and the verifier slot), after checking that
the SDK still keeps them there, so a layout change fails loudly, never open.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

from guardrail import Authenticator, ConfigurationError, Guard
from guardrail_mcp._auth import GuardrailTokenVerifier

_SLOT = "_token_verifier"  # where MCPServer (mcp 2.x) keeps its verifier


def install_auth(
    server: MCPServer[Any],
    authenticator: Authenticator | Guard,
    *,
    resource: str,
    issuer_url: str,
    required_scopes: Iterable[str] = (),
    replace: bool = False,
) -> GuardrailTokenVerifier:
    """Make ``server`` accept only bearer tokens ``authenticator`` verifies (others: 401).

    Call it before the HTTP app is built (``server.run(...)`` /
    ``server.streamable_http_app()``). ``resource`` is this server's URL (the
    token audience), ``issuer_url`` the authorization server's. A server that
    already has a verifier or an OAuth provider is refused unless ``replace=True``.
    Pair with :func:`~guardrail_mcp.protect` so each call runs as the token's user.
    """
    if not hasattr(server, _SLOT) or not hasattr(server, "settings"):
        raise ConfigurationError(
            "this mcp version keeps no token verifier where guardrail_mcp.install_auth "
            "expects it (tested with mcp 2.3): pass token_verifier= and auth= to MCPServer"
        )
    already = getattr(server, _SLOT) is not None or server.settings.auth is not None
    if already and not replace:
        raise ConfigurationError(
            "this MCP server already has authentication: install_auth(..., replace=True) "
            "to replace it with guardrail's"
        )
    if getattr(server, "_auth_server_provider", None) is not None:
        raise ConfigurationError("this MCP server is its own OAuth provider: keep its verifier")
    verifier = GuardrailTokenVerifier(authenticator, resource=resource)
    server.settings.auth = AuthSettings(
        issuer_url=issuer_url,  # type: ignore[arg-type]  # pydantic parses the URL
        resource_server_url=resource,  # type: ignore[arg-type]
        required_scopes=sorted(required_scopes) or None,
        validate_token_resource=True,
    )
    setattr(server, _SLOT, verifier)
    return verifier
