"""Property: what a user is shown and what they may call agree, for random policies."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from lc_jsonschema import admits

from guardrail import Guard, Policy, Principal
from guardrail.schema import narrow_schema

try:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - jsonschema comes with the mcp extra
    Draft202012Validator = None

DOMAIN = range(-4, 5)
"""Argument values tried; policy bounds are drawn from -3..3, so every non-empty region meets it."""

values = st.integers(-3, 3)
constraint = st.one_of(
    st.fixed_dictionaries({"in": st.lists(values, max_size=4)}),
    st.fixed_dictionaries({"min": values}),
    st.fixed_dictionaries({"max": values}),
    st.fixed_dictionaries({"min": values, "max": values}),
    st.fixed_dictionaries({"in": st.lists(values, min_size=1, max_size=4), "max": values}),
    st.fixed_dictionaries({"eq": values}),
    st.fixed_dictionaries({"min": values, "max": values, "ne": values}),
    st.fixed_dictionaries({"not_in": st.lists(values, max_size=3), "max": values}),
    # Operators an integer argument can never pass: the tool must be hidden.
    st.fixed_dictionaries({"regex": st.just("[0-9]+")}),
    st.fixed_dictionaries({"max_length": st.integers(0, 3)}),
)
roles = st.sampled_from(["a", "b", "c"])
rule = st.fixed_dictionaries(
    {
        "when": st.one_of(st.just({}), st.builds(lambda r: {"roles": [r]}, roles)),
        "args": st.dictionaries(st.sampled_from(["x", "y"]), constraint, max_size=2),
    }
)
policies = st.lists(rule, max_size=3).map(
    lambda rules: {"rules": [{"id": f"r{i}", "allow": ["f"], **r} for i, r in enumerate(rules)]}
)
principals = st.builds(
    lambda rs: Principal(subject="u", roles=frozenset(rs)), st.frozensets(roles, max_size=2)
)


def _tool() -> BaseTool:
    @tool
    def f(x: int, y: int) -> str:
        """Two integer arguments."""
        return f"{x},{y}"

    return f


def _shown(guard: Guard, principal: Principal) -> dict[str, Any] | None:
    visible = guard.visible([_tool()], principal)
    if not visible:
        return None
    params: dict[str, Any] = convert_to_openai_tool(visible[0])["function"]["parameters"]
    return params


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, principal=principals)
def test_listed_iff_some_call_passes_and_schema_matches_the_check(
    policy: dict[str, Any], principal: Principal
) -> None:
    """Listed iff some (x, y) is allowed; the narrowed schema admits exactly the allowed calls."""
    guard = Guard(Policy.model_validate(policy))
    shown = _shown(guard, principal)
    grid = [{"x": x, "y": y} for x, y in itertools.product(DOMAIN, DOMAIN)]
    allowed = [args for args in grid if guard.check("f", args, principal).allowed]
    assert (shown is not None) == bool(allowed)
    if shown is None:
        return
    validator = Draft202012Validator(shown) if Draft202012Validator else None
    for args in grid:
        ok = guard.check("f", args, principal).allowed
        assert admits(shown, args) == ok, (args, shown)
        if validator is not None:
            assert validator.is_valid(args) == ok, (args, shown)


@settings(max_examples=50, deadline=None)
@given(policy=policies, principal=principals, x=st.sampled_from(DOMAIN), y=st.sampled_from(DOMAIN))
def test_the_guarded_call_runs_iff_the_check_allows(
    policy: dict[str, Any], principal: Principal, x: int, y: int
) -> None:
    """Calling the visible-or-not tool runs its body exactly when the evaluator allows it."""
    guard = Guard(Policy.model_validate(policy))
    wrapped = guard.wrap(_tool())
    call = {"type": "tool_call", "id": "h", "name": "f", "args": {"x": x, "y": y}}
    out = wrapped.invoke(call, config={"configurable": {"guardrail_principal": principal}})
    allowed = guard.check("f", {"x": x, "y": y}, principal).allowed
    assert (out.status == "success") == allowed
    assert (out.content == f"{x},{y}") == allowed


deny_rule = st.fixed_dictionaries(
    {
        "when": st.one_of(st.just({}), st.builds(lambda r: {"roles": [r]}, roles)),
        "args": st.dictionaries(st.sampled_from(["x", "y"]), constraint, min_size=1, max_size=2),
    }
)
policies_with_denials = st.tuples(
    st.lists(rule, min_size=1, max_size=2), st.lists(deny_rule, max_size=2)
).map(
    lambda rules: {
        "rules": [{"id": f"a{i}", "allow": ["f"], **r} for i, r in enumerate(rules[0])]
        + [{"id": f"d{i}", "deny": ["f"], **r} for i, r in enumerate(rules[1])]
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies_with_denials, principal=principals)
def test_deny_rules_with_constraints_are_cut_out_of_the_schema(
    policy: dict[str, Any], principal: Principal
) -> None:
    """Deny rules with argument constraints become `not`: the schema still matches the check."""
    guard = Guard(Policy.model_validate(policy))
    shown = _shown(guard, principal)
    grid = [{"x": x, "y": y} for x, y in itertools.product(DOMAIN, DOMAIN)]
    allowed = [args for args in grid if guard.check("f", args, principal).allowed]
    if allowed:
        assert shown is not None
    if shown is None:
        return
    for args in grid:
        assert admits(shown, args) == guard.check("f", args, principal).allowed, (args, shown)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies_with_denials, principal=principals)
def test_flat_schemas_never_admit_a_denied_call(
    policy: dict[str, Any], principal: Principal
) -> None:
    """flat=True drops root combinators but still admits only calls the check allows."""
    guard = Guard(Policy.model_validate(policy))
    base = convert_to_openai_tool(_tool())["function"]["parameters"]
    regions = guard.regions("f", principal)
    shown = narrow_schema(
        base, regions, guard.policy.evaluator.exclusions("f", principal), flat=True
    )
    if shown is None:
        return
    assert "anyOf" not in shown and "allOf" not in shown
    for x, y in itertools.product(DOMAIN, DOMAIN):
        if admits(shown, {"x": x, "y": y}):
            assert guard.check("f", {"x": x, "y": y}, principal).allowed, (x, y, shown)
