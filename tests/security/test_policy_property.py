"""Generated policies x generated arguments: a deny rule never lets through a call it covers,
and guard.check, the listing (visible_tools, narrowed_schema) and the call agree.

The oracle below is written independently of the evaluator: a deny rule covers a call
unless some constrained argument holds a plain value that definitely fails its operator.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from guardrail import ArgumentError, Guard, GuardrailDenied, Policy, Principal
from guardrail.testing import make_principal

ARGS = ("x", "y")
WHO = make_principal("u", roles=["a"], limit=5, region="eu")


class Sub(str):
    """A str subclass: compared by its characters."""


class Liar(str):
    """A str subclass whose __eq__ claims to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


scalars = st.one_of(
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "prod", "", "a\nb"]),
    st.booleans(),
    st.none(),
)
operand_refs = st.sampled_from(["$principal.attributes.limit", "$principal.attributes.missing"])
constraint = st.one_of(
    st.fixed_dictionaries({"eq": scalars}),
    st.fixed_dictionaries({"ne": scalars}),
    st.fixed_dictionaries({"in": st.lists(scalars, max_size=3)}),
    st.fixed_dictionaries({"not_in": st.lists(scalars, max_size=3)}),
    st.fixed_dictionaries({"min": st.integers(-3, 3) | operand_refs}),
    st.fixed_dictionaries({"max": st.integers(-3, 3) | operand_refs}),
    st.fixed_dictionaries({"regex": st.sampled_from(["a", "a.*", "prod|b", ".*\\n.*"])}),
    st.fixed_dictionaries({"max_length": st.integers(0, 2)}),
    st.fixed_dictionaries({"eq": st.just("$principal.attributes.region")}),
)
arg_names = st.sampled_from([*ARGS, "z"])  # z: an argument the tool does not declare
deny_rule = st.fixed_dictionaries(
    {
        "when": st.sampled_from([{}, {"roles": ["a"]}, {"roles": ["b"]}]),
        "args": st.dictionaries(arg_names, constraint, max_size=2),
    }
)
allow_rule = st.fixed_dictionaries({"args": st.dictionaries(arg_names, constraint, max_size=2)})
policies = st.tuples(st.lists(allow_rule, min_size=1, max_size=2), st.lists(deny_rule, max_size=2))

values = st.one_of(
    scalars,
    st.sampled_from([math.nan, math.inf, -math.inf, 2**70, -(2**70), 0.5]),
    st.builds(Sub, st.sampled_from(["a", "prod", "b"])),
    st.builds(Liar, st.sampled_from(["a", "prod", "zz"])),
    st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(["a", "x"]), scalars, max_size=1),
)
calls = st.dictionaries(st.sampled_from([*ARGS, "extra"]), values, max_size=3)


def _policy(rules: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> Policy:
    allow, deny = rules
    return Policy.from_dict(
        {
            "rules": [{"id": f"a{i}", "allow": ["t"], **r} for i, r in enumerate(allow)]
            + [{"id": f"d{i}", "deny": ["t"], **r} for i, r in enumerate(deny)]
        }
    )


# -- the oracle: independent of guardrail's evaluator ---------------------------------


def _plain(v: Any) -> Any:
    """The plain view of a value, or a marker when no operator can judge it."""
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, float) and math.isnan(v):
        return _UNJUDGED
    if v is None or isinstance(v, bool | int | float):
        return v
    if isinstance(v, list):
        items = [_plain(i) for i in v]
        return _UNJUDGED if _UNJUDGED in items else items
    if isinstance(v, dict):
        return {k: _plain(i) for k, i in v.items()}
    return _UNJUDGED


_UNJUDGED = object()


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "num"
    return type(v).__name__


def _resolve(operand: Any, who: Principal) -> Any:
    if isinstance(operand, str) and operand.startswith("$principal.attributes."):
        return who.attributes.get(operand.rsplit(".", 1)[1], _UNJUDGED)
    return operand


def _fails(op: str, operand: Any, v: Any) -> bool:
    """Whether plain ``v`` definitely fails ``op`` (False also when it cannot be judged)."""
    if v is _UNJUDGED or operand is _UNJUDGED:
        return False
    if op in ("min", "max"):
        if _kind(v) != "num":
            return False
        return v < operand if op == "min" else v > operand
    if op == "regex":
        return isinstance(v, str) and re.fullmatch(operand, v, re.S) is None
    if op == "max_length":
        return isinstance(v, str | list | dict) and len(v) > operand
    if op in ("eq", "ne"):
        if operand is not None and _kind(v) != _kind(operand):
            return False
        equal = _kind(v) == _kind(operand) and v == operand
        return not equal if op == "eq" else equal
    members = list(operand)
    if members and None not in members and _kind(v) not in {_kind(m) for m in members}:
        return False
    found = any(_kind(v) == _kind(m) and v == m for m in members)
    return not found if op == "in" else found


