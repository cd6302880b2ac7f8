"""Human approvals: single-use capabilities bound to the exact call.

An ``approve`` rule holds the calls it matches until an authorised approver
grants an approval for exactly that call: the SHA-256 of the RFC 8785 canonical
JSON of the subject, the tool, its definition, the arguments and the policy
(:func:`call_digest`). A grant is used once, expires, and is kept in a durable
store (:class:`SQLiteApprovalStore` by default, :class:`RedisApprovalStore` for
many hosts) so that it survives a restart.
"""

from guardrail.approvals.canonical import binding, call_digest, canonical, definition_hash
from guardrail.approvals.gate import ApprovalGate
from guardrail.approvals.model import ApprovalRequest, Status
from guardrail.approvals.service import Approvals
from guardrail.approvals.sqlite import SQLiteApprovalStore
from guardrail.approvals.store import ApprovalStore, store_from_uri

__all__ = [
    "ApprovalGate",
    "ApprovalRequest",
    "ApprovalStore",
    "Approvals",
    "SQLiteApprovalStore",
    "Status",
    "binding",
    "call_digest",
    "canonical",
    "definition_hash",
    "store_from_uri",
]


def __getattr__(name: str) -> object:
    # redis-py is imported only when the Redis store is asked for.
    if name == "RedisApprovalStore":
        from guardrail.approvals.redis import RedisApprovalStore

        return RedisApprovalStore
    raise AttributeError(name)
