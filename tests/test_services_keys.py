"""Signing keys: files on disk, rows in the database, which status wins, and the keyset scans verify with."""
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from trace.db import session_scope
from trace.models import SigningKey
from trace.services import keys
from trace.services.errors import ValidationError
from trace.services.keys_public import b64url, b64url_decode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlmodel import Session, select


@pytest.fixture
def db(app):
    with session_scope(app.extensions["trace.engine"]) as session:
        yield session


@pytest.fixture
def store(tmp_path):
    return keys.KeyStore(tmp_path / "keys")


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_the_store_names_key_and_status_files_by_kid_and_lists_only_key_files(store):
    assert store.kids_on_disk() == []
    assert store.version() is None
    assert (store.path(7).name, store.status_path(7).name) == ("kid-7.pem", "kid-7.json")
    store.write(10, Ed25519PrivateKey.generate())
    store.write(2, Ed25519PrivateKey.generate())
    for other in ("kid-3.json", "kid-x.pem", "kid-4.pem.bak", "notes.txt", "akid-5.pem"):
        (store.directory / other).write_text("")
    assert store.kids_on_disk() == [2, 10]
    assert mode(store.directory) == 0o700
    assert mode(store.path(2)) == 0o600


def test_a_key_file_is_never_overwritten_and_loads_back(store):
    private = Ed25519PrivateKey.generate()
    store.write(1, private)
    with pytest.raises(FileExistsError):
        store.write(1, Ed25519PrivateKey.generate())
    assert keys.raw_public_key(store.load(1).public_key()) == keys.raw_public_key(private.public_key())
    assert b"ENCRYPTED" not in store.path(1).read_bytes()


def test_with_a_passphrase_the_key_file_is_encrypted(tmp_path):
    locked = keys.KeyStore(tmp_path / "k", "correct horse")
    locked.write(1, Ed25519PrivateKey.generate())
    assert store_text(locked, 1).startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert isinstance(locked.load(1), Ed25519PrivateKey)
    with pytest.raises(TypeError):
        keys.KeyStore(tmp_path / "k").load(1)
    assert keys.KeyStore(tmp_path / "k", "").passphrase is None


def store_text(store, kid):
    return store.path(kid).read_text()


def test_a_key_file_that_is_not_ed25519_is_refused(store):
    store.directory.mkdir(mode=0o700)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    store.path(3).write_bytes(pem)
    with pytest.raises(ValueError) as refused:
        store.load(3)
    assert str(refused.value) == "key 3 is not an Ed25519 key"


def test_status_files_are_written_whole_and_private(store):
    assert store.read_status(4) == {}
    store.write_status(4, {"kid": 4, "status": "retired"})
    assert json.loads(store.status_path(4).read_text()) == {"kid": 4, "status": "retired"}
    assert store.read_status(4) == {"kid": 4, "status": "retired"}
    assert mode(store.status_path(4)) == 0o600
    assert sorted(p.name for p in store.directory.iterdir()) == ["kid-4.json"]
    os.utime(store.directory, ns=(1, 1))
    assert store.version() == 1
    store.write_status(4, {"kid": 4, "status": "revoked"})  # a rename in the directory: its version changes
    assert store.version() != 1


def test_check_permissions_refuses_a_readable_key_and_tightens_the_directory(store):
    store.check_permissions()  # no directory yet: nothing to check
    store.write(1, Ed25519PrivateKey.generate())
    store.write(2, Ed25519PrivateKey.generate())
    store.directory.chmod(0o755)
    store.check_permissions()
    assert mode(store.directory) == 0o700
    store.path(2).chmod(0o640)
    with pytest.raises(RuntimeError) as refused:
        store.check_permissions()
    assert str(refused.value) == (f"Private keys readable by others in {store.directory}: kid-2.pem. "
                                  f"Run: chmod 600 {store.directory}/kid-*.pem")
    store.path(1).chmod(0o604)
    with pytest.raises(RuntimeError) as refused:
        store.check_permissions()
    assert str(refused.value).startswith(f"Private keys readable by others in {store.directory}: kid-1.pem, kid-2.pem. ")


