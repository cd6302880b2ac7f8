"""Who an ADK call is made as, and what a failing tool leaves: real runner, scripted model."""

from __future__ import annotations

from typing import Any

import pytest
from adk_support import call, ran, run_agent, text
from google.adk.agents.run_config import RunConfig
from google.adk.plugins.base_plugin import BasePlugin
from guardrail_adk import PRINCIPAL_KEY, TOKEN_KEY, GuardrailPlugin
from pydantic import SecretStr

from guardrail import Guard, Policy, Principal, StaticAuthenticator
from guardrail.testing import capture_audit

LOOKUP = [[call("lookup_order", "c1", order_id="A-17")], [text("done")]]


def _metadata(**values: Any) -> RunConfig:
    return RunConfig(custom_metadata=values)


async def test_a_token_in_the_run_metadata_is_verified(users: dict[str, Principal]) -> None:
    guard = Guard(
        Policy.model_validate(
            {"rules": [{"id": "r", "allow": ["*"], "when": {"roles": ["manager"]}}]}
        ),
        authenticator=StaticAuthenticator({"tok-maria": users["maria"]}),
    )
    good = _metadata(**{TOKEN_KEY: SecretStr("tok-maria")})
    bad = _metadata(**{TOKEN_KEY: SecretStr("forged")})
    with capture_audit(guard) as events:
        ok = await run_agent([GuardrailPlugin(guard)], LOOKUP, user="anyone", run_config=good)
        refused = await run_agent([GuardrailPlugin(guard)], LOOKUP, user="anyone", run_config=bad)
    assert ok.model.responses()["c1"]["order"] == "A-17"
    assert "not authenticated" in refused.model.responses()["c1"]["error"]
    assert refused.model.shown() == {}  # an unverified run is shown no tools
    assert [(e.subject, e.decision) for e in events] == [
        ("maria", "allowed"),
        ("maria", "allowed"),
        (None, "auth_failed"),
    ]
    assert ran == [("lookup_order", "maria")]


async def test_a_principal_in_the_metadata_wins_over_the_user_id(
    guard: Guard, users: dict[str, Principal]
) -> None:
    config = _metadata(**{PRINCIPAL_KEY: users["maria"]})
    script = [[call("close_account", "c3", customer_id="C-9")], [text("done")]]
    run = await run_agent(
        [GuardrailPlugin(guard, users=users.get)], script, user="alice", run_config=config
    )
    assert run.model.responses()["c3"] == {"closed": "C-9"}
    assert ran == [("close_account", "maria")]


async def test_acting_as_is_the_identity_without_a_directory(
    guard: Guard, users: dict[str, Principal]
) -> None:
    with guard.acting_as(users["alice"]):
        run = await run_agent([GuardrailPlugin(guard)], LOOKUP, user="whoever")
    assert ran == [("lookup_order", "alice")]
    assert "close_account" not in run.model.shown()


async def test_a_user_id_the_directory_does_not_know_is_refused(
    guard: Guard, users: dict[str, Principal]
) -> None:
    with capture_audit(guard) as events:
        run = await run_agent([GuardrailPlugin(guard, users=users.get)], LOOKUP, user="mallory")
    assert "unknown user 'mallory'" in run.model.responses()["c1"]["error"]
    assert [(e.tool, e.decision) for e in events] == [("lookup_order", "auth_failed")]
    assert ran == []


def broken(order_id: str) -> dict[str, Any]:
    """A tool that fails."""
    raise ValueError(f"order {order_id} is locked")


class Recover(BasePlugin):
    """An ADK error plugin: turns a tool failure into a response for the model."""

    async def on_tool_error_callback(self, **kwargs: Any) -> dict[str, Any] | None:
        return {"error": f"recovered: {kwargs['error']}"}


async def test_a_failing_tool_is_audited_as_an_error(
    guard: Guard, users: dict[str, Principal]
) -> None:
    guard = Guard(Policy.model_validate({"rules": [{"id": "r", "allow": ["*"]}]}))
    script = [[call("broken", "c1", order_id="A-17")], [text("done")]]
    plugins = [GuardrailPlugin(guard, users=users.get)]
    with capture_audit(guard) as events, pytest.raises(RuntimeError, match="is locked"):
        await run_agent(plugins, script, tools=[broken])
    assert [(e.phase, e.decision) for e in events] == [("intent", "allowed"), ("outcome", "error")]
    # An on_tool_error plugin of the runner still gets to answer the failure.
    with capture_audit(guard) as events:
        run = await run_agent([Recover(name="recover"), *plugins], script, tools=[broken])
    assert run.model.responses()["c1"] == {"error": "recovered: order A-17 is locked"}
    assert [(e.phase, e.decision) for e in events] == [("intent", "allowed"), ("outcome", "error")]
