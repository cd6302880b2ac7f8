"""guardrail for FastMCP (the standalone ``fastmcp`` package, 4.x).

::

    server = FastMCP("crm", auth=guardrail_fastmcp.GuardrailVerifier(guard, base_url=URL))
    guardrail_fastmcp.protect(server, guard)      # or: guard.wrap(server)

Each HTTP caller is the user of the bearer token guardrail verified (others get
401); ``tools/list`` shows what that user may call, schemas narrowed; each
``tools/call`` runs the guard's pipeline (policy, budgets, audit) and a refusal
is an ``is_error`` result the client's model reads. Over stdio and in memory,
pass the local user as ``default_principal`` (or bind ``guard.acting_as``).
Installed with ``pip install "guardrail[fastmcp]"``.

.. versionadded:: 0.2
"""

from guardrail_fastmcp._adapter import FastMCPAdapter
from guardrail_fastmcp._auth import GuardedAccessToken, GuardrailVerifier
from guardrail_fastmcp._middleware import GuardrailMiddleware, denial, protect

__all__ = [
    "FastMCPAdapter",
    "GuardedAccessToken",
    "GuardrailMiddleware",
    "GuardrailVerifier",
    "denial",
    "protect",
]
