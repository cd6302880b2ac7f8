"""Reading policy files and turning validation errors into located ``PolicyError``s."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from guardrail.errors import PolicyError


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars.

    YAML 1.1 reads ``NO``, ``yes``, ``on`` and ``off`` as booleans, ``010`` as
    octal and ``1:20`` as 80: ``country: {in: [NO, RU]}`` would hold ``False``.
    Here only ``true``/``false`` are booleans; everything else not a 1.2 number
    or null stays a string.
    """


_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag.endswith(":merge")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CORE_SCALARS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
)
for _tag, _pattern, _first in _CORE_SCALARS:
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)  # YAML 1.2: a leading zero is decimal, not octal


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping whose keys are all different: YAML says they must be, and PyYAML's
    last-one-wins would let a second ``max:`` quietly replace the first."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults` then an override is how merges are meant
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=True)


class _DuplicateKey(ValueError):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json keeps the last one silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"JSON: duplicate key {key!r}")
        out[key] = value
    return out


_Yaml12Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def parse_yaml(text: str) -> Any:
    """YAML text as data, with YAML 1.2 booleans and numbers (see :class:`_Yaml12Loader`)."""
    return yaml.load(text, Loader=_Yaml12Loader)


def load_document(path: Path) -> Mapping[str, Any]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy: {exc.strerror}", source=source) from exc
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = parse_yaml(text)
        elif suffix == ".json":
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise PolicyError(
                f"unknown policy format {suffix!r} (use .yaml, .yml, .toml or .json)",
                source=source,
            )
    except yaml.YAMLError as exc:
        raise yaml_error(exc, source, text) from None
    except _DuplicateKey as exc:
        raise PolicyError(str(exc), source=source) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"line {exc.lineno}, column {exc.colno}: JSON syntax error: {exc.msg}", source=source
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"TOML syntax error: {exc}", source=source) from None
    return document(data, source)


def document(data: Any, source: str | None) -> Mapping[str, Any]:
    """Parsed policy data, checked to be a mapping (an empty file is an empty policy)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PolicyError("the policy must be a mapping with 'rules' and 'limits'", source=source)
    return data


def yaml_error(exc: yaml.YAMLError, source: str | None, text: str = "") -> PolicyError:
    """A located ``PolicyError`` for any YAML error. A reader error (a character YAML
    does not allow, e.g. a control character) has no mark, only an offset into ``text``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return PolicyError(f"{where}YAML syntax error: {exc.problem}", source=source)
    position = getattr(exc, "position", None)
    where = f"line {text.count(chr(10), 0, position) + 1}: " if isinstance(position, int) else ""
    problem = str(exc).splitlines()[0]  # the rest names PyYAML's stream, not the file
    return PolicyError(f"{where}YAML syntax error: {problem}", source=source)


def policy_error(exc: ValidationError, data: Mapping[str, Any], source: str | None) -> PolicyError:
    """The first validation error, located by file, rule (or limit) id and field path."""
    error = exc.errors()[0]
    loc = list(error["loc"])
    owner, kind = None, "rule"
    if len(loc) >= 2 and loc[0] in ("rules", "limits") and isinstance(loc[1], int):
        section, index = loc[0], loc[1]
        items = data.get(section) or []
        item = items[index] if index < len(items) else None
        item_id = item.get("id") if isinstance(item, Mapping) else None
        owner, kind = (str(item_id) if item_id else f"#{index + 1}"), section[:-1]
        loc = loc[2:]
    field = ".".join(str(part) for part in loc) or None
    return PolicyError(_explain(error, loc), source=source, rule=owner, field=field, kind=kind)


def _explain(error: Mapping[str, Any], loc: list[Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        name = loc[-1] if loc else "?"
        if len(loc) >= 3 and loc[0] == "args":
            return (
                f"unknown operator {name!r} (use eq, ne, in, not_in, min, max, regex, max_length)"
            )
        return f"unknown field {name!r}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
