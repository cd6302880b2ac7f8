"""A protected FastMCP server over stdio; the local user comes from $CRM_USER."""

from __future__ import annotations

import os

import guardrail_fastmcp
from fastmcp_support import POLICY, crm_server  # this script's directory is on sys.path

from guardrail import Guard, Principal

if __name__ == "__main__":
    guard = Guard(POLICY)
    user = Principal(subject=os.environ["CRM_USER"], roles=frozenset({"support"}))
    server = crm_server([])
    guardrail_fastmcp.protect(server, guard, default_principal=user)
    server.run(show_banner=False)
