"""Policy behaviour that mutation testing (issue 16, `make mutate`) found no test pinning."""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Policy, PolicyError

ONE_OF_EACH: dict[str, Any] = {
    "roles": ["support"],
    "scopes": ["crm:read"],
    "teams": ["payments"],
    "subjects": ["alice"],
    "org": ["acme"],
    "attributes": {"tier": "gold"},
}


@pytest.mark.parametrize("field", sorted(ONE_OF_EACH))
def test_anonymous_with_any_single_principal_field_is_refused(field: str) -> None:
    """`anonymous: true` plus any one principal field reads as two contradicting intents."""
    when = {"anonymous": True, field: ONE_OF_EACH[field]}
    with pytest.raises(PolicyError, match="cannot be combined"):
        Policy.from_dict({"rules": [{"id": "r", "allow": ["t"], "when": when}]})
