"""Cheap checks on a compact JWS before any cryptography: size, shape, header JSON."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from guardrail.errors import AuthenticationError

MAX_TOKEN_BYTES = 8192
# Header and payload must be non-empty; the signature may be, so that an
# ``alg: none`` token gets its own reason rather than "malformed".
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Compact:
    """A token that passed the shape checks; nothing in it is verified yet."""

    header: dict[str, Any]
    payload_segment: str

    def unverified_claims(self) -> dict[str, Any]:
        """The payload as JSON, for routing only (e.g. picking an issuer's verifier)."""
        return _json_object(self.payload_segment, "payload")


def shown(value: object, limit: int = 40) -> str:
    """``repr`` of an attacker-supplied value, cut short for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse(token: Any, max_bytes: int = MAX_TOKEN_BYTES) -> Compact:
    """Check size and shape and decode the header, or raise ``AuthenticationError``."""
    if not isinstance(token, str):
        raise AuthenticationError(f"token must be a string, not {type(token).__name__}")
    size = len(token.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise AuthenticationError(f"token too large ({size} bytes > {max_bytes})")
    if not token:
        raise AuthenticationError("empty token")
    if not _SHAPE.fullmatch(token):
        raise AuthenticationError("malformed token (expected three base64url segments)")
    header_segment, payload_segment, _ = token.split(".")
    return Compact(_json_object(header_segment, "header"), payload_segment)


def _json_object(segment: str, name: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise AuthenticationError(f"malformed token {name} (not base64url JSON)") from None
    if not isinstance(value, dict):
        raise AuthenticationError(f"malformed token {name} (not a JSON object)")
    return value
