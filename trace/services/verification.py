"""The one label verifier, used by the scan page, the API, the retailer page and the offline CLI."""
from dataclasses import dataclass
from typing import Callable, Optional

from sqlmodel import Session, select

from ..models import LabelRun, Lot, Product
from .gs1 import DigitalLink, DigitalLinkError, element_string, parse_digital_link
from .keys import b64url_decode

STATUSES = ("genuine", "tampered", "unknown_key", "revoked_key", "not_issued", "malformed")


@dataclass
class Verification:
    status: str
    reason: str
    kid: Optional[int] = None
    link: Optional[DigitalLink] = None

    @property
    def genuine(self) -> bool:
        return self.status == "genuine"


def verify_label(url: str, keyset: dict, is_issued: Optional[Callable[[DigitalLink], bool]] = None) -> Verification:
    """Check a label URL: form, signature, key status and, when `is_issued` is given, issuance.

    Offline callers pass no `is_issued`: a valid signature from a good key is then all they can know.
    """
    try:
        link = parse_digital_link(url)
    except DigitalLinkError as exc:
        return Verification("malformed", f"not a label URL: {exc}")
    if link.lot is None or link.serial is None:
        return Verification("malformed", "a label URL carries a GTIN, a lot (10) and a serial (21)", link=link)
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
    if key.status == "revoked":
        return Verification("revoked_key", f"signed by key {kid}, which has been revoked", kid, link)
    if is_issued is not None and not is_issued(link):
        return Verification("not_issued", "signed, but no such label was issued", kid, link)
    return Verification("genuine", f"signature valid (key {kid})", kid, link)


def issued_label_run(session: Session, link: DigitalLink) -> Optional[LabelRun]:
    """The label run that issued this GTIN, lot and serial, if any."""
    if not link.serial.isdigit() or len(link.serial) > 9 or link.serial.startswith("0"):
        return None
    serial = int(link.serial)
    return session.exec(
        select(LabelRun).join(Lot, Lot.id == LabelRun.lot_id).join(Product, Product.id == Lot.product_id)
        .where(Product.gtin == link.gtin, Lot.code == link.lot,
               LabelRun.first_serial <= serial, LabelRun.last_serial >= serial)
    ).first()


def verify_against_database(session: Session, url: str, keyset: dict) -> Verification:
    return verify_label(url, keyset, lambda link: issued_label_run(session, link) is not None)
