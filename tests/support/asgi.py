"""Serve an ASGI app with uvicorn from a daemon thread on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class ServedApp:
    """``with ServedApp(app) as served: served.url(...)``; ``stop()`` makes the port refuse.

    The port is taken at construction, so an app that must know its own URL (an
    MCP server's resource URL) can be built after it: ``ServedApp()``, then
    ``start(app)``.
    """

    def __init__(self, app: Any = None, *, lifespan: str = "off") -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.app = app
        self.lifespan = lifespan
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, app: Any = None) -> ServedApp:
        config = uvicorn.Config(
            app or self.app, log_level="warning", lifespan=self.lifespan, access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is not None and self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        self._sock.close()

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
