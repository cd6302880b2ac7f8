"""``RedisApprovalStore``: approval requests shared by many processes and hosts.

Every state change runs ``guardrail/resources/redis/approvals.lua`` (one script,
so one atomic step on the server): of any number of processes consuming the same
grant, exactly one gets it. Requests are hashes under one hash-tagged prefix.
redis-py is imported when the store is made, never with guardrail.
"""

from __future__ import annotations

import importlib
from importlib.resources import files
from typing import Any

from guardrail.approvals.model import FIELDS, ApprovalRequest, Status
from guardrail.approvals.store import ApprovalStore
from guardrail.errors import BackendError, ConfigurationError

PREFIX = "{guardrail-approvals}:"
"""One hash tag: every key of the store lives in one Redis Cluster slot."""


class RedisApprovalStore(ApprovalStore):
    """Requests and grants in Redis at ``url`` (``redis://host:port/db``), or ``client``."""

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = PREFIX) -> None:
        if (url is None) == (client is None):
            raise ConfigurationError("RedisApprovalStore needs exactly one of url or client=")
        if client is None:
            try:
                redis = importlib.import_module("redis")
            except ModuleNotFoundError:
                raise ConfigurationError(
                    "the Redis approval store needs redis-py: pip install 'guardrail[redis]'"
                ) from None
            client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=10)
        self.client = client
        self.prefix = prefix
        lua = (files("guardrail") / "resources" / "redis" / "approvals.lua").read_text("utf-8")
        self._script = client.register_script(lua)

    def _call(self, keys: list[str], *args: Any) -> Any:
        try:
            return self._script(keys=keys, args=[args[0], self.prefix, *args[1:]])
        except Exception as exc:
            raise BackendError(f"Redis approval store: {exc}") from exc

    def request(self, request: ApprovalRequest, now: float) -> ApprovalRequest:
        fields = [x for k, v in request.to_row().items() for x in (k, _text(v))]
        pending = f"{self.prefix}pending:{request.digest}"
        found = self._call([pending], "request", now, request.id, request.created, *fields)
        if found == request.id:
            return request
        existing = self.get(str(found))
        return existing if existing is not None else request

    def get(self, request_id: str) -> ApprovalRequest | None:
        try:
            row = self.client.hgetall(f"{self.prefix}req:{request_id}")
        except Exception as exc:
            raise BackendError(f"Redis approval store: {exc}") from exc
        return ApprovalRequest.from_row(_typed(row)) if row else None

    def list(self, status: Status | None = None) -> list[ApprovalRequest]:
        try:
            ids = self.client.zrevrange(f"{self.prefix}ids", 0, -1)
            pipe = self.client.pipeline(transaction=False)
            for request_id in ids:
                pipe.hgetall(f"{self.prefix}req:{request_id}")
            rows = pipe.execute()
        except Exception as exc:
            raise BackendError(f"Redis approval store: {exc}") from exc
        found = [ApprovalRequest.from_row(_typed(row)) for row in rows if row]
        return [r for r in found if status is None or r.status == status]

    def decide(
        self, request_id: str, status: Status, approver: str, now: float, note: str | None = None
    ) -> ApprovalRequest | None:
        done = self._call([], "decide", now, request_id, status, approver, note or "")
        return self.get(request_id) if done else None

    def consume(self, digest: str, call_id: str, now: float) -> ApprovalRequest | None:
        used = self._call([f"{self.prefix}granted:{digest}"], "consume", now, call_id)
        return self.get(str(used)) if used else None

    def close(self) -> None:
        self.client.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _typed(row: dict[str, str]) -> dict[str, Any]:
    return {name: row.get(name, "") for name in FIELDS}
