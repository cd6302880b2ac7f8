"""Verification keys and which algorithms each may serve (no HS* for a public key)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from guardrail.errors import ConfigurationError

SUPPORTED = frozenset(
    {
        *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
        *("ES256", "ES384", "ES512", "ES256K", "EdDSA"),
        *("HS256", "HS384", "HS512"),
    }
)
_EC_CURVES = {
    "ES256": "secp256r1",
    "ES384": "secp384r1",
    "ES512": "secp521r1",
    "ES256K": "secp256k1",
}
MIN_HMAC_BYTES = 32

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)


@dataclass(frozen=True)
class VerificationKey:
    """A public key (or HMAC secret) with the algorithms it may verify."""

    key: PublicKey | bytes
    algorithms: frozenset[str]
    kid: str | None = None


def fits(alg: str, key: object) -> bool:
    """Whether ``alg`` is meant for this kind of key (RFC 8725 section 3.1)."""
    if alg.startswith(("RS", "PS")):
        return isinstance(key, rsa.RSAPublicKey)
    if alg in _EC_CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC_CURVES[alg]
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    if alg.startswith("HS"):
        return isinstance(key, bytes)
    return False


def usable_algorithms(key: object, allowed: frozenset[str]) -> frozenset[str]:
    return frozenset(alg for alg in allowed if fits(alg, key))


def check_algorithms(algorithms: Any) -> frozenset[str]:
    """Validate an allow-list: known names only, never ``none``, not empty."""
    if isinstance(algorithms, str):
        raise ConfigurationError("algorithms must be a list, e.g. ['RS256']")
    chosen = frozenset(algorithms)
    if not chosen:
        raise ConfigurationError("algorithms must not be empty")
    if any(alg.lower() == "none" for alg in chosen):
        raise ConfigurationError("algorithm 'none' is never allowed")
    unknown = sorted(chosen - SUPPORTED)
    if unknown:
        raise ConfigurationError(
            f"unsupported algorithms {unknown}; use some of {sorted(SUPPORTED)}"
        )
    return chosen


def load_key(key: Any, algorithms: frozenset[str]) -> VerificationKey:
    """A static key: a ``cryptography`` public (or private) key, PEM text, or an HMAC secret."""
    if isinstance(key, str | bytes):
        raw = key.encode() if isinstance(key, str) else key
        if raw.lstrip().startswith(b"-----BEGIN"):
            try:
                key = load_pem_public_key(raw)
            except ValueError as exc:
                raise ConfigurationError(f"key is not a PEM public key: {exc}") from None
        else:
            key = raw
    elif hasattr(key, "public_key") and not isinstance(key, bytes):
        key = key.public_key()  # a private key was passed: verify with its public half
    symmetric = isinstance(key, bytes)
    hmac_algs = {alg for alg in algorithms if alg.startswith("HS")}
    if not symmetric and hmac_algs:
        raise ConfigurationError(
            f"{sorted(hmac_algs)} would treat the public key as an HMAC secret; remove them"
        )
    if symmetric and len(key) < MIN_HMAC_BYTES:
        raise ConfigurationError(f"an HMAC secret needs at least {MIN_HMAC_BYTES} bytes")
    usable = usable_algorithms(key, algorithms)
    if not usable:
        raise ConfigurationError(f"none of {sorted(algorithms)} can use a {type(key).__name__}")
    return VerificationKey(key, usable)


def reject_hmac_for_jwks(algorithms: frozenset[str]) -> None:
    hmac_algs = sorted(alg for alg in algorithms if alg.startswith("HS"))
    if hmac_algs:
        raise ConfigurationError(f"{hmac_algs} cannot be verified with JWKS public keys")