def test_generate_key_numbers_after_every_kid_in_the_database_and_on_disk(db, store):
    first = keys.generate_key(db, store)
    assert (first.kid, first.status) == (1, "active")
    assert b64url_decode(first.public_key) == keys.raw_public_key(store.load(1).public_key())
    assert store.read_status(1) == {"kid": 1, "status": "active", "created": keys.iso_utc(first.created_at),
                                    "retired": None, "revoked": None, "reason": None}
    store.write(5, Ed25519PrivateKey.generate())  # a key file the database does not know yet
    assert keys.generate_key(db, store).kid == 6
    db.add(SigningKey(kid=9, public_key=first.public_key))
    db.flush()
    assert keys.generate_key(db, store).kid == 10


def test_generate_key_stops_at_the_last_two_byte_kid(db, store):
    store.directory.mkdir(mode=0o700)
    store.path(0xFFFE).write_text("")
    assert keys.generate_key(db, store).kid == 0xFFFF
    with pytest.raises(RuntimeError) as refused:
        keys.generate_key(db, store)
    assert str(refused.value) == "no key numbers left (kid is two bytes)"


def test_sync_from_disk_registers_key_files_and_the_stricter_status_wins(db, store):
    known = keys.generate_key(db, store)
    private = Ed25519PrivateKey.generate()
    store.write(2, private)
    store.write_status(1, {"kid": 1, "status": "revoked", "revoked": "2026-01-02T03:04:05Z", "reason": "laptop stolen"})
    keys.sync_from_disk(db, store)
    rows = {row.kid: row for row in db.exec(select(SigningKey)).all()}
    assert rows[2].public_key == b64url(keys.raw_public_key(private.public_key()))
    assert rows[2].status == "active"
    assert (rows[1].status, rows[1].revoked_at.replace(tzinfo=None), rows[1].revoke_reason, rows[1].retired_at) == (
        "revoked", datetime(2026, 1, 2, 3, 4, 5), "laptop stolen", None)
    assert known.kid == 1
    # The database's stricter status is written back beside the key; an equal one is left alone.
    rows[2].status, rows[2].retired_at = "retired", datetime(2026, 2, 1, tzinfo=UTC)
    keys.sync_from_disk(db, store)
    assert store.read_status(2)["status"] == "retired"
    assert store.read_status(2)["retired"] == "2026-02-01T00:00:00Z"
    assert store.read_status(1)["reason"] == "laptop stolen"


def test_a_status_on_disk_without_dates_keeps_the_rows_own(db, store):
    row = keys.generate_key(db, store)
    row.retired_at = datetime(2026, 3, 1, tzinfo=UTC)
    store.write_status(row.kid, {"kid": row.kid, "status": "retired"})
    keys.sync_from_disk(db, store)
    assert (row.status, row.retired_at.replace(tzinfo=None), row.revoke_reason) == (
        "retired", datetime(2026, 3, 1), None)


def test_ensure_signing_key_takes_the_newest_active_key_with_its_private_half(db, store):
    first = keys.ensure_signing_key(db, store)
    assert first.kid == 1
    assert keys.ensure_signing_key(db, store).kid == 1
    second = keys.generate_key(db, store)
    assert keys.ensure_signing_key(db, store).kid == second.kid
    store.path(second.kid).unlink()  # its private half is gone: the older one still signs
    assert keys.ensure_signing_key(db, store).kid == 1
    keys.revoke(db, store, 1, "lost")
    assert keys.ensure_signing_key(db, store).kid == 3


def test_rotate_retires_every_active_key_and_makes_a_new_one(db, store):
    old = keys.generate_key(db, store)
    new = keys.rotate(db, store)
    assert (old.status, new.kid, new.status) == ("retired", 2, "active")
    assert old.retired_at is not None
    assert store.read_status(1)["status"] == "retired"
    assert store.read_status(1)["retired"] == keys.iso_utc(old.retired_at)
    assert keys.ensure_signing_key(db, store).kid == 2


