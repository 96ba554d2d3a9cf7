"""Label runs and what 'genuine' means: unique serials under concurrency, over-issue, cancel, keys (rotate, revoke,
status kept with the keys), verification strictness (foreign host, unsigned data), batch and offline verify."""
import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from trace import create_app, key_store, label_bases
from trace.db import get_session, make_engine
from trace.models import LabelRun, Lot, SigningKey
from trace.services import issuance, keys, labels, lots
from trace.services.errors import ValidationError
from trace.services.gs1 import label_url, parse_digital_link
from trace.services.verification import STATUSES, verify_label

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from .conftest import BASE_URL, ON_POSTGRES, login, post_form

ROOT = Path(__file__).resolve().parent.parent
RICE = ("08936045000014", "GAO-BH-2610A")  # packed as 3,700 bags of 5 kg, then some into cartons


def issue(app, gtin=RICE[0], code=RICE[1], count=3, reason=None):
    with app.app_context():
        session = get_session()
        lot = lots.find_lot(session, gtin, code)
        run = labels.issue_labels(session, key_store(app), lot, count, over_issue_reason=reason)
        session.commit()
        return labels.labels_for_run(session, key_store(app), BASE_URL, run)


def jwks_keyset(client):
    return keys.keyset_from_jwks(client.get("/.well-known/jwks.json").get_json())


def offline(url, client):
    return verify_label(url, jwks_keyset(client), (BASE_URL,)).status


def online(app, url):
    with app.app_context():
        session = get_session()
        return issuance.verify_online(session, url, keys.keyset(session, key_store(app)), label_bases(app)).status


def signed_url(app, gtin, code, serial, kid=None):
    """A URL signed with the service's own key for any serial: what someone holding a stolen key could make."""
    with app.app_context():
        store = key_store(app)
        kid = kid or max(store.kids_on_disk())
        message = f"01{gtin}10{code}\x1d21{serial}".encode()
        return label_url(BASE_URL, gtin, code, serial, keys.sign(store, kid, message))


def test_labels_verify_genuine_offline_and_online(demo_app, demo_client):
    label = issue(demo_app, count=1)[0]
    assert offline(label.url, demo_client) == "genuine"
    assert online(demo_app, label.url) == "genuine"


def test_serials_continue_across_runs_and_urls_are_stable(demo_app):
    first, second = issue(demo_app, count=2), issue(demo_app, count=2)
    assert int(second[0].serial) == int(first[-1].serial) + 1
    with demo_app.app_context():
        session = get_session()
        run = session.exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
        again = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run)
    assert [label.url for label in again] == [label.url for label in second]


def test_many_runs_at_the_same_instant_never_share_a_serial(demo_app):
    """32 runs fired at once, each in its own connection, as 32 web workers would."""
    engine = make_engine(demo_app.config["DATABASE_URL"], poolclass=NullPool)
    store = key_store(demo_app)
    with Session(engine) as session:
        lot_id = lots.find_lot(session, *RICE).id
        keys.ensure_signing_key(session, store)
        session.commit()
    barrier, errors = threading.Barrier(32), []

    def run():
        try:
            with Session(engine) as session:
                lot = session.get(Lot, lot_id)
                barrier.wait(timeout=60)
                labels.issue_labels(session, store, lot, 7)
                session.commit()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    assert errors == []
    with Session(engine) as session:
        runs = session.exec(select(LabelRun).where(LabelRun.lot_id == lot_id)).all()
        serials = [serial for run in runs for serial in range(run.first_serial, run.last_serial + 1)]
        assert len(runs) == 33 and len(serials) == len(set(serials)) == 24 + 32 * 7
        assert session.get(Lot, lot_id).serials_issued == max(serials)


def test_the_database_itself_refuses_a_run_overlapping_another(demo_app):
    engine = demo_app.extensions["trace.engine"]
    with Session(engine) as session:
        existing = session.exec(select(LabelRun).order_by(LabelRun.id)).first()
        lot_id, key_id, last = existing.lot_id, existing.signing_key_id, existing.last_serial
    with Session(engine) as session:
        session.add(LabelRun(lot_id=lot_id, signing_key_id=key_id, first_serial=last, last_serial=last + 5))
        with pytest.raises(DBAPIError):
            session.commit()
    with Session(engine) as session:  # right after it is fine
        session.add(LabelRun(lot_id=lot_id, signing_key_id=key_id, first_serial=last + 1, last_serial=last + 5))
        session.commit()


