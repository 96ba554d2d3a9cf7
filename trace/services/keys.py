"""Ed25519 signing keys: private halves as 0600 PEM files in the keys directory, public halves in the database.

A key's status (active, retired, revoked) is written beside its private half too, so a database rebuilt
next to the same keys/ cannot bring a revoked key back.
"""
import json
import os
import re
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, func, select

from ..models import SigningKey, utcnow
from .errors import ValidationError, _l
from .keys_public import PublicKey, b64url, b64url_decode, keyset_from_jwks  # noqa: F401  (the one place to get them)

KEY_FILE = re.compile(r"kid-(\d+)\.pem")
STATUS_RANK = {"active": 0, "retired": 1, "revoked": 2}


def raw_public_key(key) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class KeyStore:
    """The keys directory. Only this class reads or writes private keys and their status files."""

    def __init__(self, directory, passphrase: str | None = None):
        self.directory = Path(directory)
        self.passphrase = passphrase.encode() if passphrase else None

    def path(self, kid: int) -> Path:
        return self.directory / f"kid-{kid}.pem"

    def status_path(self, kid: int) -> Path:
        return self.directory / f"kid-{kid}.json"

    def kids_on_disk(self) -> list:
        if not self.directory.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := KEY_FILE.fullmatch(p.name)))

    def _make_directory(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def write(self, kid: int, key: Ed25519PrivateKey) -> None:
        self._make_directory()
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

    def read_status(self, kid: int) -> dict:
        try:
            return json.loads(self.status_path(kid).read_text())
        except FileNotFoundError:
            return {}

    def write_status(self, kid: int, record: dict) -> None:
        """Replace the status file in one rename, so a reader never sees half of it."""
        self._make_directory()
        temporary = self.directory / f".kid-{kid}.json.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.status_path(kid))

    def version(self):
        """Changes whenever a key or a status file is written (each write renames or creates a file here)."""
        try:
            return self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def check_permissions(self) -> None:
        """Refuse a private key others can read; tighten the directory itself to 0700."""
        if not self.directory.is_dir():
            return
        exposed = [self.path(kid).name for kid in self.kids_on_disk()
                   if stat.S_IMODE(self.path(kid).stat().st_mode) & 0o077]
        if exposed:
            raise RuntimeError(f"Private keys readable by others in {self.directory}: {', '.join(exposed)}. "
                               f"Run: chmod 600 {self.directory}/kid-*.pem")
        if stat.S_IMODE(self.directory.stat().st_mode) & 0o077 and self.directory.stat().st_uid == os.getuid():
            self.directory.chmod(0o700)


def _status_record(row: SigningKey) -> dict:
    return {"kid": row.kid, "status": row.status, "created": iso_utc(row.created_at),
            "retired": iso_utc(row.retired_at), "revoked": iso_utc(row.revoked_at), "reason": row.revoke_reason}


def _stricter_on_disk(on_disk: dict, row: SigningKey) -> bool:
    """Whether the status written beside the key is further along (active < retired < revoked) than the row's."""
    return STATUS_RANK.get(on_disk.get("status"), -1) > STATUS_RANK[row.status]


def _parse_time(text):
    return datetime.fromisoformat(text) if text else None  # "…Z" included, since Python 3.11


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
    store.write_status(kid, _status_record(row))
    return row


def sync_from_disk(session: Session, store: KeyStore) -> None:
    """Register key files the database does not know, and let the stricter status of disk and database win."""
    rows = {row.kid: row for row in session.exec(select(SigningKey)).all()}
    for kid in store.kids_on_disk():
        if kid not in rows:
            rows[kid] = SigningKey(kid=kid, public_key=b64url(raw_public_key(store.load(kid).public_key())))
            session.add(rows[kid])
    for kid, row in rows.items():
        on_disk = store.read_status(kid)
        if _stricter_on_disk(on_disk, row):
            row.status = on_disk["status"]
            row.retired_at = _parse_time(on_disk.get("retired")) or row.retired_at
            row.revoked_at = _parse_time(on_disk.get("revoked")) or row.revoked_at
            row.revoke_reason = on_disk.get("reason") or row.revoke_reason
            session.add(row)
        elif store.path(kid).exists() and on_disk.get("status") != row.status:
            store.write_status(kid, _status_record(row))
    session.flush()


def ensure_signing_key(session: Session, store: KeyStore) -> SigningKey:
    """The key new labels are signed with: the newest active key whose private half is on disk; else a new one."""
    sync_from_disk(session, store)
    on_disk = set(store.kids_on_disk())
    active = session.exec(select(SigningKey).where(SigningKey.status == "active").order_by(SigningKey.kid.desc())).all()
    for row in active:
        if row.kid in on_disk:
            return row
    return generate_key(session, store)


def rotate(session: Session, store: KeyStore) -> SigningKey:
    """A new key signs from now on; the keys before it are retired, and their labels stay genuine."""
    sync_from_disk(session, store)
    now = utcnow()
    for row in session.exec(select(SigningKey).where(SigningKey.status == "active")).all():
        row.status, row.retired_at = "retired", now
        session.add(row)
        store.write_status(row.kid, _status_record(row))
    return generate_key(session, store)


def revoke(session: Session, store: KeyStore, kid, reason: str) -> SigningKey:
    """Labels signed by this key verify as revoked_key from now on; the next run is signed by another key."""
    sync_from_disk(session, store)
    reason = (reason or "").strip()
    errors = {}
    number = str(kid).strip()
    row = session.exec(select(SigningKey).where(SigningKey.kid == int(number))).first() \
        if number.isascii() and number.isdigit() and len(number) <= 5 else None
    if row is None:
        errors["kid"] = _l("No key has this number.")
    elif row.status == "revoked":
        errors["kid"] = _l("Key %(kid)s is already revoked.", kid=row.kid)
    if not reason or len(reason) > 300:
        errors["reason"] = _l("Give the reason (1 to 300 characters): it is published with the key.")
    if errors:
        raise ValidationError(errors)
    row.status, row.revoked_at, row.revoke_reason = "revoked", utcnow(), reason
    session.add(row)
    session.flush()
    store.write_status(row.kid, _status_record(row))
    return row


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
        "revoke_reason": row.revoke_reason,
    }


