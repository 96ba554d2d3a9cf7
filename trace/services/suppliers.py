"""What a retailer checks about a supplier: its certificates and their validity, its products and OCOP stars."""
from datetime import date

from sqlmodel import Session, select

from ..models import (
    MAX_ID,
    PRODUCER_KINDS,
    Certificate,
    CertificateStatusChange,
    Event,
    EventLot,
    Lot,
    Organization,
    Product,
    Shipment,
)
from . import certificates, shapes
from .errors import NotFound
from .events import in_force


def list_suppliers(session: Session, query: str = "") -> list:
    statement = select(Organization).where(Organization.kind.in_(PRODUCER_KINDS)).order_by(Organization.name)
    if query:
        statement = statement.where(Organization.name.ilike(f"%{query.replace(chr(0), '').strip()}%"))
    return session.exec(statement).all()


def certificate_statuses(session: Session, organizations: list, today: date) -> dict:
    """{organization id: [(scheme, number, status today)]} for a list of suppliers, in two queries: what a buyer
    looks for first is whether the VietGAP or organic claim still holds."""
    ids = [o.id for o in organizations]
    found = session.exec(select(Certificate).where(Certificate.organization_id.in_(ids))
                         .order_by(Certificate.valid_to.desc())).all()
    changes = {}
    for change in session.exec(select(CertificateStatusChange).where(
            CertificateStatusChange.certificate_id.in_([c.id for c in found]))):
        changes.setdefault(change.certificate_id, []).append(change)
    statuses = {organization_id: [] for organization_id in ids}
    for certificate in found:
        statuses[certificate.organization_id].append(
            (certificate.scheme, certificate.number, certificates.status_from(certificate, changes.get(certificate.id, []), today)))
    return statuses


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
        shape = shapes.certificate_json(session, certificate, today)
        rows.append({**shape, "status": shape["status_today"]})  # "status": the name the profile first used
    products = []
    for product in session.exec(select(Product).where(Product.organization_id == organization.id)
                                .order_by(Product.name_vi)).all():
        products.append({"gtin": product.gtin, "name": product.name_vi, "name_en": product.name_en,
                         "category": product.category,
                         "ocop": shapes.ocop_json(certificates.current_ocop(session, product.id, today))})
    return {"organization": {"id": organization.id, "name": organization.name, "kind": organization.kind,
                             "address": organization.address, "phone": organization.phone,
                             "registration_number": organization.registration_number, "gln": organization.gln},
            "certificates": rows, "products": products}


def received_from(session: Session, buyer_id: int, supplier_id: int, most: int = 50) -> list:
    """(receipt event, shipment, line, lot, product) of what the buyer received from the supplier, newest first:
    a shop checking a supplier sees which of its lots it holds."""
    return session.exec(
        select(Event, Shipment, EventLot, Lot, Product).join(Shipment, Shipment.id == Event.shipment_id)
        .join(EventLot, EventLot.event_id == Event.id).join(Lot, Lot.id == EventLot.lot_id)
        .join(Product, Product.id == Lot.product_id)
        .where(Event.step == "receiving", Event.organization_id == buyer_id,
               Shipment.from_organization_id == supplier_id, in_force())
        .order_by(Event.event_time.desc(), Lot.code).limit(most)).all()
