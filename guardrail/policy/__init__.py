"""Policies: rules, conditions, argument constraints and the compiled evaluator."""

from guardrail.conditions import Condition
from guardrail.policy.decision import Decision
from guardrail.policy.model import Constraint, Rule
from guardrail.policy.policy import Policy

__all__ = ["Condition", "Constraint", "Decision", "Policy", "Rule"]