def test_revoke_records_the_reason_and_refuses_what_it_cannot_revoke(db, store):
    keys.generate_key(db, store)
    keys.generate_key(db, store)
    revoked = keys.revoke(db, store, " 2 ", "  key file leaked  ")
    assert (revoked.kid, revoked.status, revoked.revoke_reason) == (2, "revoked", "key file leaked")
    assert store.read_status(2)["status"] == "revoked"
    assert store.read_status(2)["reason"] == "key file leaked"
    assert store.read_status(2)["revoked"] == keys.iso_utc(revoked.revoked_at)  # when, as well as why
    assert store.read_status(2)["revoked"].endswith("Z")

    def errors(kid, reason="r"):
        with pytest.raises(ValidationError) as refused:
            keys.revoke(db, store, kid, reason)
        return refused.value.errors

    missing = {"kid": "No key has this number."}
    assert errors(7) == missing
    assert errors("abc") == missing
    assert errors("000001") == missing  # more than five digits is no kid
    assert errors("١") == missing
    assert errors(2) == {"kid": "Key 2 is already revoked."}
    reason = {"reason": "Give the reason (1 to 300 characters): it is published with the key."}
    assert errors(1, "   ") == reason
    assert errors(1, None) == reason
    assert errors(1, "x" * 301) == reason
    assert errors("x", "") == {**missing, **reason}
    assert db.get(SigningKey, 1).status == "active"
    assert keys.revoke(db, store, "00001", "x" * 300).revoke_reason == "x" * 300


def test_sign_puts_the_kid_before_the_signature(store):
    private = Ed25519PrivateKey.generate()
    store.write(258, private)
    value = b64url_decode(keys.sign(store, 258, b"message"))
    assert value[:2] == b"\x01\x02"
    private.public_key().verify(value[2:], b"message")
    assert keys.sign(None, 258, b"message", private) == keys.sign(store, 258, b"message")


def test_jwks_publishes_every_key_with_its_status_and_the_stricter_one_from_disk(db, store):
    first = keys.generate_key(db, store)
    first.created_at = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
    second = keys.rotate(db, store)
    first.retired_at = datetime(2026, 2, 1, 8, 30, 15, tzinfo=UTC)
    document = keys.jwks(db)
    assert document["keys"][0] == {"kty": "OKP", "crv": "Ed25519", "x": first.public_key, "kid": "1", "use": "sig",
                                   "alg": "EdDSA", "status": "retired", "created": "2026-01-01T07:00:00Z",
                                   "retired": "2026-02-01T08:30:15Z", "revoked": None, "revoke_reason": None}
    assert [entry["kid"] for entry in document["keys"]] == ["1", "2"]
    store.write_status(second.kid, {"status": "revoked", "revoked": "2026-03-01T00:00:00Z", "reason": "stolen",
                                    "retired": None})
    from_disk = keys.jwks(db, store)["keys"][1]
    assert (from_disk["status"], from_disk["revoked"], from_disk["revoke_reason"], from_disk["retired"]) == (
        "revoked", "2026-03-01T00:00:00Z", "stolen", None)
    assert keys.jwks(db)["keys"][1]["status"] == "active"
    assert keys.jwks(db, store)["keys"][0]["status"] == "retired"


def test_iso_utc_writes_utc_seconds_with_a_z():
    assert keys.iso_utc(datetime(2026, 1, 1, 7, 0, 5, 999, tzinfo=UTC)) == "2026-01-01T07:00:05Z"
    assert keys.iso_utc(datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7)))) == "2026-01-01T00:00:00Z"
    assert keys.iso_utc(None) is None


