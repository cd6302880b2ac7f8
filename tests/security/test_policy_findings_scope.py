"""Which rules and limits a registering tool is checked against, as enforcement matches them.

Deny and approve globs and limit globs ignore case at call time (``CRM.Delete*``
stops ``crm.delete_user``), so their findings do too; allow globs are exact. An
allow rule that cannot work for the tool is reported only when no other allow
rule covering it can allow it (a glob rule meant for other tools is harmless).
"""

from __future__ import annotations

import warnings
from typing import Any

from guardrail import ClaimMap, Guard, JWTAuthenticator, Policy, PolicyWarning

KEY = "a-test-hmac-secret-of-at-least-32-bytes!!"


def _findings(rules: list[dict[str, Any]], **policy: Any) -> list[str]:
    authenticator = JWTAuthenticator(
        issuer="https://idp.example.com/",
        audience="a",
        key=KEY,
        algorithms=["HS256"],
        claims=ClaimMap(attributes={"dept": "dept"}),
    )
    guard = Guard(Policy.from_dict({"rules": rules, **policy}), authenticator=authenticator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @guard.tool(name="crm.delete_user")
        def delete_user(user_id: str) -> None:
            """A tool."""

    return [str(w.message) for w in caught if issubclass(w.category, PolicyWarning)]


MISSPELT = {"usr_id": {"eq": "root"}}
ALLOW_ALL = {"id": "staff", "allow": ["crm.*"]}


def test_a_deny_glob_in_another_case_is_checked_against_the_tool() -> None:
    rules = [ALLOW_ALL, {"id": "d", "deny": ["CRM.Delete*"], "args": MISSPELT}]
    assert _findings(rules) == [
        "rule 'd', args.usr_id, tool 'crm.delete_user': constrains argument 'usr_id', which "
        "the tool does not take: the rule denies every call to 'crm.delete_user' it covers"
    ]


def test_an_allow_glob_in_another_case_covers_nothing_and_is_not_checked() -> None:
    rules = [{"id": "a", "allow": ["CRM.Delete*"], "args": MISSPELT}]
    assert _findings(rules) == []


def test_an_allow_rule_that_cannot_work_is_reported_only_when_no_other_can() -> None:
    broken = {"id": "broken", "allow": ["crm.delete_user"], "args": MISSPELT}
    assert _findings([broken, ALLOW_ALL]) == []
    assert _findings([broken]) == [
        "rule 'broken', args.usr_id, tool 'crm.delete_user': constrains argument 'usr_id', "
        "which the tool does not take: the rule never allows 'crm.delete_user'"
    ]


def test_a_limit_glob_in_another_case_is_checked_against_the_tool() -> None:
    limit = {
        "id": "l",
        "tools": ["CRM.*"],
        "per": "user",
        "calls": "10/minute",
        "when": {"attributes": {"region": "eu"}},
    }
    assert _findings([ALLOW_ALL], limits=[limit]) == [
        "limit 'l', when.attributes.region, tool 'crm.delete_user': the authenticator never "
        "fills attribute 'region' (its claim map fills 'dept'): the limit never applies"
    ]
