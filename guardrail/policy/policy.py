"""``Policy``: the validated policy document, compiled once for evaluation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from guardrail.budgets.limit import Limit
from guardrail.identity import Principal
from guardrail.policy.decision import Decision
from guardrail.policy.evaluator import Evaluator, Region
from guardrail.policy.model import Rule


class Policy(BaseModel):
    """Rules and limits. Default deny; deny beats allow.

    Build it from a file (``Policy.from_file``), a mapping (``Policy.from_dict``,
    errors raised as :class:`PolicyError`) or in Python (``Policy(rules=[...])``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    rules: tuple[Rule, ...] = ()
    limits: tuple[Limit, ...] = ()
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_ids(self) -> Policy:
        for kind, items in (("rule", self.rules), ("limit", self.limits)):
            seen: set[str] = set()
            for item in items:
                if item.id in seen:
                    raise ValueError(f"duplicate {kind} id {item.id!r}")
                seen.add(item.id)
        return self

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Load YAML (``.yaml``/``.yml``), TOML (``.toml``) or JSON (``.json``)."""
        from guardrail.policy.loader import load_document

        source = str(path)
        return cls.from_dict(load_document(Path(path)), source=source)

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> Policy:
        """Parse YAML text (YAML 1.2 scalars: only ``true``/``false`` are booleans)."""
        import yaml

        from guardrail.policy.loader import document, parse_yaml, yaml_error

        try:
            data = parse_yaml(text)
        except yaml.YAMLError as exc:
            raise yaml_error(exc, source, text) from None
        return cls.from_dict(document(data, source), source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Policy:
        from guardrail.policy.loader import policy_error

        try:
            policy = cls.model_validate(data)
        except ValidationError as exc:
            raise policy_error(exc, data, source) from None
        policy._source = source
        return policy

    def __eq__(self, other: object) -> bool:
        # Where a policy was read from is not part of it: equal rules and limits, equal policy.
        if not isinstance(other, Policy):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    @property
    def source(self) -> str | None:
        """The file the policy was read from, if any (findings and errors name it)."""
        return self._source

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(self.rules)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON form: which policy decided a call."""
        canonical = json.dumps(
            self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def decide(
        self, tool: str, principal: Principal | None, args: Mapping[str, Any] | None = None
    ) -> Decision:
        return self.evaluator.decide(tool, principal, args or {})

    def regions(self, tool: str, principal: Principal | None) -> list[Region]:
        return self.evaluator.regions(tool, principal)

    def exclusions(self, tool: str, principal: Principal | None) -> list[Region]:
        return self.evaluator.exclusions(tool, principal)

    def visible_tools(self, principal: Principal | None, names: Iterable[str]) -> list[str]:
        return self.evaluator.visible(principal, names)
