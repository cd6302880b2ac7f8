"""Loopback services the benchmarks talk to: a private redis-server and a tiny HTTP hop."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on a free 127.0.0.1 port, no persistence, stopped on ``stop()``."""

    def __init__(self, workdir: Path) -> None:
        self.port = 0
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.error: str | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> bool:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            self.error = "redis-server not installed"
            return False
        try:
            import redis
        except ImportError:
            self.error = "redis (python) not installed"
            return False
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                client.close()
                return True
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        self.error = "redis-server did not answer within 10 s"
        return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


# -- the HTTP "gateway hop" ---------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    reply = b'{"allowed":true,"result":"ok"}'

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.reply)))
        self.end_headers()
        self.wfile.write(self.reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_http() -> None:
    """Entry point of the server subprocess: prints its port, answers until killed."""
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class HttpHop:
    """The server in its own process (a gateway is another process), a keep-alive client."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.conn: http.client.HTTPConnection | None = None
        self.body = json.dumps(
            {"tool": "refund", "args": {"order_id": "A-17", "amount": 40.0}, "user": "alice"}
        ).encode()
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer x"}

    def start(self) -> None:
        code = "from benchmarks._services import serve_http; serve_http()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parent.parent),
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.connect()
        assert self.conn.sock is not None
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def call(self) -> Any:
        assert self.conn is not None
        self.conn.request("POST", "/v1/tools/call", body=self.body, headers=self.headers)
        response = self.conn.getresponse()
        return json.loads(response.read())

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
