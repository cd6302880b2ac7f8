"""Group 2: what the alternatives cost per call, timed in the same rounds as group 1.

- a gateway hop: one keep-alive JSON request to a do-nothing server on loopback;
- one raw Redis EVALSHA round trip (a 3-key check-and-charge, like a reservation);
- an "off-the-shelf" stack assembled from common libraries around the raw call.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from cachetools import TTLCache
from pydantic import BaseModel

from benchmarks import _features as F
from benchmarks._context import Env
from benchmarks._harness import Case
from benchmarks._services import HttpHop
from benchmarks.overhead import sdk_tracer_provider
from guardrail import Principal

GROUP = "2 alternatives (us/call)"

# KEYS: user, team and org counters; ARGV: cost, ceiling, ttl. All or nothing.
RESERVE_LUA = """
for i, key in ipairs(KEYS) do
  local v = tonumber(redis.call('GET', key) or '0')
  if v + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, i} end
end
for i, key in ipairs(KEYS) do
  redis.call('INCRBYFLOAT', key, ARGV[1])
  redis.call('EXPIRE', key, ARGV[3])
end
return {1, 0}
"""

CASBIN_MODEL = """
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj) && r.act == p.act
"""


def add(env: Env) -> None:
    _http_hop(env)
    _evalsha(env)
    _off_the_shelf(env)


def _http_hop(env: Env) -> None:
    hop = HttpHop()
    try:
        hop.start()
    except Exception as exc:
        hop.stop()
        env.na(GROUP, "HTTP gateway hop", f"server failed: {exc}")
        return
    env.cleanups.append(hop.stop)
    env.case(
        Case(
            key="http.hop",
            waits=True,
            group=GROUP,
            label="HTTP gateway hop (absolute)",
            sync=hop.call,
            note="keep-alive POST to a do-nothing JSON server, 127.0.0.1, TCP_NODELAY",
        )
    )


def _evalsha(env: Env) -> None:
    url = env.redis_url
    if url is None:
        env.na(GROUP, "raw Redis EVALSHA", env.redis_error)
        return
    import redis

    client = redis.Redis.from_url(url)
    env.cleanups.append(client.close)
    sha = client.script_load(RESERVE_LUA)
    keys = ["b:user:alice", "b:team:support-eu", "b:org:acme"]

    def evalsha() -> Any:
        return client.evalsha(sha, 3, *keys, 1, 1e15, 86400)

    env.case(
        Case(
            key="redis.evalsha",
            waits=True,
            group=GROUP,
            label="raw Redis EVALSHA (absolute)",
            sync=evalsha,
            note="redis-py, 3-key check-and-charge script, loopback",
        )
    )


class RefundArgs(BaseModel):
    order_id: str
    amount: float


def _off_the_shelf(env: Env) -> None:
    """sha256 + TTLCache identity, casbin RBAC, pydantic args, SDK span, JSON log line."""
    token = "eyJ.bench.token-" + "x" * 300
    # A TTL longer than any run: setting up the other groups may take minutes.
    principals: TTLCache[str, Principal] = TTLCache(maxsize=100_000, ttl=3600)
    principals[hashlib.sha256(token.encode()).hexdigest()] = F.SUPPORT
    enforce, how = _enforcer()
    provider = sdk_tracer_provider(env)
    if provider is None:
        env.na(GROUP, "off-the-shelf stack", "opentelemetry-sdk not installed")
        return
    tracer = provider.get_tracer("off-the-shelf")
    logger = logging.getLogger("benchmarks.off_the_shelf")
    logger.propagate = False
    handler = logging.FileHandler(env.workdir / "off_the_shelf.log")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    env.cleanups.append(handler.close)

    def call() -> Any:
        principal = principals[hashlib.sha256(token.encode()).hexdigest()]
        if not enforce(principal.subject, "refund", "call"):
            raise PermissionError("denied")
        args = RefundArgs.model_validate({"order_id": "A-17", "amount": 40.0})
        with tracer.start_as_current_span("execute_tool refund") as span:
            span.set_attribute("gen_ai.tool.name", "refund")
            span.set_attribute("enduser.id", principal.subject)
            logger.info(
                json.dumps({"tool": "refund", "user": principal.subject, "args": args.model_dump()})
            )
            result = F.refund(args.order_id, args.amount)
            logger.info(json.dumps({"tool": "refund", "user": principal.subject, "ok": True}))
        return result

    env.case(
        Case(
            key="ots.sync",
            group=GROUP,
            label="off-the-shelf stack [sync]",
            baseline="raw.sync",
            sync=call,
            note=f"sha256+TTLCache, {how}, pydantic, SDK span, 2 JSON log lines",
        )
    )


def _enforcer() -> tuple[Any, str]:
    try:
        import casbin
    except ImportError:
        roles = {"alice": {"support"}}
        grants = {("support", "refund", "call")}

        def dict_enforce(sub: str, obj: str, act: str) -> bool:
            return any((role, obj, act) in grants for role in roles.get(sub, ()))

        return dict_enforce, "dict RBAC (casbin not installed: pip install '.[bench]')"
    model = casbin.Model()
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.add_policy("support", "refund", "call")
    for i in range(19):
        enforcer.add_policy(f"role-{i % 7}", f"ns{i}_*" if i % 4 == 0 else f"tool_{i}", "call")
    enforcer.add_grouping_policy("alice", "support")
    return enforcer.enforce, "casbin RBAC, 20 policies"
