"""Values are normalised before the policy sees them (issue 16, item 3, binder side).

Each test is a member of one class of finding: a value for which a deny rule's
comparison "errors into allow" (NaN, a lying subclass, arguments hidden in
``**kwargs``) or a value the tool gets in another form than the policy saw.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import AllowInfNan

from guardrail import ArgumentError, Guard, GuardrailDenied, PermissionDenied, Policy
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice")
NAN, INF = float("nan"), float("inf")


def guard_denying(**constraints: Any) -> Guard:
    """Everyone may call anything, except what the deny rule's constraints cover."""
    return Guard(
        Policy.from_dict(
            {
                "rules": [
                    {"id": "everyone", "allow": "*"},
                    {"id": "stop", "deny": "*", "args": constraints},
                ]
            }
        )
    )


class LyingStr(str):
    """Equal to nothing, hashed like nothing: escapes ``eq`` and ``in`` by comparison."""

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 7


class LyingInt(int):
    """Below every bound and above every bound at once."""

    def __ge__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return False

    def __lt__(self, other: object) -> bool:
        return False


class LyingFloat(float):
    def __ge__(self, other: object) -> bool:
        return False

    def __le__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return False

    def __lt__(self, other: object) -> bool:
        return False


class EqualsAll(type):
    """A metaclass whose classes claim to be every other class (``type(x) == str``)."""

    def __eq__(cls, other: object) -> bool:
        return True

    def __hash__(cls) -> int:
        return id(cls)


class Chameleon(str, metaclass=EqualsAll):
    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 7


