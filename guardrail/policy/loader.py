"""Reading policy files and turning validation errors into located ``PolicyError``s."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from guardrail.errors import PolicyError


def load_document(path: Path) -> Mapping[str, Any]:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy: {exc.strerror}", source=source) from exc
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise PolicyError(
                f"unknown policy format {suffix!r} (use .yaml, .yml, .toml or .json)",
                source=source,
            )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise PolicyError(f"{where}YAML syntax error: {exc.problem}", source=source) from None
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"line {exc.lineno}, column {exc.colno}: JSON syntax error: {exc.msg}", source=source
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"TOML syntax error: {exc}", source=source) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PolicyError("the policy must be a mapping with 'rules' and 'limits'", source=source)
    return data


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
