"""Group 5: what a cached ``downstream_token`` adds to a guarded call (issue 11).

Two lean guarded tools that differ only in one ``downstream_token(...)`` call in
the body; the row is their difference. The token comes from a real token endpoint
on 127.0.0.1 (exchanged once, before timing), so every timed call is a cache hit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import SecretStr

from benchmarks import _features as F
from benchmarks._context import Env
from benchmarks._harness import Case

GROUP = "5 downstream token, cached (us/call over the same tool without it)"
CRM = "https://crm.bench.local/"
SCOPES = ["crm.read"]
POLICY = {"rules": [{"id": "support", "allow": ["*"], "when": {"roles": ["support"]}}]}


class _Endpoint(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = {"access_token": "opaque", "token_type": "Bearer", "expires_in": 3600}
        body = json.dumps({**answer, "scope": "crm.read"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def add(env: Env) -> None:
    try:
        from guardrail import (
            ClientSecret,
            Guard,
            Policy,
            TokenExchange,
            adownstream_token,
            downstream_token,
        )
    except ImportError as exc:
        for mode in ("sync", "async"):
            env.na(GROUP, f"cached downstream_token [{mode}]", f"{F.NOT_LANDED}: {exc}")
        return
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.cleanups.append(server.shutdown)
    url = f"http://127.0.0.1:{server.server_address[1]}/token"
    exchange = TokenExchange(url, client=ClientSecret(client_id="bench", secret="s3cret"))
    guard = Guard(Policy.from_dict(POLICY), token_exchange=exchange)
    alice = F.SUPPORT.model_copy(update={"token": SecretStr("subject-token-of-alice")})

    @guard.tool
    def plain(order: str) -> str:
        return order

    @guard.tool
    def with_token(order: str) -> str:
        downstream_token(CRM, SCOPES)
        return order

    @guard.tool
    async def aplain(order: str) -> str:
        return order

    @guard.tool
    async def awith_token(order: str) -> str:
        await adownstream_token(CRM, SCOPES)
        return order

    with guard.acting_as(alice):
        with_token("warm-up")  # the one real exchange

    def around() -> Any:
        return guard.acting_as(alice)

    note = "one exchange before timing; every timed call a cache hit"
    label = "cached downstream_token"
    env.case(
        Case(
            key="downstream.base.sync",
            group=GROUP,
            label="guarded tool [sync]",
            around=around,
            sync=_caller(plain),
        ),
        row=False,
    )
    env.case(
        Case(
            key="downstream.sync",
            group=GROUP,
            label=f"{label} [sync]",
            note=note,
            baseline="downstream.base.sync",
            around=around,
            sync=_caller(with_token),
        )
    )
    env.case(
        Case(
            key="downstream.base.async",
            group=GROUP,
            label="guarded tool [async]",
            around=around,
            async_=_acaller(aplain),
        ),
        row=False,
    )
    env.case(Case(key="downstream.async", group=GROUP, label=f"{label} [async]", note=note,
                  baseline="downstream.base.async", around=around,
                  async_=_acaller(awith_token)))  # fmt: skip


def _caller(fn: Callable[..., Any]) -> Callable[[], Any]:
    def call() -> Any:
        return fn("A-17")

    return call


def _acaller(fn: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        return await fn("A-17")

    return call
