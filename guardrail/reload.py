"""Policy hot reload: swap a new policy into a running guard, or watch its file.

``guard.reload(policy)`` loads and checks the new policy first (a file that does
not load, or a tool the strict guard no longer accepts, leaves the old policy in
force: the error is logged, written as an audit notice and raised). Then the
steps that depend on the policy (checker, budgets, spans, audit) are rebuilt
for it and the engine is replaced in one assignment. A call reads the engine
once, when it starts: calls already running finish under the policy they
started with, calls that start afterwards run under the new one, and none is
refused because of the swap. Each record names the digest of the policy its
call ran under (the audit step of that call's engine). Caches that belong to a
policy (its evaluator, the budget keeper's plans, the span attributes) are new
with it, so nothing decided under the old policy is reused.

``Guard(policy="policy.yaml", watch=True)`` starts a :class:`PolicyWatcher`: a
daemon thread that looks at the file every ``interval`` seconds and reloads it
when its bytes change; each broken version is reported once.

.. versionadded:: 0.2
"""

from __future__ import annotations

import copy
import hashlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from guardrail.budgets.keeper import BudgetKeeper
from guardrail.call import Step
from guardrail.checks import PolicyChecker
from guardrail.errors import GuardrailError
from guardrail.pipeline import Engine
from guardrail.policy.policy import Policy
from guardrail.policy.validate import PolicyValidator

if TYPE_CHECKING:
    from guardrail.guard import Guard

log = logging.getLogger("guardrail.reload")
NOTICE_TOOL = "guardrail.policy"
"""The ``tool`` of the audit notices a reload writes (they are not calls)."""
_swapping = threading.Lock()  # one reload at a time (calls never take it)


def reload_policy(guard: Guard, source: Policy | str | Path) -> Policy:
    """Put ``source`` in force in ``guard`` (see the module docstring); returns it."""
    with _swapping:
        old = guard.policy
        try:
            policy, validator = _prepared(guard, source)
        except GuardrailError as exc:
            _report_broken(guard, source, exc)
            raise
        _swap(guard, policy, validator)
    log.info("policy reloaded from %s: %s -> %s", _named(source), old.digest, policy.digest)
    guard.notice(
        NOTICE_TOOL,
        "allowed",
        f"policy reloaded: {old.digest} -> {policy.digest}",
        source=_named(source),
        previous=old.digest,
    )
    return policy


def _prepared(guard: Guard, source: Policy | str | Path) -> tuple[Policy, PolicyValidator]:
    """The new policy, with every registered tool declared to it (the evaluator reads
    their parameters); raises what a bad file or a strict finding raises."""
    policy = source if isinstance(source, Policy) else Policy.from_file(source)
    validator = PolicyValidator(policy, guard.authenticator, strict=guard.validator.strict)
    for spec in list(guard.tools.values()):
        validator.registered(spec)
    return policy, validator


def _swap(guard: Guard, policy: Policy, validator: PolicyValidator) -> None:
    """Rebuild the policy's steps and replace the engine (the one atomic moment)."""
    old = guard.budgets
    budgets = BudgetKeeper(policy.limits, old.ledger, on_error=old.on_error, lease=old.lease)
    spans, audit = copy.copy(guard.spans), copy.copy(guard.audit)
    # The copies share their sinks list, redactor and tracer with the originals,
    # so guard.audit.add(...) after a reload still reaches every sink.
    spans.policy_digest = audit.policy_digest = policy.digest
    # The approval store stays; its records name the new policy from now on.
    gate = copy.copy(guard.checker.approvals)
    if gate is not None:
        gate.audit = audit
    guard.approvals.audit = audit
    checker = PolicyChecker(policy, gate)
    renewed: dict[int, Step] = {
        id(guard.checker): checker,
        id(guard.budgets): budgets,
        id(guard.spans): spans,
        id(guard.audit): audit,
    }
    steps = [renewed.get(id(step), step) for step in guard.steps]
    guard.policy, guard.validator, guard.checker = policy, validator, checker
    guard.budgets, guard.spans, guard.audit = budgets, spans, audit
    guard._engine = Engine(steps)


def _report_broken(guard: Guard, source: Policy | str | Path, exc: GuardrailError) -> None:
    reason = f"policy reload failed, {guard.policy.digest} stays in force: {exc}"
    log.error("%s (from %s)", reason, _named(source))
    try:
        guard.notice(NOTICE_TOOL, "error", reason, source=_named(source))
    except GuardrailError:
        log.exception("the audit notice of a failed policy reload was not written")


def _named(source: Policy | str | Path) -> str:
    return str(source) if not isinstance(source, Policy) else "(a Policy object)"


class Reloadable(Protocol):
    def reload(self, policy: str | Path) -> object: ...


class PolicyWatcher:
    """Polls ``path`` and reloads ``guard`` when the file's content changes."""

    def __init__(self, guard: Reloadable, path: str | Path, *, interval: float = 1.0) -> None:
        self.guard = guard
        self.path = Path(path)
        self.interval = interval
        self._seen = _digest(self.path)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="guardrail-policy-watch", daemon=True
        )
        self._thread.start()

    def check(self) -> bool:
        """Reload now if the file changed since last seen; whether a new policy took effect."""
        current = _digest(self.path)
        if current is None or current == self._seen:
            return False
        self._seen = current  # a broken version is reported once, not every interval
        try:
            self.guard.reload(self.path)
        except GuardrailError:
            return False  # reported by reload (log + audit notice); the old policy stays
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # never let the watcher die silently
                log.exception("policy watcher failed checking %s", self.path)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # being replaced (rename) or gone: look again next time
