"""Labels end to end: issue, render, decode with a real QR decoder, verify against the published JWKS."""
import base64
import os
import stat
from trace import key_store
from trace.db import get_session
from trace.models import LabelRun, SigningKey
from trace.services import keys, labels, lots
from trace.services.errors import ValidationError
from trace.services.gs1 import label_url, parse_digital_link
from trace.services.verification import verify_against_database, verify_label

import pypdfium2
import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from .conftest import BASE_URL


def issue(app, gtin="08936045000014", code="GAO-BH-2610A", count=3):
    with app.app_context():
        session = get_session()
        lot = lots.find_lot(session, gtin, code)
        run = labels.issue_labels(session, key_store(app), lot, count)
        session.commit()
        return labels.labels_for_run(session, key_store(app), BASE_URL, run)


def jwks_keyset(client):
    return keys.keyset_from_jwks(client.get("/.well-known/jwks.json").get_json())


def decode(image) -> list:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_png_label_decodes_to_the_issued_url_and_verifies_against_the_jwks(demo_app, demo_client, tmp_path):
    label = issue(demo_app, count=1)[0]
    path = tmp_path / "label.png"
    path.write_bytes(labels.render_png(label))
    assert decode(Image.open(path)) == [label.url]
    assert verify_label(label.url, jwks_keyset(demo_client)).status == "genuine"


def test_every_label_on_a_pdf_page_decodes_to_its_issued_url(demo_app, tmp_path):
    issued = issue(demo_app, count=30)  # one full A4 page of 27, and 3 on the next
    path = tmp_path / "sheet.pdf"
    path.write_bytes(labels.render_pdf(issued))
    pdf = pypdfium2.PdfDocument(path)
    assert len(pdf) == 2
    first_page = pdf[0].render(scale=300 / 72).to_pil()
    assert sorted(decode(first_page)) == sorted(label.url for label in issued[:27])
    assert sorted(decode(pdf[1].render(scale=300 / 72).to_pil())) == sorted(label.url for label in issued[27:])


def test_serials_continue_across_runs_and_urls_are_stable(demo_app):
    first, second = issue(demo_app, count=2), issue(demo_app, count=2)
    assert int(second[0].serial) == int(first[-1].serial) + 1
    with demo_app.app_context():
        session = get_session()
        run = session.exec(select(LabelRun).order_by(LabelRun.id.desc())).first()
        again = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run)
    assert [label.url for label in again] == [label.url for label in second]


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
    assert verify_label(url, jwks_keyset(demo_client)).status == "tampered"
    assert demo_client.get(url, headers={"Accept": "application/json"}).get_json()["verification"]["status"] == "tampered"


def test_unknown_key_revoked_key_not_issued_and_malformed(demo_app, demo_client, tmp_path):
    label = issue(demo_app, count=1)[0]
    link = parse_digital_link(label.url)
    raw = keys.b64url_decode(link.signature)
    other_kid = keys.b64url(int(77).to_bytes(2, "big") + raw[2:])
    unknown = label_url(BASE_URL, link.gtin, link.lot, link.serial, other_kid)
    keyset = jwks_keyset(demo_client)
    assert verify_label(unknown, keyset).status == "unknown_key"

    # Signed with the real key, but for a serial no label run issued.
    with demo_app.app_context():
        store = key_store(demo_app)
        kid = int(raw[:2].hex(), 16)
        forged_serial = "999999"
        message = f"01{link.gtin}10{link.lot}\x1d21{forged_serial}".encode()
        never_issued = label_url(BASE_URL, link.gtin, link.lot, forged_serial, keys.sign(store, kid, message))
        session = get_session()
        assert verify_label(never_issued, keyset).status == "genuine"  # offline cannot know issuance
        assert verify_against_database(session, never_issued, keyset).status == "not_issued"
        keys.revoke(session, kid)
        session.commit()
    assert verify_label(label.url, jwks_keyset(demo_client)).status == "revoked_key"
    for bad in ["http://trace.test/01/08936045000014/10/A/21/1",           # no signature
                label.url.split("?")[0] + "?8030=short",                  # wrong length
                label.url.split("?")[0] + "?8030=%%%",                    # not base64url
                "not a url at all"]:
        assert verify_label(bad, keyset).status == "malformed"


def test_jwks_is_rfc8037_and_never_contains_private_material(demo_client, demo_app):
    document = demo_client.get("/.well-known/jwks.json").get_json()
    (key,) = document["keys"]
    assert {k: key[k] for k in ("kty", "crv", "kid", "use", "alg", "status")} == {
        "kty": "OKP", "crv": "Ed25519", "kid": "1", "use": "sig", "alg": "EdDSA", "status": "active"}
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    assert "d" not in key
    private_pem = (demo_app.config["TRACE_KEYS_DIR"] + "/kid-1.pem")
    body = open(private_pem).read()
    assert "PRIVATE KEY" in body and body not in demo_client.get("/.well-known/jwks.json").get_data(as_text=True)


def test_private_keys_are_files_with_mode_0600_and_only_public_keys_in_the_database(app):
    with app.app_context():
        session = get_session()
        row = keys.ensure_signing_key(session, key_store(app))
        session.commit()
        path = key_store(app).path(row.kid)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert session.exec(select(SigningKey)).one().public_key == row.public_key
        assert "PRIVATE" not in repr(session.exec(select(SigningKey)).one())


def test_private_keys_are_encrypted_at_rest_with_a_passphrase(app):
    app.config["TRACE_KEY_PASSPHRASE"] = "correct horse"
    with app.app_context():
        session = get_session()
        row = keys.generate_key(session, key_store(app))
        session.commit()
        pem = key_store(app).path(row.kid).read_text()
        assert "ENCRYPTED PRIVATE KEY" in pem
        assert keys.sign(key_store(app), row.kid, b"x")
        with pytest.raises(TypeError):
            keys.KeyStore(app.config["TRACE_KEYS_DIR"]).load(row.kid)


def test_a_rebuilt_database_adopts_existing_key_files(app, databases, tmp_path):
    with app.app_context():
        session = get_session()
        first = keys.ensure_signing_key(session, key_store(app))
        public = first.public_key
        session.commit()
        for row in session.exec(select(SigningKey)).all():
            session.delete(row)
        session.commit()
        again = keys.ensure_signing_key(session, key_store(app))
        assert (again.kid, again.public_key) == (1, public)


@pytest.mark.parametrize("count", [0, -3, "abc", 10_001, "2.5", None])
def test_label_counts_outside_1_to_10000_are_refused_and_nothing_is_issued(demo_app, count):
    with demo_app.app_context():
        session = get_session()
        lot = lots.find_lot(session, "08936045000014", "GAO-BH-2610A")
        before = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).all()
        with pytest.raises(ValidationError):
            labels.issue_labels(session, key_store(demo_app), lot, count)
        session.rollback()
        assert session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).all() == before


def test_label_png_shows_vietnamese_text_with_the_bundled_font(demo_app):
    label = issue(demo_app, count=1)[0]
    assert "Gạo Bắc Hương" in label.product_name
    image = Image.open(__import__("io").BytesIO(labels.render_png(label)))
    assert image.size == (709, 354) and image.info["dpi"][0] == pytest.approx(300, abs=1)
