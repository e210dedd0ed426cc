"""Server side of password authentication: cleartext, md5 and SCRAM-SHA-256 (RFC 5802/7677).

Sans-IO: each step takes the client's message and returns the bytes to answer with.
Unknown users get a mock verifier, so a failed login looks the same whether or not
the role exists (as PostgreSQL does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from sqlvec.core.errors import InvalidAuthorizationSpecification, ProtocolViolation
from sqlvec.core.passwords import (
    ScramVerifier,
    hmac_sha256,
    make_scram_verifier,
    parse_scram_verifier,
)

MECHANISM = "SCRAM-SHA-256"


def mock_verifier(user: str) -> ScramVerifier:
    """A stable fake verifier so unknown roles fail only at the proof check."""
    salt = hashlib.sha256(b"sqlvec-mock:" + user.encode()).digest()[:16]
    parsed = parse_scram_verifier(make_scram_verifier(os.urandom(8).hex(), salt=salt))
    assert parsed is not None
    return parsed


def _attrs(msg: str) -> dict[str, str]:
    out = {}
    for part in msg.split(","):
        if len(part) >= 2 and part[1] == "=":
            out[part[0]] = part[2:]
    return out


class ScramExchange:
    """One SCRAM-SHA-256 conversation: client-first -> server-first -> client-final -> final."""

    def __init__(self, verifier: ScramVerifier | None, user: str) -> None:
        self.verifier = verifier or mock_verifier(user)
        self.real = verifier is not None
        self.server_first = ""
        self.client_first_bare = ""
        self.gs2_header = ""
        self.nonce = ""

    def first(self, data: bytes) -> bytes:
        """Answer the client-first message with the server-first message."""
        try:
            msg = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("malformed SCRAM message") from None
        cbind, sep, rest = msg.partition(",")
        authzid, sep2, bare = rest.partition(",")
        if not sep or not sep2 or cbind not in ("n", "y") and not cbind.startswith("p="):
            raise ProtocolViolation("malformed SCRAM message")
        if cbind.startswith("p="):
            raise ProtocolViolation("channel binding is not supported")
        attrs = _attrs(bare)
        client_nonce = attrs.get("r", "")
        if not client_nonce:
            raise ProtocolViolation("malformed SCRAM message")
        self.gs2_header = f"{cbind},{authzid},"
        self.client_first_bare = bare
        self.nonce = client_nonce + base64.b64encode(os.urandom(18)).decode("ascii")
        salt = base64.b64encode(self.verifier.salt).decode("ascii")
        self.server_first = f"r={self.nonce},s={salt},i={self.verifier.iterations}"
        return self.server_first.encode("ascii")

    def final(self, data: bytes) -> bytes | None:
        """Check the client proof; the server-final message, or None when the proof is wrong."""
        try:
            msg = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolViolation("malformed SCRAM message") from None
        without_proof, _, proof_part = msg.rpartition(",p=")
        attrs = _attrs(without_proof)
        if not proof_part or attrs.get("r") != self.nonce:
            raise ProtocolViolation("malformed SCRAM message")
        cbind = base64.b64decode(attrs.get("c", "")).decode("utf-8", "replace")
        if cbind != self.gs2_header:
            raise InvalidAuthorizationSpecification("SCRAM channel binding check failed")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ProtocolViolation("malformed SCRAM message") from None
        auth_message = ",".join([self.client_first_bare, self.server_first, without_proof])
        signature = hmac_sha256(self.verifier.stored_key, auth_message.encode("utf-8"))
        if len(proof) != len(signature):
            return None
        client_key = bytes(a ^ b for a, b in zip(proof, signature))
        ok = hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key)
        if not ok or not self.real:
            return None
        server_sig = hmac_sha256(self.verifier.server_key, auth_message.encode("utf-8"))
        return b"v=" + base64.b64encode(server_sig)
