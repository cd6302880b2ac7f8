"""Budgets and rate limits."""

from guardrail.budgets.limit import Limit

__all__ = ["Limit"]
