"""What a retailer checks about a supplier: its certificates and their validity, its products and OCOP stars."""
from datetime import date

from sqlmodel import Session, select

from ..models import MAX_ID, PRODUCER_KINDS, Certificate, Organization, Product
from . import certificates
from .errors import NotFound


def list_suppliers(session: Session, query: str = "") -> list:
    statement = select(Organization).where(Organization.kind.in_(PRODUCER_KINDS)).order_by(Organization.name)
    if query:
        statement = statement.where(Organization.name.ilike(f"%{query.replace(chr(0), '').strip()}%"))
    return session.exec(statement).all()


def supplier_profile(session: Session, organization_id, today: date) -> dict:
    try:
        organization_id = int(organization_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    organization = session.get(Organization, organization_id) if 1 <= organization_id <= MAX_ID else None
    if organization is None or organization.kind not in PRODUCER_KINDS:
        raise NotFound()
    rows = []
    for certificate in session.exec(select(Certificate)
                                    .where(Certificate.organization_id == organization.id)
                                    .order_by(Certificate.valid_to.desc())).all():
        sites, products = certificates.scope(session, certificate)
        status = certificates.status_on(session, certificate, today)
        rows.append({"scheme": certificate.scheme, "standard": certificate.standard,
                     "certifier": certificate.certifier, "number": certificate.number,
                     "valid_from": certificate.valid_from.isoformat(), "valid_until": certificate.valid_to.isoformat(),
                     "status": status, "valid_today": status == "active",
                     "sites": [s.name for s in sites], "products": [p.name_vi for p in products]})
    products = []
    for product in session.exec(select(Product).where(Product.organization_id == organization.id)
                                .order_by(Product.name_vi)).all():
        rating = certificates.current_ocop(session, product.id, today)
        products.append({"gtin": product.gtin, "name": product.name_vi, "name_en": product.name_en,
                         "category": product.category,
                         "ocop": {"stars": rating.stars, "valid_until": rating.valid_until.isoformat(),
                                  "decision_number": rating.decision_number} if rating else None})
    return {"organization": {"id": organization.id, "name": organization.name, "kind": organization.kind,
                             "address": organization.address, "phone": organization.phone,
                             "registration_number": organization.registration_number, "gln": organization.gln},
            "certificates": rows, "products": products}
