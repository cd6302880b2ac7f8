"""Fixtures for the MCP tests: keys and a JWKS endpoint, a protected HTTP server."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

pytest.importorskip("mcp")

from mcp_auth import KeyPair, serve_jwks
from mcp_support import (
    CRM_SERVER,
    SERVER_POLICY,
    HttpServer,
    free_port,
    script_env,
    stop,
    wait_for_port,
)


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return KeyPair()


@pytest.fixture(scope="session")
def jwks_url(keys: KeyPair) -> Iterator[str]:
    with serve_jwks(keys) as url:
        yield url


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory, jwks_url: str) -> Iterator[HttpServer]:
    """A guardrail-protected CRM server over streamable HTTP on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("http-crm")
    policy = tmp / "policy.yaml"
    policy.write_text(SERVER_POLICY)
    port = free_port()
    audit = tmp / "audit.jsonl"
    cmd = [
        sys.executable,
        str(CRM_SERVER),
        "--name=crm",
        f"--effects={tmp}",
        "--transport=http",
        f"--port={port}",
        f"--policy={policy}",
        f"--audit={audit}",
        f"--jwks={jwks_url}",
    ]
    proc = subprocess.Popen(cmd, env=script_env(), stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", tmp, audit)
    finally:
        stop(proc)
