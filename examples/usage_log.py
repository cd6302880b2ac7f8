"""Write a realistic audit log: real guarded calls by many users through a ChainLog.

    python examples/usage_log.py audit.jsonl --calls 10000 --users 50

Every line comes from a real call through a ``Guard`` with the README's policy
(``examples/policy.yaml``) and its limits: support staff refund and look up
orders, customers read orders (sometimes other people's), contractors try to
refund, a few users hammer the tools until the rate limit stops them, some
lookups fail, and password resets carry a secret argument the log redacts.
The operating commands (``audit stats``, ``audit report``, ``audit replay``)
are shown on such a log in the README, and the tests build one the same way.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrail import ChainLog, Guard, GuardrailDenied, Policy, Principal, report_cost

EXAMPLE_POLICY = Path(__file__).resolve().parent / "policy.yaml"
TEAMS = ("payments", "care", "eu-support")
ORGS = ("acme", "globex")


@dataclass(frozen=True, slots=True)
class Made:
    """One call as the generator made it: who, what, and what came back."""

    principal: Principal
    tool: str
    args: dict[str, Any]
    result: str
    """``ok``, the tool's error type, or the refusal's decision kind."""


def users(count: int) -> list[Principal]:
    """Support staff (some contractors), customers and a few admins the policy ignores."""
    people = []
    for i in range(count):
        org, name = ORGS[i % 2], f"user{i:02d}"
        if i % 10 < 6:
            contractor = i % 10 == 5
            people.append(
                Principal(
                    subject=name,
                    org=org,
                    teams=(TEAMS[i % 3],),
                    roles=frozenset({"support"}),
                    attributes={"employment": "contractor" if contractor else "staff"},
                )
            )
        elif i % 10 < 9:
            people.append(Principal(subject=name, org=org, roles=frozenset({"customer"})))
        else:
            people.append(Principal(subject=name, org=org, roles=frozenset({"admin"})))
    return people


def tools(guard: Guard) -> dict[str, Callable[..., Any]]:
    @guard.tool(cost=10)
    def refund(order_id: str, amount: float) -> str:
        report_cost(amount / 10)
        return f"refunded {amount:.2f} on {order_id}"

    @guard.tool(cost=0.5)
    def lookup_order(order_id: str) -> str:
        if order_id.endswith("0"):
            raise LookupError(f"no order {order_id}")
        return f"order {order_id}: shipped"

    @guard.tool
    def get_order(customer_id: str) -> str:
        return f"orders of {customer_id}"

    @guard.tool
    def reset_password(customer_id: str, new_password: str) -> str:
        return f"password of {customer_id} reset"

    return {f.__name__: f for f in (refund, lookup_order, get_order, reset_password)}


def _pick(
    rng: random.Random, who: Principal, people: list[Principal]
) -> tuple[str, dict[str, Any]]:
    order = f"A-{rng.randrange(1000, 9999)}"
    roll = rng.random()
    if "customer" in who.roles:
        if roll < 0.7:
            other = rng.choice(people).subject if rng.random() < 0.2 else who.subject
            return "get_order", {"customer_id": other}
        if roll < 0.9:
            return "refund", {"order_id": order, "amount": round(rng.uniform(5, 80), 2)}
        return "lookup_order", {"order_id": order}
    if roll < 0.4:
        high = rng.random() < 0.15
        amount = rng.uniform(101, 500) if high else rng.uniform(5, 100)
        return "refund", {"order_id": order, "amount": round(amount, 2)}
    if roll < 0.8:
        return "lookup_order", {"order_id": order}
    if roll < 0.95:
        return "get_order", {"customer_id": rng.choice(people).subject}
    secret = f"pw-{rng.getrandbits(64):016x}"
    return "reset_password", {"customer_id": rng.choice(people).subject, "new_password": secret}


def generate(
    path: str | Path,
    *,
    calls: int = 10_000,
    user_count: int = 50,
    policy: Policy | str | Path = EXAMPLE_POLICY,
    seed: int = 7,
) -> list[Made]:
    """Make ``calls`` guarded calls by ``user_count`` users; each leaves its records in ``path``.

    Users call with Zipf-like frequencies (the busiest about a fifth of all calls),
    so heavy users meet the rate limit while light ones never do. Returns the calls
    in the order they were made (the log's calls are in the same order).
    """
    rng = random.Random(seed)
    people = users(user_count)
    weights = [1 / (rank + 1) for rank in range(user_count)]
    made: list[Made] = []
    with ChainLog(path, fsync="never") as log:
        guard = Guard(policy, audit=[log])
        table = tools(guard)
        for who in rng.choices(people, weights, k=calls):
            tool, args = _pick(rng, who, people)
            made.append(Made(who, tool, args, _call(guard, table[tool], who, args)))
    return made


def _call(guard: Guard, fn: Callable[..., Any], who: Principal, args: dict[str, Any]) -> str:
    try:
        with guard.acting_as(who):
            fn(**args)
    except GuardrailDenied as refused:
        return refused.decision_kind
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", help="the audit log to write (appended to when it exists)")
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--policy", default=str(EXAMPLE_POLICY))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    made = generate(
        args.out, calls=args.calls, user_count=args.users, policy=args.policy, seed=args.seed
    )
    print(f"{len(made)} calls by {len({m.principal.subject for m in made})} users -> {args.out}")


if __name__ == "__main__":
    main()