def _deny_escaped(rule: dict[str, Any], received: dict[str, Any], who: Principal) -> bool:
    """Whether the call escapes this deny rule: some constrained argument definitely fails."""
    for arg, ops in rule["args"].items():
        if arg not in received:
            continue  # not given to the tool: cannot be checked, so it cannot escape
        v = _plain(received[arg])
        if any(_fails(op, _resolve(operand, who), v) for op, operand in ops.items()):
            return True
    return False


def _covers(rule: dict[str, Any], who: Principal) -> bool:
    roles = rule["when"].get("roles")
    return roles is None or not who.roles.isdisjoint(roles)


# -- the properties ---------------------------------------------------------------------


def _run(guard: Guard, fn: Any, args: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    received: list[dict[str, Any]] = []
    fn.received = received
    with guard.acting_as(WHO):
        try:
            fn(**args)
        except (GuardrailDenied, ArgumentError):
            return False, None
    return True, received[0]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=policies, args=calls)
def test_a_deny_rule_never_lets_through_a_call_it_covers(
    rules: tuple[list[dict[str, Any]], list[dict[str, Any]]], args: dict[str, Any]
) -> None:
    """Untyped and **kwargs tools: whatever ran escaped every applicable deny rule."""
    for make in (_untyped, _kwargs):
        guard = Guard(_policy(rules))
        fn = make(guard)
        ran, received = _run(guard, fn, {k: v for k, v in args.items() if k in fn.accepts})
        if not ran:
            continue
        assert received is not None
        for rule in rules[1]:
            if _covers(rule, WHO):
                assert _deny_escaped(rule, received, WHO), (rule, received)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=policies, args=calls)
def test_check_listing_and_call_agree(
    rules: tuple[list[dict[str, Any]], list[dict[str, Any]]], args: dict[str, Any]
) -> None:
    """The call runs iff guard.check allows its bound arguments; an allowed tool is listed;
    a narrowed schema never admits a denied (JSON) call and is shown when a call is allowed."""
    guard = Guard(_policy(rules))
    fn = _untyped(guard)
    given_args = {k: v for k, v in args.items() if k in ARGS}
    bound = {"x": None, "y": None, **given_args}
    ran, _ = _run(guard, fn, given_args)
    assert ran == guard.check("t", bound, WHO).allowed
    if ran:
        assert guard.visible_tools(WHO) == ["t"]
    schema = {"type": "object", "properties": {"x": {}, "y": {}}}
    shown = guard.narrowed_schema("t", schema, WHO)
    if ran and _json(bound):
        assert shown is not None
    if shown is not None and _json(bound) and Draft202012Validator(shown).is_valid(bound):
        assert ran, (shown, bound)


def _json(args: dict[str, Any]) -> bool:
    def ok(v: Any) -> bool:
        if type(v) in (str, bool, int) or v is None:
            return True
        if type(v) is float:
            return math.isfinite(v)
        if type(v) is list:
            return all(ok(i) for i in v)
        if type(v) is dict:
            return all(ok(i) for i in v.values())
        return False

    return all(ok(v) for v in args.values())


def _untyped(guard: Guard) -> Any:
    def t(x=None, y=None):  # type: ignore[no-untyped-def]
        t.received.append({"x": x, "y": y})  # type: ignore[attr-defined]

    wrapped = _register(guard, t)
    wrapped.accepts = ARGS
    return wrapped


def _kwargs(guard: Guard) -> Any:
    def t(**kwargs: Any) -> None:
        t.received.append(dict(kwargs))  # type: ignore[attr-defined]

    wrapped = _register(guard, t)
    wrapped.accepts = (*ARGS, "extra")
    return wrapped


def _register(guard: Guard, fn: Any) -> Any:
    import warnings

    from guardrail import PolicyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)  # generated rules may not fit the tool
        wrapped = guard.tool(name="t")(fn)

    def call(**kwargs: Any) -> Any:
        fn.received = call.received  # type: ignore[attr-defined]
        return wrapped(**kwargs)

    return call
