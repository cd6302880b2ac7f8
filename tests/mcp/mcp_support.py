"""Helpers shared by the MCP tests: server scripts, ports, processes."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

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
    # The server scripts import mcp_auth from here, and it support.jwks from tests/.
    path = os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


class HttpServer:
    def __init__(self, url: str, effects: Path, audit: Path) -> None:
        self.url = url
        self.effects = effects
        self.audit = audit

    def effect_lines(self, name: str = "crm") -> list[str]:
        path = self.effects / f"{name}.log"
        return path.read_text().splitlines() if path.exists() else []