def iso_utc(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def jwks(session: Session, store: KeyStore | None = None) -> dict:
    """Every key that ever signed, public parts only; a status written on disk is stricter than the database's."""
    keys = []
    for row in session.exec(select(SigningKey).order_by(SigningKey.kid)).all():
        entry = jwk(row)
        on_disk = store.read_status(row.kid) if store is not None else {}
        if _stricter_on_disk(on_disk, row):
            entry.update(status=on_disk["status"], retired=on_disk.get("retired"), revoked=on_disk.get("revoked"),
                         revoke_reason=on_disk.get("reason"))
        keys.append(entry)
    return {"keys": keys}


class CachedKeyset:
    """The verifying keys, built once per process and rebuilt when a key file or status file changes.

    A key made by another process shows on disk before its database row commits; a kid not found is
    therefore looked up again (at most once a second, so unknown kids cannot make every scan read keys).
    """

    def __init__(self, store: KeyStore):
        self.store = store
        self.version = object()
        self.keys: dict = {}
        self.built = 0.0

    def build(self, session: Session) -> None:
        self.version = self.store.version()
        self.keys = keyset_from_jwks(jwks(session, self.store))
        self.built = time.monotonic()


class SessionKeyset:
    """A cached keyset as one request sees it: `get(kid)` as on a dict."""

    def __init__(self, cache: CachedKeyset, session: Session):
        self.cache, self.session = cache, session
        if cache.store.version() != cache.version:
            cache.build(session)

    def get(self, kid: int):
        if kid not in self.cache.keys and time.monotonic() - self.cache.built > 1.0:
            self.cache.build(self.session)
        return self.cache.keys.get(kid)


_keysets: dict = {}


def keyset(session: Session, store: KeyStore) -> SessionKeyset:
    token = (str(session.get_bind().url), str(store.directory))
    if token not in _keysets:
        _keysets[token] = CachedKeyset(store)
    return SessionKeyset(_keysets[token], session)
