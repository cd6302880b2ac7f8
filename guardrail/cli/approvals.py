"""``guardrail approvals list|show|approve|deny``: the approval requests of a store.

``approve`` and ``deny`` need the approver's bearer token (``--token``), checked
like any call's (``--issuer``, ``--audience``, ``--jwks-url`` or ``--key-file``);
the approver must satisfy the rule's ``approvers`` and may not be the requester.
With ``--audit FILE`` the decision is appended to that chain log.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime

from guardrail.approvals import Approvals, ApprovalStore, store_from_uri
from guardrail.approvals.model import STATUSES, ApprovalRequest
from guardrail.audit.chain import ChainLog
from guardrail.audit.trail import AuditTrail
from guardrail.auth.jwt import JWTAuthenticator
from guardrail.cli import _args
from guardrail.cli._errors import UsageError, printable

_COLUMNS = ("ID", "STATE", "TOOL", "REQUESTER", "RULE", "ARGS", "EXPIRES (UTC)")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("approvals", help="list, show, approve or deny approvals")
    actions = parser.add_subparsers(dest="action", metavar="COMMAND", required=True)
    listing = actions.add_parser("list", help="one line per request, newest first")
    listing.add_argument("--status", choices=STATUSES, help="only requests with this status")
    listing.set_defaults(func=list_command)
    show = actions.add_parser("show", help="every field of one request")
    show.add_argument("request_id")
    show.set_defaults(func=show_command)
    for name, verb in (("approve", "grant"), ("deny", "deny")):
        action = actions.add_parser(name, help=f"{verb} a pending request as the token's subject")
        action.add_argument("request_id")
        _auth_options(action)
        action.add_argument("--note", help="why (kept with the decision)")
        action.add_argument("--audit", help="chain log (JSONL) to record the decision in")
        action.add_argument("--audit-key", type=_args.key_text, help="HMAC key of that log")
        action.set_defaults(func=decide_command, decision=name)
    for sub in actions.choices.values():
        sub.add_argument(
            "--store", required=True, help="approval store: file, sqlite:///path, redis://..."
        )


def _auth_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", required=True, help="the approver's bearer token (a JWT)")
    parser.add_argument("--issuer", required=True, help="expected token issuer")
    parser.add_argument("--audience", required=True, help="expected token audience")
    keys = parser.add_mutually_exclusive_group(required=True)
    keys.add_argument("--jwks-url", type=_args.http_url, help="the issuer's JWKS endpoint")
    keys.add_argument("--key-file", help="the issuer's public key (PEM)")


def open_store(uri: str) -> ApprovalStore:
    """The store at ``uri``; a SQLite file must already exist (a typo is not a new store)."""
    if "://" not in uri or uri.startswith("sqlite:"):
        path = uri.removeprefix("sqlite:///")
        if path != ":memory:" and not os.path.isfile(path):
            raise UsageError(f"argument --store: no approval store at {uri}")
    return store_from_uri(uri)


def list_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        print(format_table(store.list(args.status), datetime.now(UTC).timestamp()))
    finally:
        store.close()
    return 0


def show_command(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        request = Approvals(store, AuditTrail(), None).get(args.request_id)
    finally:
        store.close()
    # ASCII JSON: every control or format character arrives escaped, nothing to forge.
    print(json.dumps(_shown(request), indent=2, sort_keys=True, default=str))
    return 0


def decide_command(args: argparse.Namespace) -> int:
    key = _args.read_key_file(args.key_file, "--key-file") if args.key_file else None
    auth = JWTAuthenticator(args.issuer, args.audience, jwks_url=args.jwks_url, key=key)
    store = open_store(args.store)
    sinks = [ChainLog(args.audit, args.audit_key)] if args.audit else []
    try:
        approvals = Approvals(store, AuditTrail(sinks), auth)
        decide = approvals.approve if args.decision == "approve" else approvals.deny
        request = decide(args.request_id, token=args.token, note=args.note)
    finally:
        for sink in sinks:
            sink.close()
        store.close()
    print(f"{request.id} {request.status} by {printable(request.decided_by or '')}")
    return 0


def _shown(request: ApprovalRequest) -> dict[str, object]:
    shown: dict[str, object] = request.to_row() | {
        "approvers": request.approvers,
        "args": request.args,
        "state": request.state(datetime.now(UTC).timestamp()),
    }
    return shown


def format_table(rows: Sequence[ApprovalRequest], now: float) -> str:
    if not rows:
        return "no approval requests"
    cells = [_COLUMNS] + [
        (
            r.id,
            r.state(now),
            printable(r.tool),
            printable(r.subject),
            printable(r.rule),
            printable(json.dumps(r.args, sort_keys=True, default=str)),
            datetime.fromtimestamp(r.expires, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
