"""Public halves of signing keys, read from a JWKS: all an offline verifier needs (no database, no web framework)."""
import base64
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

KEY_STATUSES = ("active", "retired", "revoked")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PublicKey:
    kid: int
    key: Ed25519PublicKey
    status: str

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            self.key.verify(signature, message)
            return True
        except InvalidSignature:
            return False


def keyset_from_jwks(document: dict) -> dict:
    """kid -> PublicKey from a JWKS document; keys that are not Ed25519 OKP keys are skipped.

    A plain JWKS has no status: its keys are active. A status word we do not know is taken as revoked."""
    keys = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        try:
            kid = int(entry["kid"])
            key = Ed25519PublicKey.from_public_bytes(b64url_decode(entry["x"]))
        except (KeyError, ValueError, TypeError):
            continue
        status = entry.get("status", "active")
        keys[kid] = PublicKey(kid, key, status if status in KEY_STATUSES else "revoked")
    return keys
