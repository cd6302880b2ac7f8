"""A real three-node Redis Cluster on 127.0.0.1 for tests and benchmarks.

Three ``redis-server --cluster-enabled yes`` processes (masters, no replicas),
joined with ``redis-cli --cluster create ... --cluster-yes``; ``start()`` returns
once every node reports ``cluster_state:ok``. ``kill(port)`` SIGKILLs one node.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from support.redis_server import INSTALL_HINT, RedisServerMissing

_BUS_OFFSET = 10_000  # a cluster node also listens on port + 10000 (the cluster bus)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_node_port(taken: list[int]) -> int:
    """A port that is free together with its bus port (both below 65536)."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20_000, 30_000)
        if port not in taken and _bindable(port) and _bindable(port + _BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a redis cluster node")


def _ask(port: int, *command: str) -> str:
    """One inline command over a raw socket; the reply's text ("" when unreachable)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall((" ".join(command) + "\r\n").encode())
            time.sleep(0.01)
            return sock.recv(65536).decode(errors="replace")
    except OSError:
        return ""


class RedisCluster:
    """Three master nodes on free ports; a context manager."""

    def __init__(self, node_timeout_ms: int = 1000) -> None:
        self.server = shutil.which("redis-server")
        self.cli = shutil.which("redis-cli")
        if self.server is None or self.cli is None:
            raise RedisServerMissing(INSTALL_HINT)
        self.ports: list[int] = []
        for _ in range(3):
            self.ports.append(free_node_port(self.ports))
        self.node_timeout_ms = node_timeout_ms
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="guardrail-cluster-")

    @property
    def url(self) -> str:
        """``redis+cluster://`` for :func:`guardrail.budgets.ledger_from_uri`."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    @property
    def node_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> RedisCluster:
        for port in self.ports:
            self._spawn(port)
        deadline = time.monotonic() + timeout
        while not all(_ask(p, "PING").startswith("+PONG") for p in self.ports):
            self._deadline(deadline, "nodes did not answer PING")
        subprocess.run(
            [
                self.cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        while not all("cluster_state:ok" in _ask(p, "CLUSTER", "INFO") for p in self.ports):
            self._deadline(deadline, "cluster did not reach cluster_state:ok")
        return self

    def _spawn(self, port: int) -> None:
        node_dir = Path(self._dir.name) / str(port)
        node_dir.mkdir(exist_ok=True)
        assert self.server is not None
        self.processes[port] = subprocess.Popen(
            [
                self.server,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(node_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def _deadline(self, deadline: float, what: str) -> None:
        exited = [p for p, proc in self.processes.items() if proc.poll() is not None]
        if exited or time.monotonic() > deadline:
            what = f"node {exited[0]} exited" if exited else what
            self.close()
            raise RuntimeError(f"redis cluster: {what}")
        time.sleep(0.05)

    def port_of_slot(self, slot: int) -> int:
        """The port of the master serving ``slot``."""
        for line in _ask(self.ports[0], "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if len(fields) < 9 or "master" not in fields[2]:
                continue
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for span in fields[8:]:
                low, _, high = span.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return port
        raise LookupError(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        process = self.processes.pop(port)
        process.kill()
        process.wait(timeout=10)

    def restart(self, port: int, timeout: float = 30.0) -> None:
        """Start a killed node again (same port, same nodes.conf): it rejoins."""
        self._spawn(port)
        deadline = time.monotonic() + timeout
        while not all("cluster_state:ok" in _ask(p, "CLUSTER", "INFO") for p in self.ports):
            self._deadline(deadline, "cluster did not recover")

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()
        self._dir.cleanup()

    def __enter__(self) -> RedisCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