def refused(guard: Guard, fn: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Calls ``fn`` expecting a refusal; returns the audit events (one refusal record)."""
    with capture_audit(guard) as events, guard.acting_as(ALICE), pytest.raises(GuardrailDenied):
        fn(*args, **kwargs)
    assert [e.phase for e in events] == ["refusal"]
    return events


# -- NaN and infinity -------------------------------------------------------------------


@pytest.mark.parametrize("value", [NAN, INF, -INF, "nan", "-Infinity", LyingFloat(NAN)])
def test_non_finite_floats_are_refused_by_argument_validation(value: Any) -> None:
    """``amount: {min: 1000}`` in a deny rule: NaN (fast path, strings, subclasses) is an
    ArgumentError, audited as a refusal; the tool never runs."""
    guard = guard_denying(amount={"min": 1000})
    ran: list[float] = []

    @guard.tool
    def pay(amount: float) -> None:
        ran.append(amount)

    with (
        capture_audit(guard) as events,
        guard.acting_as(ALICE),
        pytest.raises(ArgumentError, match="finite"),
    ):
        pay(value)
    assert ran == []
    assert [(e.phase, e.decision) for e in events] == [("refusal", "denied")]


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (float | None, NAN),
        (list[float], [1.0, NAN]),
        (dict[str, float], {"a": INF}),
        (tuple[float, ...], (1.0, -INF)),
        (Any, NAN),
        (Any, [[{"deep": NAN}]]),
        (list, [1, INF]),
        (dict, {"k": (NAN,)}),
        (Any, Decimal("NaN")),
        (Any, Decimal("-Infinity")),
    ],
)
def test_non_finite_values_inside_other_types_are_refused(annotation: Any, value: Any) -> None:
    """Optional, containers, ``Any`` and bare containers: NaN anywhere is refused."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "everyone", "allow": "*"}]}))
    ran: list[Any] = []

    def pay(amount: Any) -> None:
        ran.append(amount)

    pay.__annotations__["amount"] = annotation
    guarded = guard.tool(pay)
    events = refused(guard, guarded, value)
    assert ran == []
    assert "finite number" in (events[0].reason or "")


def test_untyped_tools_refuse_nan_too() -> None:
    """No annotation at all (no pydantic model): NaN is still refused."""
    guard = guard_denying(amount={"min": 1000})

    @guard.tool
    def pay(amount, note=""):  # type: ignore[no-untyped-def]
        raise AssertionError("must not run")

    refused(guard, pay, NAN)
    refused(guard, pay, amount=1.0, note=[INF])


def test_validate_false_still_refuses_nan() -> None:
    """``validate=False`` skips type coercion, not value normalisation."""
    guard = guard_denying(amount={"min": 1000})

    @guard.tool(validate=False)
    def pay(amount: float) -> None:
        raise AssertionError("must not run")

    refused(guard, pay, NAN)


def test_allow_inf_nan_is_an_explicit_opt_in() -> None:
    """``Annotated[float, AllowInfNan()]`` accepts NaN and infinity; plain ``float`` does not."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "everyone", "allow": "*"}]}))
    got: list[float] = []

    @guard.tool
    def measure(reading: Annotated[float, AllowInfNan()], scale: float = 1.0) -> None:
        got.append(reading)

    @guard.tool
    def many(
        reading: list[Annotated[float, AllowInfNan()]], *rest: Annotated[float, AllowInfNan()]
    ) -> None:
        got.extend([reading, *rest])

    with guard.acting_as(ALICE):
        measure(NAN)
        measure(INF)
        many([NAN], INF)
        with pytest.raises(ArgumentError):
            measure(1.0, scale=NAN)
    assert math.isnan(got[0]) and got[1] == INF and math.isnan(got[2][0]) and got[3] == INF


# -- subclasses of plain types ----------------------------------------------------------


@pytest.mark.parametrize("annotation", [None, Any, object])
def test_lying_str_cannot_escape_an_eq_deny_rule(annotation: Any) -> None:
    """A ``str`` subclass equal to nothing is made a plain ``str``: ``eq: prod`` still fires."""
    guard = guard_denying(env={"eq": "prod"})
    ran: list[Any] = []

    def deploy(env):  # type: ignore[no-untyped-def]
        ran.append(env)

    if annotation is not None:
        deploy.__annotations__["env"] = annotation
    guarded = guard.tool(deploy)
    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        guarded(LyingStr("prod"))
    assert ran == []


def test_lying_str_cannot_escape_an_in_deny_rule() -> None:
    """``in`` compares by equality and hash: the plain value is found in the list."""
    guard = guard_denying(country={"in": ["NO", "RU"]})

    @guard.tool
    def ship(country: Any) -> None:
        raise AssertionError("must not run")

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        ship(LyingStr("RU"))


@pytest.mark.parametrize("value", [LyingInt(5000), LyingFloat(5000.0)])
def test_lying_numbers_cannot_escape_a_min_deny_rule(value: Any) -> None:
    """An ``int``/``float`` subclass that is below and above every bound is made plain."""
    guard = guard_denying(amount={"min": 1000})

    @guard.tool
    def pay(amount):  # type: ignore[no-untyped-def]
        raise AssertionError("must not run")

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        pay(value)


def test_the_plain_fast_path_compares_types_by_identity() -> None:
    """A metaclass claiming ``type(x) == str`` does not take the no-validation fast path."""
    guard = guard_denying(env={"eq": "prod"})
    ran: list[Any] = []

    @guard.tool
    def deploy(env: str) -> None:
        ran.append(env)

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        deploy(Chameleon("prod"))
    assert ran == []


def test_the_tool_gets_exactly_the_plain_values_the_policy_saw() -> None:
    """Nested subclasses (list, dict, set, tuple, keys) reach policy and tool as builtins."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "everyone", "allow": "*"}]}))
    got: list[Any] = []

    class MyList(list[Any]):
        pass

    class MyDict(dict[Any, Any]):
        pass

    @guard.tool
    def store(data, tags: list, meta: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
        got.extend([data, tags, meta])

    value = MyList([LyingStr("a"), MyDict({LyingStr("k"): (LyingInt(1), frozenset({"x"}))})])
    with capture_audit(guard) as events, guard.acting_as(ALICE):
        store(value, MyList([LyingStr("t")]), MyDict({"m": LyingFloat(2.5)}))
    assert got == [["a", {"k": (1, frozenset({"x"}))}], ["t"], {"m": 2.5}]
    assert _all_plain(got) and _all_plain(list(events[0].args.values()))


def _all_plain(value: Any) -> bool:
    kind = type(value)
    if kind in (list, tuple, set, frozenset):
        return all(_all_plain(v) for v in value)
    if kind is dict:
        return all(_all_plain(k) and _all_plain(v) for k, v in value.items())
    return kind in (str, int, float, bool, type(None))


def test_keyword_names_are_plain_strings() -> None:
    """A keyword name that is a ``str`` subclass (e.g. from ``guard.call``) is made plain."""
    guard = guard_denying(amount={"min": 1000})
    ran: list[Any] = []

    @guard.tool
    def pay(amount: float = 0.0) -> None:
        ran.append(amount)

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied):
        guard.call("pay", {LyingStr("amount"): 5000.0})
    assert ran == []


def test_self_referencing_and_deeply_nested_values_are_refused_not_crashed() -> None:
    """A cycle or nesting past the limit is an ArgumentError, never a RecursionError."""
    guard = guard_denying(data={"eq": "x"})

    @guard.tool
    def store(data: Any) -> None:
        raise AssertionError("must not run")

    cycle: list[Any] = []
    cycle.append(cycle)
    deep: Any = "x"
    for _ in range(150):
        deep = [deep]
    refused(guard, store, cycle)
    refused(guard, store, deep)


# -- *args and **kwargs ---------------------------------------------------------------


def test_kwargs_are_flattened_for_the_policy() -> None:
    """``def f(**kwargs)``: the deny rule on ``amount`` sees the amount and fires."""
    guard = guard_denying(amount={"min": 1000})
    ran: list[Any] = []

    @guard.tool
    def transfer(**kwargs: Any) -> None:
        ran.append(kwargs)

    with capture_audit(guard) as events, guard.acting_as(ALICE):
        transfer(to="bob", amount=5)
        with pytest.raises(PermissionDenied):
            transfer(to="bob", amount=5000)
        with pytest.raises(PermissionDenied):
            guard.call("transfer", {"amount": 5000})
    assert ran == [{"to": "bob", "amount": 5}]
    assert events[0].args == {"to": "bob", "amount": 5}


def test_kwargs_with_named_parameters_and_annotation() -> None:
    """Named parameters and ``**extra: float`` together: extras validated, NaN refused."""
    guard = guard_denying(amount={"min": 1000})
    ran: list[Any] = []

    @guard.tool
    def transfer(to: str, /, *, memo: str = "", **extra: float) -> None:
        ran.append((to, memo, extra))

    with guard.acting_as(ALICE):
        transfer("bob", amount="5")
        with pytest.raises(PermissionDenied):
            transfer("bob", memo="m", amount=5000)
    refused(guard, transfer, "bob", amount=NAN)
    refused(guard, transfer, "bob", amount="lots")
    refused(guard, transfer, "bob", to="carol")  # a **extra key shadowing a parameter
    assert ran == [("bob", "", {"amount": 5.0})]


def test_var_positional_values_are_validated_and_made_plain() -> None:
    """``*amounts: float``: each value validated (NaN refused); untyped ones made plain."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "everyone", "allow": "*"}]}))
    got: list[Any] = []

    @guard.tool
    def total(*amounts: float) -> None:
        got.append(amounts)

    @guard.tool
    def tag(*tags):  # type: ignore[no-untyped-def]
        got.append(tags)

    with guard.acting_as(ALICE):
        total(1, "2.5")
        tag(LyingStr("dev"))
    refused(guard, total, 1.0, NAN)
    assert got == [(1.0, 2.5), ("dev",)]
    assert type(got[1][0]) is str