@pytest.mark.parametrize("count", [0, -3, "abc", 100_001, "2.5", None, "１２"])
def test_label_counts_outside_1_to_100000_are_refused_and_nothing_is_issued(demo_app, count):
    with demo_app.app_context():
        session = get_session()
        lot = lots.find_lot(session, *RICE)
        before = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).all()
        with pytest.raises(ValidationError) as caught:
            labels.issue_labels(session, key_store(demo_app), lot, count)
        assert list(caught.value.errors) == ["count"]
        session.rollback()
        assert session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).all() == before


def test_more_labels_than_the_lot_holds_need_a_reason_which_is_kept(demo_app):
    with demo_app.app_context():
        session = get_session()
        lot = lots.find_lot(session, *RICE)
        # 3,700 bags packed loose (the cartons hold bags), 24 labels already issued by the demo.
        assert (labels.label_capacity(session, lot), labels.labels_issued(session, lot.id)) == (3700, 24)
        with pytest.raises(ValidationError) as caught:
            labels.issue_labels(session, key_store(demo_app), lot, 3677)
        assert caught.value.errors["over_issue_reason"].startswith("The lot holds 3,700 units and 24 labels are issued")
        session.rollback()
        assert labels.labels_issued(session, lot.id) == 24
        exact = labels.issue_labels(session, key_store(demo_app), lot, 3676)  # up to the capacity: no reason needed
        over = labels.issue_labels(session, key_store(demo_app), lot, 1, over_issue_reason="Spare for a torn bag")
        session.commit()
        assert (exact.over_issue_reason, over.over_issue_reason, over.first_serial) == (None, "Spare for a torn bag", 3701)


def test_a_lot_never_packed_carries_as_many_labels_as_its_quantity(demo_app):
    with demo_app.app_context():
        session = get_session()
        assert labels.label_capacity(session, lots.find_lot(session, "08936049000034", "TK-2611-01")) == 60


def test_over_issue_through_the_api_is_a_422_until_a_reason_is_given(demo_app, demo_client):
    from trace.services import accounts
    with demo_app.app_context():
        token = accounts.create_token(get_session(), "htx.lua@demo.vn")
        get_session().commit()
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/lots/{RICE[0]}/{RICE[1]}/labels"
    refused = demo_client.post(path, json={"count": 4000}, headers=headers)
    assert refused.status_code == 422 and "over_issue_reason" in refused.get_json()["errors"]
    assert demo_client.get(path, headers=headers).get_json()[-1]["last_serial"] == 24
    done = demo_client.post(path, json={"count": 4000, "over_issue_reason": "Second print of the week"}, headers=headers)
    body = done.get_json()
    assert done.status_code == 201 and (body["first_serial"], body["last_serial"], body["count"]) == (25, 4024, 4000)
    assert body["over_issue_reason"] == "Second print of the week" and len(body["labels"]) == 4000
    csv = demo_client.get(f"/api/v1/label-runs/{body['run_id']}/labels.csv?first=30&last=31", headers=headers)
    assert csv.get_data(as_text=True).splitlines() == [
        "serial,url", f"30,{body['labels'][5]['url']}", f"31,{body['labels'][6]['url']}"]