def test_the_keyset_is_rebuilt_when_a_key_file_changes_and_looks_again_for_an_unknown_kid(app, store):
    engine = app.extensions["trace.engine"]
    with session_scope(engine) as session:
        keys.generate_key(session, store)
    with Session(engine) as session:
        keyset = keys.keyset(session, store)
        assert keyset.get(1).status == "active"
        assert keyset.get(2) is None
        assert keys.keyset(session, store).cache is keyset.cache  # one cache per database and keys directory
    with session_scope(engine) as session:
        keys.revoke(session, store, 1, "lost")  # writes a status file: the directory changes
    with Session(engine) as session:
        assert keys.keyset(session, store).get(1).status == "revoked"
    # A key another process made: its row is there, but the directory looks unchanged.
    with session_scope(engine) as session:
        keys.generate_key(session, store)
    with Session(engine) as session:
        keyset = keys.keyset(session, store)
        keyset.cache.version = store.version()
        keyset.cache.keys.pop(2, None)
        keyset.cache.built = float("inf")  # looked up a moment ago: not again yet
        assert keyset.get(2) is None
        keyset.cache.built = 0.0  # long ago: look again
        assert keyset.get(2).status == "active"


def test_the_key_directory_is_made_with_its_missing_parents_and_private(tmp_path):
    store = keys.KeyStore(tmp_path / "instance" / "secrets" / "keys")  # a fresh deployment's path
    store.write(1, Ed25519PrivateKey.generate())
    assert mode(tmp_path / "instance" / "secrets" / "keys") == 0o700
    assert store.kids_on_disk() == [1]



def test_a_retirement_written_on_disk_reaches_the_database_and_the_jwks_with_its_time(db, store):
    keys.generate_key(db, store)
    store.write_status(1, {"status": "retired", "retired": "2026-04-01T09:15:00Z", "revoked": None, "reason": None})
    assert keys.jwks(db, store)["keys"][0]["retired"] == "2026-04-01T09:15:00Z"
    keys.sync_from_disk(db, store)
    row = db.get(SigningKey, 1)
    assert (row.status, keys.iso_utc(row.retired_at)) == ("retired", "2026-04-01T09:15:00Z")


def test_the_jwks_lists_keys_by_kid_whatever_order_they_were_stored_in(db, store):
    for kid in (5, 2, 9):
        db.add(SigningKey(kid=kid, public_key=b64url(bytes(32))))
    db.flush()
    assert [entry["kid"] for entry in keys.jwks(db)["keys"]] == ["2", "5", "9"]


def test_a_row_whose_key_file_is_gone_gets_no_status_file(db, store):
    keys.generate_key(db, store)
    db.add(SigningKey(kid=2, public_key=b64url(bytes(32)), status="retired"))  # its file was never on this disk
    db.flush()
    keys.sync_from_disk(db, store)
    assert not store.status_path(2).exists()
    assert store.read_status(1)["status"] == "active"


def test_verification_sees_a_revocation_written_on_disk_before_the_database_knows_it(app, store):
    engine = app.extensions["trace.engine"]
    with session_scope(engine) as session:
        keys.generate_key(session, store)
    store.write_status(1, {"status": "revoked", "revoked": "2026-05-01T00:00:00Z", "reason": "leaked"})
    with Session(engine) as session:
        assert keys.keyset(session, store).get(1).status == "revoked"


def test_times_are_written_in_utc_whatever_the_servers_time_zone(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        assert keys.iso_utc(datetime(2026, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=7)))) == "2026-01-01T00:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_each_database_and_keys_directory_has_its_own_cached_keyset(app, databases, tmp_path):
    from .conftest import _make_app
    other_store = keys.KeyStore(tmp_path / "other-keys")
    with Session(app.extensions["trace.engine"]) as session:
        here = keys.keyset(session, keys.KeyStore(tmp_path / "keys-a")).cache
        assert keys.keyset(session, other_store).cache is not here  # same database, another directory
    (tmp_path / "b").mkdir()
    for other_app in _make_app(databases, tmp_path / "b", "empty"):
        with Session(other_app.extensions["trace.engine"]) as session:
            assert keys.keyset(session, keys.KeyStore(tmp_path / "keys-a")).cache is not here  # same directory

