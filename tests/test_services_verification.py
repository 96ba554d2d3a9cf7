"""The one label verifier and the public keys it reads: each verdict a scan shows, with its exact reason."""
from trace.services.gs1 import check_digit, element_string, label_url
from trace.services.keys_public import PublicKey, b64url, b64url_decode, keyset_from_jwks
from trace.services.verification import Verification, check_signature, verify_label, with_issuance
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

BASE = "https://trace.example.vn"
GTIN = "0893600000001" + str(check_digit("0893600000001"))
KID = 7
PRIVATE = Ed25519PrivateKey.generate()


def signed_url(lot="LUA-01", serial="42", kid=KID, private=PRIVATE, base=BASE, gtin=GTIN, extra=""):
    signature = kid.to_bytes(2, "big") + private.sign(element_string(gtin, lot, serial).encode("ascii"))
    return label_url(base, gtin, lot, serial, b64url(signature)) + extra


def keyset(status="active", kid=KID, private=PRIVATE):
    return {kid: PublicKey(kid, private.public_key(), status)}


def test_a_label_signed_by_a_published_key_on_our_address_is_genuine():
    verdict = verify_label(signed_url(), keyset(), (BASE,))
    assert (verdict.status, verdict.reason, verdict.kid, verdict.signed) == ("genuine", "signature valid (key 7)", 7, True)
    assert verdict.genuine is True
    assert (verdict.link.gtin, verdict.link.lot, verdict.link.serial) == (GTIN, "LUA-01", "42")
    assert verdict.as_json() == {"status": "genuine", "kid": 7, "reason": "signature valid (key 7)"}


def test_any_of_the_service_addresses_will_do():
    old = "https://old.example.vn/trace"
    verdict = verify_label(signed_url(base=old), keyset(), (BASE, old))
    assert verdict.status == "genuine"


@pytest.mark.parametrize("url, reason", [
    ("ftp://x/01/" + GTIN, "not a label URL: not an http(s) URL with a host"),
    (f"{BASE}/01/{GTIN}", "a label URL carries a GTIN, a lot (10) and a serial (21)"),
    (f"{BASE}/01/{GTIN}/10/A", "a label URL carries a GTIN, a lot (10) and a serial (21)"),
    (f"{BASE}/01/{GTIN}/21/5", "a label URL carries a GTIN, a lot (10) and a serial (21)"),
    (f"{BASE}/01/{GTIN}/10/A/21/5", "no signature (8030) in the URL"),
    (f"{BASE}/01/{GTIN}/10/A/21/5?8030=ab+cd", "the signature is not base64url"),
    (f"{BASE}/01/{GTIN}/10/A/21/5?8030=AAAA", "the signature has 3 bytes, not 2 + 64"),
])
def test_a_url_that_is_not_a_whole_label_is_malformed_with_the_reason(url, reason):
    verdict = verify_label(url, keyset(), (BASE,))
    assert (verdict.status, verdict.reason, verdict.signed, verdict.genuine) == ("malformed", reason, False, False)
    assert (verdict.link.gtin if verdict.link else None) == (None if url.startswith("ftp:") else GTIN)


def test_a_malformed_verdict_keeps_what_could_be_parsed():
    verdict = verify_label(f"{BASE}/01/{GTIN}/10/A", keyset(), (BASE,))
    assert (verdict.link.gtin, verdict.link.lot, verdict.link.serial) == (GTIN, "A", None)
    assert verify_label("not a url", keyset(), (BASE,)).link is None


def test_gs1_data_the_signature_does_not_cover_makes_the_label_malformed():
    with_cpv = signed_url().replace("/10/", "/22/V1/10/")
    verdict = verify_label(with_cpv, keyset(), (BASE,))
    assert (verdict.status, verdict.reason) == ("malformed", "unsigned GS1 data in the URL: 22")
    assert verdict.link.qualifiers == {"22": "V1", "10": "LUA-01", "21": "42"}
    verdict = verify_label(signed_url(extra="&17=270101&exp=270202"), keyset(), (BASE,))
    assert (verdict.status, verdict.reason) == ("malformed", "unsigned GS1 data in the URL: 17, exp")


def test_a_tracking_tag_in_the_query_is_not_gs1_data_and_does_not_matter():
    assert verify_label(signed_url(extra="&utm_source=zalo"), keyset(), (BASE,)).status == "genuine"


def test_a_signature_of_the_right_length_from_no_published_key_is_unknown():
    verdict = verify_label(signed_url(kid=300), keyset(), (BASE,))
    assert (verdict.status, verdict.reason, verdict.kid, verdict.signed) == (
        "unknown_key", "key 300 is not a published key", 300, False)
    assert verdict.link.serial == "42"


def test_a_label_whose_lot_or_serial_was_changed_is_tampered():
    url = signed_url(serial="42").replace("/21/42", "/21/43")
    verdict = verify_label(url, keyset(), (BASE,))
    assert (verdict.status, verdict.reason, verdict.kid, verdict.signed) == (
        "tampered", "the signature does not match the GTIN, lot and serial (key 7)", 7, False)
    assert verdict.link.serial == "43"


def test_a_signature_by_another_private_key_under_our_kid_is_tampered():
    verdict = verify_label(signed_url(private=Ed25519PrivateKey.generate()), keyset(), (BASE,))
    assert verdict.status == "tampered"


def test_a_genuine_signature_on_another_website_is_foreign_host():
    verdict = verify_label(signed_url(base="https://trace.example.vn.evil.test"), keyset(), (BASE,))
    assert (verdict.status, verdict.kid, verdict.signed) == ("foreign_host", 7, False)
    assert verdict.link.parts.netloc == "trace.example.vn.evil.test"
    assert verdict.reason == ("a genuine signature, but the URL is not on this service's address: "
                              "the QR code sends people to another website")


