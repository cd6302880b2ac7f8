"""Real keys, a real JWKS endpoint and token minting, for tests of anything that takes JWTs.

    from support.jwks import JWKSServer, ec_key, mint, rsa_key

    key = rsa_key("k1")
    with JWKSServer([key]) as server:
        auth = JWTAuthenticator(ISSUER, AUDIENCE, jwks_url=server.url)
        token = mint(key, issuer=ISSUER, audience=AUDIENCE, subject="alice", roles=["support"])
        assert auth.authenticate(token).subject == "alice"
        server.set_keys(rsa_key("k2"))   # rotate
        server.fail(503)                 # make the endpoint fail; server.recover() undoes it
        assert server.fetches == 1       # GETs served (or refused) so far

Import it as ``support.jwks`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms
from jwt.warnings import InsecureKeyLengthWarning

__all__ = [
    "JWKSServer",
    "SigningKey",
    "b64url",
    "compose",
    "ec_key",
    "mint",
    "rsa_key",
    "standard_claims",
]

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}


@dataclass(frozen=True)
class SigningKey:
    """A private key with its ``kid`` and algorithm; ``jwk`` is the public half."""

    kid: str
    alg: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def jwk(self) -> dict[str, Any]:
        """The public JWK, with ``kid``, ``alg`` and ``use: sig``."""
        public = self.public_key
        if isinstance(public, rsa.RSAPublicKey):
            data = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            data = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**data, "kid": self.kid, "alg": self.alg, "use": "sig"}

    @property
    def public_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        """A signed JWT; ``headers`` add to ``{"kid": kid}``, a ``None`` value drops a header."""
        header = {"kid": self.kid, **(headers or {})}
        with warnings.catch_warnings():
            # Tests mint with deliberately weak keys to check the verifier refuses them.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(
                dict(claims),
                self.private_key,
                algorithm=self.alg,
                headers={k: v for k, v in header.items() if v is not None},
            )

    def sign_raw(self, header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
        """Sign exactly these JSON parts, with none of PyJWT's checks on claim values."""
        signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(payload))}"
        algorithm = get_default_algorithms()[self.alg]
        signature = algorithm.sign(signing_input.encode(), self.private_key)
        return f"{signing_input}.{b64url(signature)}"


def rsa_key(kid: str = "rsa-1", *, alg: str = "RS256", bits: int = 2048) -> SigningKey:
    """A fresh RSA key (about 50 ms to make: share it with a session fixture)."""
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=bits))


def ec_key(kid: str = "ec-1", *, alg: str = "ES256") -> SigningKey:
    """A fresh EC key on the curve ``alg`` needs (P-256 for ES256)."""
    return SigningKey(kid, alg, ec.generate_private_key(_CURVES[alg]()))


def standard_claims(
    issuer: str,
    audience: str | list[str],
    subject: Any = "alice",
    *,
    lifetime: float = 300,
    now: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The registered claims plus ``extra``; a ``None`` value drops a claim."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "exp": int(issued + lifetime),
        **extra,
    }
    return {k: v for k, v in claims.items() if v is not None}


def mint(
    key: SigningKey,
    *,
    issuer: str,
    audience: str | list[str],
    subject: Any = "alice",
    lifetime: float = 300,
    now: float | None = None,
    headers: Mapping[str, Any] | None = None,
    **extra: Any,
) -> str:
    """A token signed by ``key`` with the standard claims and any ``extra`` ones."""
    claims = standard_claims(issuer, audience, subject, lifetime=lifetime, now=now, **extra)
    return key.sign(claims, headers)


def b64url(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def compose(header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes = b"") -> str:
    """A compact token from parts, signed or not: for ``alg: none`` and forged tokens."""
    parts = [json.dumps(header).encode(), json.dumps(payload).encode()]
    return ".".join([*(b64url(p) for p in parts), b64url(signature)])


class JWKSServer:
    """A JWKS endpoint on ``127.0.0.1`` (free port) served from a daemon thread.

    ``url`` is the JWKS address; ``fetches`` counts GET requests to it.
    """

    def __init__(self, keys: Iterable[SigningKey] = (), *, path: str = "/jwks.json") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._document: bytes = b""
        self._status = 200
        self._location: str | None = None
        self._fetches = 0
        self.delay = 0.0
        """Seconds each response waits (to test timeouts)."""
        self.set_keys(*keys)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    @property
    def fetches(self) -> int:
        with self._lock:
            return self._fetches

    def reset_fetches(self) -> None:
        with self._lock:
            self._fetches = 0

    def set_keys(self, *keys: SigningKey) -> None:
        """Serve exactly these public keys from now on (rotation)."""
        self.set_document({"keys": [key.jwk for key in keys]})

    def set_document(self, document: Any) -> None:
        """Serve any JSON value (e.g. a JWKS with extra or broken keys)."""
        self.set_raw(json.dumps(document).encode())

    def set_raw(self, body: bytes) -> None:
        """Serve these bytes verbatim with status 200 (e.g. not JSON)."""
        with self._lock:
            self._document = body
            self._status = 200

    def fail(self, status: int = 503) -> None:
        """Answer every request with ``status`` until :meth:`recover`."""
        with self._lock:
            self._status = status

    def redirect(self, location: str, status: int = 302) -> None:
        """Answer every request with a redirect to ``location`` until :meth:`recover`."""
        with self._lock:
            self._status = status
            self._location = location

    def recover(self) -> None:
        with self._lock:
            self._status = 200
            self._location = None

    def start(self) -> JWKSServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> JWKSServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _respond(self, path: str) -> tuple[int, bytes, float, str | None]:
        with self._lock:
            if path.split("?")[0] != self.path:
                return 404, b"{}", 0.0, None
            self._fetches += 1
            return self._status, self._document, self.delay, self._location

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body, delay, location = server._respond(self.path)
                if delay:
                    time.sleep(delay)
                if status != 200:
                    body = b'{"error": "unavailable"}'
                self.send_response(status)
                if location is not None:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