def test_a_cancelled_run_verifies_as_cancelled_and_the_scan_page_says_when(demo_app, demo_client):
    label = issue(demo_app, count=2)[0]
    with demo_app.app_context():
        session = get_session()
        run = session.exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
        with pytest.raises(ValidationError):
            labels.cancel_run(session, run, "  ")
        labels.cancel_run(session, run, "Sheet jammed in the printer")
        session.commit()
        with pytest.raises(ValidationError):
            labels.serial_range(run)  # nothing to reprint
    assert online(demo_app, label.url) == "cancelled"
    facts = demo_client.get(label.url, headers={"Accept": "application/json"}).get_json()
    assert facts["verification"]["status"] == "cancelled" and facts["cancelled"]["reason"] == "Sheet jammed in the printer"
    page = demo_client.get(label.url, headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "Tem này đã bị hủy" in page and "Sheet jammed in the printer" in page


# ---------------------------------------------------------------- what "genuine" refuses


def test_a_genuine_signature_under_another_host_is_foreign_host_everywhere(demo_app, demo_client):
    url = issue(demo_app, count=1)[0].url
    path = url.split(BASE_URL, 1)[1]
    for phish in ["https://evil.example/phish/x" + path, "http://trace.test.evil.example" + path,
                  "http://evil.example" + path, "https://trace.test" + path, "http://trace.test/phish" + path,
                  "http://trace.test:8080" + path]:
        assert offline(phish, demo_client) == "foreign_host", phish
        answer = demo_client.post("/api/v1/verify", json={"url": phish}).get_json()
        assert answer["verification"]["status"] == "foreign_host" and answer["product"] is None, phish
    assert offline("HTTP://TRACE.TEST:80" + path, demo_client) == "genuine"
    login(demo_client, "sieuthi@demo.vn")
    page = post_form(demo_client, "/retailer/verify", {"url": "https://evil.example/phish/x" + path})
    assert "mã QR này dẫn người mua đến một trang web khác" in page.get_data(as_text=True)


def test_an_earlier_base_url_stays_ours_after_a_domain_move(demo_app, demo_client):
    url = issue(demo_app, count=1)[0].url
    demo_app.config.update(TRACE_BASE_URL="https://truyxuat.example.vn", TRACE_OTHER_BASE_URLS=(BASE_URL,))
    assert online(demo_app, url) == "genuine"
    demo_app.config.update(TRACE_OTHER_BASE_URLS=())
    assert online(demo_app, url) == "foreign_host"


@pytest.mark.parametrize("extra", ["/22/ANYTHING", "?17=291231", "&17=291231&3103=000999", "&exp=291231",
                                   "&lot=OTHER", "&10=OTHER"])
def test_unsigned_gs1_data_in_a_label_url_makes_it_malformed(demo_app, demo_client, extra):
    url = issue(demo_app, count=1)[0].url
    if extra.startswith("/22/"):
        forged = url.replace("/10/", extra + "/10/")
    elif extra.startswith("?"):
        forged = url.replace("?", extra + "&")
    else:
        forged = url + extra
    assert offline(forged, demo_client) == "malformed"
    assert online(demo_app, forged) == "malformed"
    assert demo_client.get(forged, headers={"Accept": "application/json"}).get_json()["verification"]["status"] \
        == "malformed"


def test_tracking_tags_in_the_query_do_not_change_the_verdict(demo_app, demo_client):
    url = issue(demo_app, count=1)[0].url
    assert online(demo_app, url + "&utm_source=zalo&fbclid=x") == "genuine"


def tampered_variants(url: str) -> dict:
    link = parse_digital_link(url)
    sig = link.signature
    flipped = sig[:40] + ("A" if sig[40] != "A" else "B") + sig[41:]
    base = url.split("/01/")[0]
    return {
        "lot": label_url(base, link.gtin, link.lot + "X", link.serial, sig),
        "serial": label_url(base, link.gtin, link.lot, str(int(link.serial) + 1), sig),
        "gtin": label_url(base, "08936046000013", link.lot, link.serial, sig),
        "signature": label_url(base, link.gtin, link.lot, link.serial, flipped),
    }


@pytest.mark.parametrize("part", ["lot", "serial", "gtin", "signature"])
def test_changing_any_part_of_a_label_makes_it_tampered(demo_app, demo_client, part):
    url = tampered_variants(issue(demo_app, count=1)[0].url)[part]
    assert offline(url, demo_client) == "tampered"
    assert demo_client.get(url, headers={"Accept": "application/json"}).get_json()["verification"]["status"] == "tampered"


def test_unknown_key_not_issued_and_malformed(demo_app, demo_client):
    label = issue(demo_app, count=1)[0]
    link = parse_digital_link(label.url)
    raw = keys.b64url_decode(link.signature)
    unknown = label_url(BASE_URL, link.gtin, link.lot, link.serial, keys.b64url((77).to_bytes(2, "big") + raw[2:]))
    assert offline(unknown, demo_client) == "unknown_key"
    never_issued = signed_url(demo_app, link.gtin, link.lot, "999999")
    assert offline(never_issued, demo_client) == "genuine"  # offline cannot know issuance
    assert online(demo_app, never_issued) == "not_issued"
    for bad in ["http://trace.test/01/08936045000014/10/A/21/1",  # no signature
                label.url.split("?")[0] + "?8030=short",  # wrong length
                label.url.split("?")[0] + "?8030=%%%",  # not base64url
                "not a url at all"]:
        assert offline(bad, demo_client) == "malformed"


def a_url_of_each_status(app) -> dict:
    """{status: (label URL, key id, reason)} for every verdict an online check gives (verification.STATUSES).

    Key 1 signs a label and a run that is then cancelled; key 2 takes over and key 1 is revoked."""
    old = issue(app, count=1)[0].url
    cancelled = issue(app, count=1)[0].url
    with app.app_context():
        session = get_session()
        labels.cancel_run(session, session.exec(select(LabelRun).order_by(LabelRun.id.desc())).first(), "Misprint")
        session.commit()
    assert keys_cli(app, "rotate").exit_code == 0
    assert keys_cli(app, "revoke", "1", "--reason", "Laptop stolen").exit_code == 0
    genuine = issue(app, count=1)[0].url
    link = parse_digital_link(genuine)
    signature = keys.b64url_decode(link.signature)
    return {
        "genuine": (genuine, 2, "signature valid (key 2)"),
        "tampered": (tampered_variants(genuine)["serial"], 2,
                     "the signature does not match the GTIN, lot and serial (key 2)"),
        "unknown_key": (label_url(BASE_URL, link.gtin, link.lot, link.serial,
                                  keys.b64url((77).to_bytes(2, "big") + signature[2:])), 77,
                        "key 77 is not a published key"),
        "revoked_key": (old, 1, "signed by key 1, which has been revoked"),
        "not_issued": (signed_url(app, link.gtin, link.lot, "999999"), 2, "signed, but no such label was issued"),
        "cancelled": (cancelled, 1, "issued, then its label run was cancelled"),
        "foreign_host": ("https://evil.example" + genuine.split(BASE_URL, 1)[1], 2,
                         "a genuine signature, but the URL is not on this service's address: the QR code sends "
                         "people to another website"),
        "malformed": ("https://x.test/01/123", None, "not a label URL: A GTIN has 8, 12, 13 or 14 digits."),
    }


def test_every_status_has_a_url_that_gives_it_online(demo_app):
    urls = a_url_of_each_status(demo_app)
    assert tuple(urls) == STATUSES
    assert {status: online(demo_app, url) for status, (url, _, _) in urls.items()} == {s: s for s in STATUSES}


# ---------------------------------------------------------------- keys


def keys_cli(app, *args):
    return app.test_cli_runner().invoke(args=["keys", *args])


def test_rotate_then_revoke_with_old_and_new_labels_checked_after_each_step(demo_app, demo_client):
    old = issue(demo_app, count=1)[0].url
    forged_old = signed_url(demo_app, *RICE, "888888", kid=1)
    result = keys_cli(demo_app, "rotate")
    assert result.exit_code == 0 and "Key 2 signs new labels" in result.output
    new = issue(demo_app, count=1)[0].url
    assert keys.b64url_decode(parse_digital_link(new).signature)[:2] == (2).to_bytes(2, "big")
    assert [online(demo_app, old), online(demo_app, new), offline(old, demo_client)] == ["genuine"] * 3
    statuses = {k["kid"]: k["status"] for k in demo_client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert statuses == {"1": "retired", "2": "active"}

    assert keys_cli(demo_app, "revoke", "1").exit_code == 2  # --reason is required
    result = keys_cli(demo_app, "revoke", "1", "--reason", "Laptop stolen")
    assert result.exit_code == 0, result.output
    assert [online(demo_app, old), online(demo_app, new)] == ["revoked_key", "genuine"]
    assert online(demo_app, forged_old) == "not_issued"  # issuance first: a forged serial shows no product
    assert offline(old, demo_client) == "revoked_key"
    facts = demo_client.get(forged_old, headers={"Accept": "application/json"}).get_json()
    assert facts["verification"]["status"] == "not_issued" and facts["product"] is None
    jwks = demo_client.get("/.well-known/jwks.json").get_json()["keys"]
    assert [(k["kid"], k["status"], k["revoke_reason"]) for k in jwks] == [
        ("1", "revoked", "Laptop stolen"), ("2", "active", None)]
    assert all(k["created"] and "d" not in k for k in jwks) and jwks[0]["retired"] and jwks[0]["revoked"]
    listing = keys_cli(demo_app, "list").output.splitlines()
    assert [line.split("\t")[:2] for line in listing] == [["1", "revoked"], ["2", "active"]]
    page = demo_client.get(old).get_data(as_text=True)
    assert "khóa ký của nó đã bị thu hồi" in page


def test_a_database_rebuilt_beside_keys_cannot_bring_a_revoked_key_back(app):
    with app.app_context():
        session = get_session()
        first = keys.ensure_signing_key(session, key_store(app))
        keys.revoke(session, key_store(app), first.kid, "Compromised")
        session.commit()
        for row in session.exec(select(SigningKey)).all():
            session.delete(row)
        session.commit()
        signing = keys.ensure_signing_key(session, key_store(app))
        session.commit()
        rows = {row.kid: row.status for row in session.exec(select(SigningKey)).all()}
        assert rows == {1: "revoked", 2: "active"} and signing.kid == 2


def test_a_rebuilt_database_adopts_existing_key_files(app):
    with app.app_context():
        session = get_session()
        public = keys.ensure_signing_key(session, key_store(app)).public_key
        session.commit()
        for row in session.exec(select(SigningKey)).all():
            session.delete(row)
        session.commit()
        again = keys.ensure_signing_key(session, key_store(app))
        assert (again.kid, again.public_key, again.status) == (1, public, "active")


def test_key_files_are_private_and_the_service_refuses_keys_others_can_read(app):
    with app.app_context():
        session = get_session()
        row = keys.ensure_signing_key(session, key_store(app))
        session.commit()
    store = key_store(app)
    assert stat.S_IMODE(os.stat(store.path(row.kid)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.status_path(row.kid)).st_mode) == 0o600
    store.directory.chmod(0o755)
    create_app({**app.config, "TESTING": True}).extensions["trace.engine"].dispose()
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    store.path(row.kid).chmod(0o644)
    with pytest.raises(RuntimeError, match="readable by others"):
        create_app({**app.config, "TESTING": True})


def test_jwks_is_rfc8037_and_never_contains_private_material(demo_client, demo_app):
    document = demo_client.get("/.well-known/jwks.json").get_json()
    (key,) = document["keys"]
    assert {k: key[k] for k in ("kty", "crv", "kid", "use", "alg", "status")} == {
        "kty": "OKP", "crv": "Ed25519", "kid": "1", "use": "sig", "alg": "EdDSA", "status": "active"}
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    assert "d" not in key
    body = open(demo_app.config["TRACE_KEYS_DIR"] + "/kid-1.pem").read()
    assert "PRIVATE KEY" in body and body not in demo_client.get("/.well-known/jwks.json").get_data(as_text=True)


def test_private_keys_are_encrypted_at_rest_with_a_passphrase(app):
    app.config["TRACE_KEY_PASSPHRASE"] = "correct horse"
    with app.app_context():
        session = get_session()
        row = keys.generate_key(session, key_store(app))
        session.commit()
        assert "ENCRYPTED PRIVATE KEY" in key_store(app).path(row.kid).read_text()
        assert keys.sign(key_store(app), row.kid, b"x")
        with pytest.raises(TypeError):
            keys.KeyStore(app.config["TRACE_KEYS_DIR"]).load(row.kid)


# ---------------------------------------------------------------- batch and offline verification


def test_batch_verify_answers_in_order_and_refuses_more_than_10000(demo_app, demo_client):
    from trace.services import accounts
    issued = issue(demo_app, count=3)
    with demo_app.app_context():
        token = accounts.create_token(get_session(), "sieuthi@demo.vn")
        get_session().commit()
    headers = {"Authorization": f"Bearer {token}"}
    cancelled = issue(demo_app, count=1)[0].url
    with demo_app.app_context():
        session = get_session()
        labels.cancel_run(session, session.exec(select(LabelRun).order_by(LabelRun.id.desc())).first(), "Misprint")
        session.commit()
    urls = [issued[0].url, tampered_variants(issued[1].url)["serial"], "https://evil.example" +
            issued[2].url.split(BASE_URL)[1], signed_url(demo_app, *RICE, "777777"), issued[1].url + "&17=291231",
            cancelled, issued[2].url, 42 and "nonsense"]
    answer = demo_client.post("/api/v1/verify/batch", json={"urls": urls}, headers=headers)
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["url"] for r in results] == urls
    assert [r["verification"]["status"] for r in results] == [
        "genuine", "tampered", "foreign_host", "not_issued", "malformed", "cancelled", "genuine", "malformed"]
    assert results[0]["verification"]["kid"] == 1 and set(results[0]["verification"]) == {"status", "kid", "reason"}
    too_many = demo_client.post("/api/v1/verify/batch", json={"urls": [issued[0].url] * 10_001}, headers=headers)
    assert too_many.status_code == 422 and "At most 10,000 URLs" in too_many.get_json()["errors"]["urls"]
    assert demo_client.post("/api/v1/verify/batch", json={"urls": [issued[0].url]}).status_code == 401
    assert demo_client.post("/api/v1/verify/batch", json={"urls": [1]}, headers=headers).status_code == 422


def test_cli_verifies_many_urls_online_and_offline_one_verdict_a_line(demo_app, demo_client, tmp_path):
    issued = issue(demo_app, count=2)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(demo_client.get("/.well-known/jwks.json").get_json()))
    urls = [issued[0].url, "https://evil.example" + issued[1].url.split(BASE_URL)[1], issued[1].url]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["verify", "--file", str(listing), "--jwks", str(jwks), "--origin", BASE_URL])
    assert result.exit_code == 1
    assert [line.split("\t")[:2] for line in result.output.splitlines()] == [
        ["genuine", urls[0]], ["foreign_host", urls[1]], ["genuine", urls[2]]]
    both_genuine = runner.invoke(args=["verify", urls[0], urls[2], "--jwks", str(jwks), "--origin", BASE_URL])
    assert both_genuine.exit_code == 0
    no_origin = runner.invoke(args=["verify", urls[0], "--jwks", str(jwks)])
    assert no_origin.exit_code == 1 and "Give --origin" in no_origin.output
    online_result = runner.invoke(args=["verify", urls[0]])
    assert online_result.exit_code == 0 and online_result.output.startswith("genuine: signature valid (key 1)")
    # The stand-alone verifier: no database, no Flask.
    done = subprocess.run([sys.executable, "-m", "trace.offline", "--jwks", str(jwks), "--origin", BASE_URL],
                          input="\n".join(urls), capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and [line.split("\t")[0] for line in done.stdout.splitlines()] == [
        "genuine", "foreign_host", "genuine"]
    probe = subprocess.run([sys.executable, "-c", "import sys, trace.offline; "
                            "print(sorted(m for m in ('flask', 'sqlalchemy', 'sqlmodel', 'PIL') if m in sys.modules))"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert probe.stdout.strip() == "[]", probe.stderr


def test_a_command_killed_half_way_leaves_nothing_issued(demo_app, tmp_path):
    out = tmp_path / "big.pdf"
    env = {**os.environ, "DATABASE_URL": demo_app.config["DATABASE_URL"],
           "TRACE_KEYS_DIR": demo_app.config["TRACE_KEYS_DIR"], "TRACE_BASE_URL": BASE_URL}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "trace", "labels", "issue", *RICE,
                                "--count", "20000", "--over-issue-reason", "test", "--out", str(out)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    partial = out.with_name(f".{out.name}.part")
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > 100_000) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.kill()
    process.wait()
    assert not out.exists()
    with Session(demo_app.extensions["trace.engine"]) as session:
        lot = lots.find_lot(session, *RICE)
        runs = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id).order_by(LabelRun.id)).all()
        assert [run.status for run in runs] == ["issued", "pending"] and labels.labels_issued(session, lot.id) == 24
    assert online(demo_app, signed_url(demo_app, *RICE, "25")) == "not_issued"
    assert issue(demo_app, count=1)[0].serial == "20025"  # the reserved range is never reused