def test_a_label_signed_by_a_revoked_key_says_so_but_was_signed():
    verdict = verify_label(signed_url(), keyset(status="revoked"), (BASE,))
    assert (verdict.status, verdict.reason, verdict.signed) == ("revoked_key", "signed by key 7, which has been revoked", True)


def test_a_retired_key_still_verifies_the_labels_it_signed():
    assert verify_label(signed_url(), keyset(status="retired"), (BASE,)).status == "genuine"


def run(status="issued", cancelled_at=None):
    return SimpleNamespace(status=status, cancelled_at=cancelled_at)


def test_online_a_signed_label_of_an_issued_run_stays_genuine_and_carries_the_run():
    found = run()
    asked = []
    verdict = verify_label(signed_url(), keyset(), (BASE,), lambda link: asked.append(link) or found)
    assert (verdict.status, verdict.reason, verdict.kid, verdict.run, verdict.signed) == (
        "genuine", "signature valid (key 7)", 7, found, False)
    assert [(link.lot, link.serial) for link in asked] == [("LUA-01", "42")]


@pytest.mark.parametrize("found, status, reason", [
    (None, "not_issued", "signed, but no such label was issued"),
    (run(status="reserved"), "not_issued", "signed, but no such label was issued"),
    (run(cancelled_at="2026-01-01"), "cancelled", "issued, then its label run was cancelled"),
])
def test_online_issuance_decides_before_the_key_status(found, status, reason):
    verdict = verify_label(signed_url(), keyset(status="revoked"), (BASE,), lambda link: found)
    assert (verdict.status, verdict.reason, verdict.kid) == (status, reason, 7)
    assert verdict.link.serial == "42"
    assert verdict.run is (found if status == "cancelled" else None)


def test_online_a_revoked_key_on_an_issued_run_stays_revoked():
    verdict = verify_label(signed_url(), keyset(status="revoked"), (BASE,), lambda link: run())
    assert (verdict.status, verdict.reason) == ("revoked_key", "signed by key 7, which has been revoked")


def test_online_the_database_is_not_asked_about_labels_that_are_not_signed():
    def must_not_be_called(link):
        raise AssertionError("asked the database about an unsigned label")
    verdict = verify_label(signed_url(base="https://elsewhere.test"), keyset(), (BASE,), must_not_be_called)
    assert verdict.status == "foreign_host"


def test_with_issuance_leaves_an_unsigned_verdict_alone():
    verdict = Verification("tampered", "why", 7)
    assert with_issuance(verdict, None) is verdict
    assert check_signature(signed_url(), {}, (BASE,)).status == "unknown_key"


def test_b64url_round_trip_without_padding():
    assert b64url(b"\xfb\xff") == "-_8"
    assert b64url_decode("-_8") == b"\xfb\xff"
    assert b64url_decode("") == b""
    assert b64url_decode("AAAAAAAAAA") == bytes(7)  # ten characters: two '=' of padding, not more, not none
    assert b64url(b"\x00\x00\x17") == "AAAX"  # an X at the end is data, not padding
    for bad in ("+/8", "-_8=", "a b"):
        with pytest.raises(ValueError) as refused:
            b64url_decode(bad)
        assert str(refused.value) == "not base64url"


def public_x(private):
    return b64url(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def test_keyset_from_jwks_keeps_ed25519_keys_with_their_status():
    other = Ed25519PrivateKey.generate()
    document = {"keys": [
        {"kty": "OKP", "crv": "Ed25519", "kid": "7", "x": public_x(PRIVATE)},
        {"kty": "OKP", "crv": "Ed25519", "kid": 8, "x": public_x(other), "status": "retired"},
        {"kty": "OKP", "crv": "Ed25519", "kid": 9, "x": public_x(other), "status": "revoked"},
        {"kty": "OKP", "crv": "Ed25519", "kid": 10, "x": public_x(other), "status": "lost?"},
    ]}
    keys = keyset_from_jwks(document)
    assert {kid: key.status for kid, key in keys.items()} == {7: "active", 8: "retired", 9: "revoked", 10: "revoked"}
    assert keys[7].kid == 7
    message = b"01" + GTIN.encode()
    assert keys[7].verifies(PRIVATE.sign(message), message) is True
    assert keys[7].verifies(other.sign(message), message) is False


@pytest.mark.parametrize("entry", [
    {"kty": "EC", "crv": "Ed25519", "kid": 1, "x": public_x(PRIVATE)},
    {"kty": "OKP", "crv": "X25519", "kid": 1, "x": public_x(PRIVATE)},
    {"kty": "OKP", "crv": "Ed25519", "x": public_x(PRIVATE)},
    {"kty": "OKP", "crv": "Ed25519", "kid": "one", "x": public_x(PRIVATE)},
    {"kty": "OKP", "crv": "Ed25519", "kid": 1},
    {"kty": "OKP", "crv": "Ed25519", "kid": 1, "x": "not base64!"},
    {"kty": "OKP", "crv": "Ed25519", "kid": 1, "x": "AAAA"},
    {"kty": "OKP", "crv": "Ed25519", "kid": None, "x": public_x(PRIVATE)},
    "not a key",
])
def test_keyset_from_jwks_skips_what_is_not_a_usable_ed25519_key(entry):
    good = {"kty": "OKP", "crv": "Ed25519", "kid": 2, "x": public_x(PRIVATE)}
    assert list(keyset_from_jwks({"keys": [entry, good]})) == [2]


@pytest.mark.parametrize("document", [{}, {"keys": []}, [], "keys", None])
def test_keyset_from_a_document_without_keys_is_empty(document):
    assert keyset_from_jwks(document) == {}
