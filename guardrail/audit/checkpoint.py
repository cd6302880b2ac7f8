"""Signed checkpoints: an Ed25519 signature over ``(chain, seq, hash)`` of a chain.

A hash chain alone cannot show that records were cut off its end: the shorter
file is still a valid chain. A checkpoint kept beside the log (``<log>.checkpoints``,
one JSON object per line) and signed with a key the writer holds makes that
visible: :func:`guardrail.audit.verify.verify` reports every record between the
end of the file and the last checkpoint as missing. Records written after the
last checkpoint can still be cut off undetected, so checkpoint on close and
every N records, and ship the checkpoint file (or its lines) somewhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.audit._format import Scanner, canonical
from guardrail.errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: chain ``chain`` had record ``seq`` with hash ``hash``."""

    chain: str
    seq: int
    hash: str
    time: str
    key: str
    """Fingerprint of the signing key (first 16 hex of SHA-256 of the raw public key)."""
    sig: str
    """Base64 Ed25519 signature over the canonical JSON of the other fields."""

    def message(self) -> bytes:
        return canonical(self._fields()).encode()

    def to_line(self) -> bytes:
        return (canonical({**self._fields(), "sig": self.sig}) + "\n").encode()

    def _fields(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "hash": self.hash,
            "time": self.time,
            "key": self.key,
        }

    def valid(self, public_key: Ed25519PublicKey) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            public_key.verify(base64.b64decode(self.sig), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True


def fingerprint(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(private_key: Ed25519PrivateKey, chain: str, seq: int, hash_: str) -> Checkpoint:
    """A checkpoint for record ``seq`` of ``chain`` whose line hash is ``hash_``."""
    unsigned = Checkpoint(
        chain=chain,
        seq=seq,
        hash=hash_,
        time=datetime.now(UTC).isoformat(),
        key=fingerprint(private_key.public_key()),
        sig="",
    )
    sig = base64.b64encode(private_key.sign(unsigned.message())).decode()
    return Checkpoint(unsigned.chain, seq, hash_, unsigned.time, unsigned.key, sig)


class Checkpointer:
    """Appends signed checkpoints of one chain to ``<log>.checkpoints``: every
    ``every`` records, at the end of each rotated file, on close and on demand."""

    def __init__(
        self,
        path: Path,
        signing_key: Ed25519PrivateKey | bytes | str | os.PathLike[str],
        *,
        every: int | None,
        durable: bool,
    ) -> None:
        self.path = path
        self.signer = private_key(signing_key)
        self.key_id = fingerprint(self.signer.public_key())
        self.every = every
        self.durable = durable
        """fsync the checkpoint file after each line (not with ``fsync="never"``)."""
        self.signed = 0
        """The last seq signed."""

    def maybe(self, chain: Scanner, seq: int, *, force: bool = False, final: bool = False) -> None:
        """Sign record ``seq`` (the last one ``chain`` saw) when one is due."""
        if chain.chain is None or chain.last_hash is None or seq <= 0:
            return
        due = force or (final and seq > self.signed)
        due = due or (self.every is not None and seq - self.signed >= self.every)
        if not due:
            return
        point = sign(self.signer, chain.chain, seq, chain.last_hash)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            os.write(fd, point.to_line())
            if self.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.signed = seq


def read_checkpoints(path: str | Path) -> Iterator[Checkpoint | str]:
    """Checkpoints in a file, in order; a line that does not parse yields its error text."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            try:
                obj = json.loads(raw)
                yield Checkpoint(
                    chain=str(obj["chain"]),
                    seq=int(obj["seq"]),
                    hash=str(obj["hash"]),
                    time=str(obj["time"]),
                    key=str(obj["key"]),
                    sig=str(obj["sig"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                yield f"{path}:{number}: malformed checkpoint ({exc})"


def private_key(source: Ed25519PrivateKey | bytes | str | os.PathLike[str]) -> Ed25519PrivateKey:
    """An Ed25519 private key from a key object, PEM bytes or a PEM file path."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if isinstance(source, Ed25519PrivateKey):
        return source
    pem = source if isinstance(source, bytes) else Path(source).read_bytes()
    key = load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError("checkpoint signing key must be an Ed25519 private key")
    return key


def public_key(source: Ed25519PublicKey | bytes | str | os.PathLike[str]) -> Ed25519PublicKey:
    """An Ed25519 public key from a key object, PEM bytes or a PEM file path."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if isinstance(source, Ed25519PublicKey):
        return source
    pem = source if isinstance(source, bytes) else Path(source).read_bytes()
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError("checkpoint public key must be an Ed25519 public key")
    return key


def public_keys(
    sources: Iterable[Ed25519PublicKey | bytes | str | os.PathLike[str]],
) -> dict[str, Ed25519PublicKey]:
    """Public keys by fingerprint."""
    keys = [public_key(s) for s in sources]
    return {fingerprint(k): k for k in keys}