@pytest.mark.skipif(ON_POSTGRES, reason="one run is enough: this checks the command, not the database")
def test_cli_issue_refuses_over_issue_without_a_reason(demo_app, tmp_path):
    runner = demo_app.test_cli_runner()
    refused = runner.invoke(args=["labels", "issue", *RICE, "--count", "5000", "--out", str(tmp_path / "x.csv")])
    assert refused.exit_code == 1 and "confirm with a reason" in refused.output and not (tmp_path / "x.csv").exists()
    done = runner.invoke(args=["labels", "issue", *RICE, "--count", "5000", "--out", str(tmp_path / "x.csv"),
                               "--over-issue-reason", "Export order"])
    assert done.exit_code == 0 and "Issued 5,000 labels, serials 25–5024" in done.output
    assert len((tmp_path / "x.csv").read_text().splitlines()) == 5001


def test_the_offline_verifier_takes_the_origin_from_the_jwks_url(demo_app):
    """`--jwks https://…/.well-known/jwks.json` without --origin: that service's address is the one trusted."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live = f"http://127.0.0.1:{server.server_port}"
    try:
        with demo_app.app_context():
            session = get_session()
            run = session.exec(select(LabelRun).order_by(LabelRun.id)).first()
            ours = labels.labels_for_run(session, key_store(demo_app), live, run, range(1, 2))[0].url
        elsewhere = ours.replace(live, "https://evil.example")
        done = subprocess.run([sys.executable, "-m", "trace.offline", "--jwks", f"{live}/.well-known/jwks.json",
                               ours, elsewhere], capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert [line.split("\t")[:2] for line in done.stdout.splitlines()] == [["genuine", ours],
                                                                          ["foreign_host", elsewhere]]
