"""Fixtures for the MCP tests: keys and a JWKS endpoint, server subprocesses, policies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp_auth import KeyPair, serve_jwks

HERE = Path(__file__).parent
CRM_SERVER = HERE / "crm_server.py"
RUG_SERVER = HERE / "rug_server.py"

SERVER_POLICY = """
rules:
  - id: support-lookup
    allow: [lookup_customer]
    when: {roles: [support]}
  - id: support-refunds
    allow: [refund]
    when: {roles: [support]}
    args:
      amount: {max: 100}
  - id: own-record
    allow: [lookup_customer]
    when: {roles: [customer]}
    args:
      customer_id: {eq: $principal.subject}
  - id: anyone-whoami
    allow: [whoami]
"""


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return KeyPair()


@pytest.fixture(scope="session")
def jwks_url(keys: KeyPair) -> Iterator[str]:
    with serve_jwks(keys) as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server on 127.0.0.1:{port} did not start in {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def script_env() -> dict[str, str]:
    # The server scripts import mcp_auth from this directory.
    path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


class HttpServer:
    def __init__(self, url: str, effects: Path, audit: Path) -> None:
        self.url = url
        self.effects = effects
        self.audit = audit

    def effect_lines(self, name: str = "crm") -> list[str]:
        path = self.effects / f"{name}.log"
        return path.read_text().splitlines() if path.exists() else []


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
