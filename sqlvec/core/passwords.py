"""Stored password verifiers in PostgreSQL's formats (SCRAM-SHA-256, md5, plain).

The engine stores what `make_scram_verifier` returns for `CREATE ROLE ... PASSWORD`; the
wire layer checks client proofs against it. A stored value may also already be a verifier
(PostgreSQL accepts `PASSWORD 'SCRAM-SHA-256$...'` verbatim), see `to_verifier`.

    >>> v = make_scram_verifier("secret", salt=b"0123456789abcdef")
    >>> v.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    True
    >>> verify_password(v, "secret", "alice"), verify_password(v, "nope", "alice")
    (True, False)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass

SCRAM_PREFIX = "SCRAM-SHA-256$"
DEFAULT_ITERATIONS = 4096


@dataclass(frozen=True)
class ScramVerifier:
    """The parts of a stored SCRAM-SHA-256 verifier."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def saslprep(password: str) -> str:
    """A light SASLprep (RFC 4013): NFKC and non-ASCII spaces to ' ', as PostgreSQL does."""
    mapped = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in password)
    return unicodedata.normalize("NFKC", mapped)


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    """Hi(Normalize(password), salt, i) from RFC 5802."""
    return hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def make_scram_verifier(
    password: str, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> str:
    """'SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>' as pg_authid.rolpassword holds it."""
    salt = os.urandom(16) if salt is None else salt
    salted = salted_password(password, salt, iterations)
    stored_key = hashlib.sha256(hmac_sha256(salted, b"Client Key")).digest()
    server_key = hmac_sha256(salted, b"Server Key")
    return f"{SCRAM_PREFIX}{iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def parse_scram_verifier(verifier: str) -> ScramVerifier | None:
    """The parts of a SCRAM verifier, None when `verifier` is not one (or is malformed)."""
    if not verifier.startswith(SCRAM_PREFIX):
        return None
    try:
        head, keys = verifier[len(SCRAM_PREFIX):].split("$", 1)
        iterations, salt = head.split(":", 1)
        stored, server = keys.split(":", 1)
        return ScramVerifier(
            int(iterations), base64.b64decode(salt, validate=True),
            base64.b64decode(stored, validate=True), base64.b64decode(server, validate=True),
        )
    except (ValueError, TypeError):
        return None


def make_md5_verifier(password: str, user: str) -> str:
    """'md5' + md5(password || user), PostgreSQL's legacy stored format."""
    return "md5" + hashlib.md5((password + user).encode("utf-8")).hexdigest()


def is_md5_verifier(stored: str) -> bool:
    return len(stored) == 35 and stored.startswith("md5")


def to_verifier(password: str) -> str:
    """What to store for `PASSWORD 'x'`: x itself when already a verifier, else a SCRAM one."""
    if parse_scram_verifier(password) is not None or is_md5_verifier(password):
        return password
    return make_scram_verifier(password)


def verify_password(stored: str | None, password: str, user: str) -> bool:
    """Whether a cleartext password matches a stored verifier (SCRAM, md5 or plain)."""
    if not stored:
        return False
    scram = parse_scram_verifier(stored)
    if scram is not None:
        salted = salted_password(password, scram.salt, scram.iterations)
        client_key = hmac_sha256(salted, b"Client Key")
        return hmac.compare_digest(hashlib.sha256(client_key).digest(), scram.stored_key)
    if is_md5_verifier(stored):
        return hmac.compare_digest(make_md5_verifier(password, user), stored)
    return hmac.compare_digest(stored.encode("utf-8"), password.encode("utf-8"))


def verify_md5_response(stored: str | None, response: str, user: str, salt: bytes) -> bool:
    """Check an md5 auth response 'md5' + md5(md5(password || user) || salt)."""
    if not stored or parse_scram_verifier(stored) is not None:
        return False
    inner = stored[3:] if is_md5_verifier(stored) else make_md5_verifier(stored, user)[3:]
    expected = "md5" + hashlib.md5(inner.encode("ascii") + salt).hexdigest()
    return hmac.compare_digest(expected, response)
