"""Ed25519 signing keys: private halves as 0600 PEM files in the keys directory, public halves in the database."""
import base64
import os
import re
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlmodel import Session, func, select

from ..models import SigningKey, utcnow

KEY_FILE = re.compile(r"kid-(\d+)\.pem")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class KeyStore:
    """The keys directory. Only this class reads or writes private keys."""

    def __init__(self, directory, passphrase: str | None = None):
        self.directory = Path(directory)
        self.passphrase = passphrase.encode() if passphrase else None

    def path(self, kid: int) -> Path:
        return self.directory / f"kid-{kid}.pem"

    def kids_on_disk(self) -> list:
        if not self.directory.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := KEY_FILE.fullmatch(p.name)))

    def write(self, kid: int, key: Ed25519PrivateKey) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        encryption = (serialization.BestAvailableEncryption(self.passphrase) if self.passphrase
                      else serialization.NoEncryption())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        fd = os.open(self.path(kid), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)

    def load(self, kid: int) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.path(kid).read_bytes(), password=self.passphrase)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"key {kid} is not an Ed25519 key")
        return key


def generate_key(session: Session, store: KeyStore) -> SigningKey:
    """A new active key; its kid follows every kid in the database and on disk."""
    highest = max([session.exec(select(func.max(SigningKey.kid))).one() or 0, *store.kids_on_disk(), 0])
    kid = highest + 1
    if kid > 0xFFFF:
        raise RuntimeError("no key numbers left (kid is two bytes)")
    private = Ed25519PrivateKey.generate()
    store.write(kid, private)
    row = SigningKey(kid=kid, public_key=b64url(raw_public_key(private.public_key())))
    session.add(row)
    session.flush()
    return row


def ensure_signing_key(session: Session, store: KeyStore) -> SigningKey:
    """The key new labels are signed with: the newest active key whose private half is on disk.

    Key files the database does not know (a database rebuilt beside an existing keys/) are
    registered first, so labels they signed still verify. With none usable, a new key is made.
    """
    known = set(session.exec(select(SigningKey.kid)).all())
    for kid in store.kids_on_disk():
        if kid not in known:
            public = store.load(kid).public_key()
            session.add(SigningKey(kid=kid, public_key=b64url(raw_public_key(public))))
    session.flush()
    on_disk = set(store.kids_on_disk())
    active = session.exec(select(SigningKey).where(SigningKey.status == "active").order_by(SigningKey.kid.desc())).all()
    for row in active:
        if row.kid in on_disk:
            return row
    return generate_key(session, store)


def sign(store: KeyStore, kid: int, message: bytes, private: Ed25519PrivateKey | None = None) -> str:
    """AI 8030 value: base64url(kid as 2 bytes big-endian || Ed25519 signature)."""
    private = private or store.load(kid)
    return b64url(kid.to_bytes(2, "big") + private.sign(message))


def jwk(row: SigningKey) -> dict:
    """RFC 8037 OKP key, with its status and dates so offline verifiers can honour revocation."""
    return {
        "kty": "OKP", "crv": "Ed25519", "x": row.public_key, "kid": str(row.kid), "use": "sig", "alg": "EdDSA",
        "status": row.status,
        "created": iso_utc(row.created_at), "retired": iso_utc(row.retired_at), "revoked": iso_utc(row.revoked_at),
    }


def iso_utc(value):
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def jwks(session: Session) -> dict:
    return {"keys": [jwk(row) for row in session.exec(select(SigningKey).order_by(SigningKey.kid)).all()]}


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
    """kid -> PublicKey from a JWKS document; keys that are not Ed25519 OKP keys are skipped."""
    keys = {}
    for entry in document.get("keys", []):
        if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
            continue
        try:
            kid = int(entry["kid"])
            raw = b64url_decode(entry["x"])
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, ValueError, TypeError):
            continue
        keys[kid] = PublicKey(kid, key, entry.get("status", "active"))
    return keys


def keyset_from_database(session: Session) -> dict:
    return keyset_from_jwks(jwks(session))


def revoke(session: Session, kid: int) -> SigningKey:
    row = session.exec(select(SigningKey).where(SigningKey.kid == kid)).one()
    row.status, row.revoked_at = "revoked", utcnow()
    session.add(row)
    return row
