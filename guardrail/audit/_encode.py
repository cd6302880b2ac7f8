"""Record values to canonical JSON text, with orjson.

Canonical means sorted keys, no spaces, UTF-8 (not ``\\u`` escapes), aware
datetimes in ISO 8601 with ``Z`` for UTC (pydantic's spelling, so a record reads
the same whichever way it was built). :mod:`guardrail.audit._format` puts the
text into a hash-chained line; verification never re-encodes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from guardrail.audit.event import NAMES, is_plain

if TYPE_CHECKING:
    from guardrail.audit.event import AuditEvent

# Sorted keys, compact, UTF-8; aware datetimes as ISO 8601 with "Z" for UTC (pydantic's
# spelling, so a record reads the same whichever way it was built).
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z


def canonical(data: Any) -> str:
    """The canonical JSON text of ``data`` (sorted keys, compact, UTF-8).

    orjson for the values it knows (str keys, 64-bit ints, floats, lists, tuples,
    dicts, datetimes); anything else (a huge int, a non-str key) goes through the
    standard library with the same options, so every JSON value still encodes.
    """
    try:
        return orjson.dumps(data, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_json(data: Mapping[str, Any]) -> str:
    """``canonical`` of a record's fields without its ``None`` ones."""
    return canonical({key: value for key, value in data.items() if value is not None})


def event_json(event: AuditEvent) -> str:
    """``canonical(event.model_dump(mode="json", exclude_none=True))``, faster.

    The field values are encoded as they are; a value orjson does not know (bytes, a
    non-str key, an object) sends the event the pydantic way, which gives the same
    text for what both can encode.
    """
    # A built event's set fields, no None (absent on a ``_replace``d copy).
    data = getattr(event, "data", None) if is_plain(event) else None
    if data is None:
        data = {key: value for key, value in zip(NAMES, event, strict=True) if value is not None}
    try:
        return orjson.dumps(data, option=_OPTIONS).decode()
    except TypeError:
        return canonical(event.model_dump(mode="json", exclude_none=True))


def utc_now() -> str:
    """The time records carry: ISO 8601 in UTC."""
    return datetime.now(UTC).isoformat()


def utc_today() -> str:
    return datetime.now(UTC).date().isoformat()
