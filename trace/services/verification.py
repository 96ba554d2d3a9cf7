"""The one label verifier, used by the scan page, the APIs, the retailer page and the offline CLI.

Kept free of the database and the web framework so that offline verification starts fast.
"""
from collections.abc import Callable
from dataclasses import dataclass

from .gs1 import DigitalLink, DigitalLinkError, element_string, on_base, parse_digital_link
from .keys_public import b64url_decode

STATUSES = ("genuine", "tampered", "unknown_key", "revoked_key", "not_issued", "cancelled", "foreign_host",
            "malformed")
# The data a label carries; any other GS1 data element in its URL was signed by nobody.
LABEL_PATH_AIS = ("10", "21")
LABEL_QUERY_AIS = ("8030",)


@dataclass
class Verification:
    status: str
    reason: str
    kid: int | None = None
    link: DigitalLink | None = None
    run: object | None = None  # the LabelRun found by an online check
    signed: bool = False  # a valid signature by a published key, on our origin: issuance decides the rest

    @property
    def genuine(self) -> bool:
        return self.status == "genuine"

    def as_json(self) -> dict:
        return {"status": self.status, "kid": self.kid, "reason": self.reason}


def verify_label(url: str, keyset, bases: tuple, find_run: Callable | None = None) -> Verification:
    """Check a label URL: form, signature, origin, then (online, with `find_run`) issuance, then key status.

    `bases` are the base URLs labels of this service live under. Offline callers pass no `find_run`:
    a valid signature from a good key on our origin is then all they can know.
    """
    verification = check_signature(url, keyset, bases)
    if find_run is None or not verification.signed:
        return verification
    return with_issuance(verification, find_run(verification.link))


def with_issuance(verification: Verification, run) -> Verification:
    """An offline verdict completed by what the database knows; issuance comes before key status."""
    if not verification.signed:
        return verification
    kid, link = verification.kid, verification.link
    if run is None or run.status != "issued":
        return Verification("not_issued", "signed, but no such label was issued", kid, link)
    if run.cancelled_at is not None:
        return Verification("cancelled", "issued, then its label run was cancelled", kid, link, run)
    return Verification(verification.status, verification.reason, kid, link, run)


def check_signature(url: str, keyset, bases: tuple) -> Verification:
    try:
        link = parse_digital_link(url)
    except DigitalLinkError as exc:
        return Verification("malformed", f"not a label URL: {exc}")
    if link.lot is None or link.serial is None:
        return Verification("malformed", "a label URL carries a GTIN, a lot (10) and a serial (21)", link=link)
    extra = [ai for ai in link.qualifiers if ai not in LABEL_PATH_AIS]
    extra += [name for name in link.attributes if name not in LABEL_QUERY_AIS]
    if extra:
        return Verification("malformed", f"unsigned GS1 data in the URL: {', '.join(extra)}", link=link)
    if not link.signature:
        return Verification("malformed", "no signature (8030) in the URL", link=link)
    try:
        raw = b64url_decode(link.signature)
    except ValueError:
        return Verification("malformed", "the signature is not base64url", link=link)
    if len(raw) != 66:
        return Verification("malformed", f"the signature has {len(raw)} bytes, not 2 + 64", link=link)
    kid = int.from_bytes(raw[:2], "big")
    key = keyset.get(kid)
    if key is None:
        return Verification("unknown_key", f"key {kid} is not a published key", kid, link)
    message = element_string(link.gtin, link.lot, link.serial).encode("ascii")
    if not key.verifies(raw[2:], message):
        return Verification("tampered", f"the signature does not match the GTIN, lot and serial (key {kid})", kid, link)
    if not any(on_base(link.parts, base) for base in bases):
        return Verification("foreign_host", "a genuine signature, but the URL is not on this service's address: "
                                            "the QR code sends people to another website", kid, link)
    if key.status == "revoked":
        return Verification("revoked_key", f"signed by key {kid}, which has been revoked", kid, link, signed=True)
    return Verification("genuine", f"signature valid (key {kid})", kid, link, signed=True)
