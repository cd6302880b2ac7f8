"""``AuditEvent``: one record of a call's intent, outcome or refusal.

An event is an immutable named tuple, so the audit step builds one from the typed
call context in about a microsecond (:func:`build_event`) and a sink encodes it with
orjson (:func:`guardrail.audit._encode.event_json`). pydantic is used only at the
edges: ``AuditEvent(...)`` written by hand and ``AuditEvent.model_validate(data)``
(reading a record back) validate the fields; ``model_dump`` / ``model_dump_json``
give pydantic's JSON spelling of the values.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    NamedTuple,
    Self,
    get_type_hints,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

DecisionKind = Literal[
    "allowed", "denied", "budget_exceeded", "error", "auth_failed", "approval_required"
]
Phase = Literal["intent", "outcome", "refusal", "notice"]


class _Fields(NamedTuple):
    """Who did what, as whom, under which rule, and what it cost. Never the token."""

    event_id: str
    """Unique per record (uuid4 hex)."""
    time: datetime
    phase: Phase
    """``intent`` (before the tool), ``outcome`` (after it), ``refusal`` or ``notice``."""
    call_id: str
    """guardrail's id of the call: an intent and its outcome share it."""
    tool: str
    decision: DecisionKind
    """``allowed``, ``denied``, ``budget_exceeded``, ``error`` (the tool raised),
    ``auth_failed`` (no or bad identity) or ``approval_required`` (waiting for a human)."""
    tool_call_id: str | None = None
    """The model's / framework's tool call id, when the adapter passed one."""
    session: str | None = None
    parent_call_id: str | None = None
    """The ``call_id`` of the guarded call (a skill) whose body made this call, if any."""
    skill: str | None = None
    """The skill this call is a step of: the nearest enclosing ``@guard.skill``, if any."""
    subject: str | None = None
    """Who the call was made as (``None``: no principal). The token is never recorded."""
    org: str | None = None
    teams: tuple[str, ...] = ()
    issuer: str | None = None
    actor: str | None = None
    """Who acted for ``subject`` (the ``act`` claim of a delegated token), if anyone."""
    roles: tuple[str, ...] = ()
    """The principal's roles, scopes and (redacted) attributes: what its policy read,
    so a recorded call can be decided again (``guardrail audit replay``)."""
    scopes: tuple[str, ...] = ()
    attributes: dict[str, Any] = {}
    rule: str | None = None
    reason: str | None = None
    limit: str | None = None
    """The limit id that decided (a budget refusal) or was charged."""
    level: str | None = None
    """What the limit counts per: user, team, org, tool, ..."""
    limit_key: str | None = None
    retry_after: float | None = None
    args: dict[str, Any] = {}
    """The call's arguments after redaction."""
    outcome: str | None = None
    """``"ok"`` or the error type; ``None`` on intent and refusal records."""
    duration_ms: float | None = None
    cost_reserved: float | None = None
    cost_settled: float | None = None
    remaining: dict[str, float] = {}
    """Budget left after the call, by limit id."""
    trace_id: str | None = None
    """OpenTelemetry ids (hex) of the call's ``execute_tool`` span, when recorded."""
    span_id: str | None = None
    policy: str | None = None
    """Digest of the policy that decided the call."""
    delegations: list[dict[str, Any]] | None = None
    """Downstream tokens the tool used, one each: subject, actor, audience, scopes and
    ``token_id_sha256`` (a hash of the token's id). Never the token."""
    detail: dict[str, Any] = {}
    """Extra facts for notices (e.g. old and new hashes of a changed MCP tool)."""


NAMES: tuple[str, ...] = _Fields._fields
_DEFAULTS: dict[str, Any] = _Fields._field_defaults
_DEFAULT_VALUES = tuple(_DEFAULTS.get(name) for name in NAMES)
_FRESH = ("attributes", "args", "remaining", "detail")
"""Fields whose default is an empty dict: each event gets its own."""
_REQUIRED = [name for name in NAMES if name not in _DEFAULTS]
_SET_BY_DEFAULT = tuple(
    (name, None if name in _FRESH else _DEFAULTS[name])
    for name in NAMES
    if _DEFAULTS.get(name) is not None
)
"""Fields whose default is not ``None`` (an empty tuple, or a fresh empty dict: None
here), which every event's JSON holds."""


