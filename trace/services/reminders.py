"""What a producer should see to first: certificates lapsed or about to, OCOP ratings about to lapse, lots still
held past their best-before date. Computed for a day, never stored."""
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from ..models import Certificate, OcopRating, Product
from . import certificates, lots

CERTIFICATE_NOTICE = timedelta(days=60)  # a VietGAP audit is booked weeks ahead
OCOP_NOTICE = timedelta(days=90)  # re-rating goes through the ward's yearly round


@dataclass(frozen=True)
class Reminder:
    kind: str  # certificate_lapsed, certificate_ending, ocop_ending, lot_past_date
    subject: str  # the certificate's number, the product's name, or the lot's code
    day: date  # when it lapsed or lapses
    link: tuple  # (endpoint, its arguments)
    scheme: str = ""  # a certificate's


def for_producer(session: Session, organization_id: int, today: date) -> list:
    """Reminders, the most pressing first (lapsed before lapsing, then by date)."""
    found = []
    for certificate in session.exec(select(Certificate).where(Certificate.organization_id == organization_id)):
        status = certificates.status_on(session, certificate, today)
        link = ("producer.certificates_page", {})
        if status in ("expired", "suspended", "revoked") and today - certificate.valid_to <= timedelta(days=365):
            found.append(Reminder("certificate_lapsed", certificate.number, min(today, certificate.valid_to), link,
                                  certificate.scheme))
        elif status == "active" and certificate.valid_to - today <= CERTIFICATE_NOTICE:
            found.append(Reminder("certificate_ending", certificate.number, certificate.valid_to, link,
                                  certificate.scheme))
    for rating, product in session.exec(select(OcopRating, Product).join(Product, Product.id == OcopRating.product_id)
                                        .where(Product.organization_id == organization_id)):
        current = certificates.current_ocop(session, product.id, today)
        if current is not None and current.id == rating.id and rating.valid_until - today <= OCOP_NOTICE:
            found.append(Reminder("ocop_ending", product.name_vi, rating.valid_until,
                                  ("producer.product", {"product_id": product.id})))
    for lot, product, _quantity in lots.held_lots(session, organization_id):
        best_before = lots.best_before(session, lot, product)
        if best_before is not None and best_before < today:
            found.append(Reminder("lot_past_date", lot.code, best_before, ("producer.lot", {"lot_id": lot.id})))
    urgency = {"certificate_lapsed": 0, "lot_past_date": 0, "certificate_ending": 1, "ocop_ending": 1}
    return sorted(found, key=lambda r: (urgency[r.kind], r.day, r.subject))