class AuditEvent(_Fields):
    """One audit record. ``AuditEvent(field=value, ...)`` validates the values."""

    __slots__ = ()

    def __new__(cls, *args: Any, **fields: Any) -> Self:
        fields.update(zip(NAMES, args, strict=False))
        return cls.model_validate(fields)

    @classmethod
    def model_validate(cls, data: Mapping[str, Any]) -> Self:
        """An event from record data (e.g. a ChainLog line's ``data``), validated."""
        valid = _adapter().validate_python(data)
        return cls._make(_values(valid))

    def model_dump(self, *, mode: Literal["python", "json"] = "python", **options: Any) -> Any:
        """The fields as a dict (``mode="json"``: JSON values, as pydantic spells them)."""
        return _adapter().dump_python(self._asdict(), mode=mode, **options)

    def model_dump_json(self, **options: Any) -> str:
        return _adapter().dump_json(self._asdict(), **options).decode()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (not validated, like pydantic's), with ``update`` applied."""
        values = {**self._asdict(), **(update or {})}
        if deep:
            values = copy.deepcopy(values)
        return type(self)._make(values[name] for name in NAMES)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(NAMES, self, strict=True))
        return f"AuditEvent({fields})"

    def __reduce__(self) -> tuple[Callable[..., AuditEvent], tuple[Any, ...]]:
        return (AuditEvent._make, (tuple(self),))


class _Built(AuditEvent):
    """An event :func:`build_event` made from values guardrail vouches for.

    It keeps the dict it was made from as ``data``: its set fields, which is exactly
    what its JSON form holds, so a sink encodes that dict as it is instead of walking
    all the fields again (hence no ``__slots__``: one attribute).
    """

    data: dict[str, Any]

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        # A copy's values (``update``) are nobody's promise: it is a plain AuditEvent.
        return AuditEvent._make(super().model_copy(update=update, deep=deep))


def build_event(fields: dict[str, Any]) -> AuditEvent:
    """An ``AuditEvent`` from values guardrail made itself, without validating them.

    The caller vouches that ``fields`` are well typed, as validation would leave them
    (``teams`` a tuple, floats as floats, ``time`` aware), and that ``args``,
    ``detail`` and ``remaining`` hold only JSON values under ``str`` keys, so that
    :func:`is_plain` events can be serialized without pydantic. ``fields`` is
    consumed: its dicts become the event's. ``None`` values count as unset.
    """
    if None in fields.values():
        fields = {name: value for name, value in fields.items() if value is not None}
    return event_from(fields)


def event_from(fields: dict[str, Any]) -> AuditEvent:
    """:func:`build_event` for a caller that leaves unset fields out (no ``None``
    values, only field names): the audit step, once per record."""
    for name, empty in _SET_BY_DEFAULT:
        if name not in fields:
            fields[name] = {} if empty is None else empty
    # tuple.__new__ is what ``_make`` calls, without its length check: map() over
    # NAMES always gives one value per field.
    event = tuple.__new__(_Built, map(fields.get, NAMES, _DEFAULT_VALUES))
    event.data = fields
    return event


def is_plain(event: AuditEvent) -> bool:
    """Whether ``event`` came from :func:`build_event` (its values are plain JSON)."""
    return type(event) is _Built


def _values(valid: Mapping[str, Any]) -> list[Any]:
    values = list(map(valid.get, NAMES, _DEFAULT_VALUES))
    for name in _FRESH:
        if name not in valid:
            values[NAMES.index(name)] = {}
    return values


@functools.cache
def _adapter() -> TypeAdapter[Any]:
    """The pydantic schema of the fields, built on first use (not at import)."""
    from typing import NotRequired  # pydantic's, on Python 3.11

    from pydantic import ConfigDict, TypeAdapter, with_config
    from typing_extensions import TypedDict

    hints = get_type_hints(_Fields)
    typed = {name: hints[name] if name in _REQUIRED else NotRequired[hints[name]] for name in NAMES}
    fields = TypedDict("AuditEventFields", typed)  # type: ignore[misc]
    return TypeAdapter(with_config(ConfigDict(extra="forbid"))(fields))
