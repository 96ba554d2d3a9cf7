"""Certificates and OCOP ratings, and their status on any date (computed, never stored)."""
from datetime import date
from typing import Optional

from sqlmodel import Session, or_, select

from ..models import (
    Certificate,
    CertificateProduct,
    CertificateSite,
    CertificateStatusChange,
    Lot,
    OcopRating,
    Product,
    Site,
)


def status_on(session: Session, certificate: Certificate, day: date) -> str:
    """'active', 'not_yet_valid', 'expired', 'suspended' or 'revoked' on `day`."""
    change = session.exec(
        select(CertificateStatusChange)
        .where(CertificateStatusChange.certificate_id == certificate.id, CertificateStatusChange.effective_on <= day)
        .order_by(CertificateStatusChange.effective_on.desc(), CertificateStatusChange.id.desc())
    ).first()
    if change is not None and change.status != "active":
        return change.status
    if day < certificate.valid_from:
        return "not_yet_valid"
    if day > certificate.valid_to:
        return "expired"
    return "active"


def scope(session: Session, certificate: Certificate) -> tuple:
    sites = session.exec(select(Site).join(CertificateSite, CertificateSite.site_id == Site.id)
                         .where(CertificateSite.certificate_id == certificate.id).order_by(Site.name)).all()
    products = session.exec(select(Product).join(CertificateProduct, CertificateProduct.product_id == Product.id)
                            .where(CertificateProduct.certificate_id == certificate.id).order_by(Product.name_vi)).all()
    return sites, products


def certificates_covering(session: Session, organization_id: int, site_id: Optional[int], product_id: int) -> list:
    """The organization's certificates whose scope names the site or the product."""
    by_site = select(CertificateSite.certificate_id).where(CertificateSite.site_id == site_id)
    by_product = select(CertificateProduct.certificate_id).where(CertificateProduct.product_id == product_id)
    return session.exec(
        select(Certificate).where(Certificate.organization_id == organization_id,
                                  or_(Certificate.id.in_(by_site), Certificate.id.in_(by_product)))
        .order_by(Certificate.scheme, Certificate.valid_to.desc())
    ).all()


def lot_certifications(session: Session, lot: Lot, site: Optional[Site], today: date) -> list:
    """Each certificate that covers the lot's production site or product, with its status then and now."""
    rows = []
    for certificate in certificates_covering(session, lot.organization_id, site.id if site else None, lot.product_id):
        at_production = status_on(session, certificate, lot.produced_on)
        now = status_on(session, certificate, today)
        rows.append({
            "scheme": certificate.scheme, "standard": certificate.standard, "certifier": certificate.certifier,
            "number": certificate.number, "valid_from": certificate.valid_from.isoformat(),
            "valid_until": certificate.valid_to.isoformat(),
            "valid_at_production": at_production == "active", "valid_today": now == "active",
            "status_today": now,
        })
    return rows


def lot_claims(certifications: list) -> list:
    """Schemes the lot may claim: those with a certificate valid on its production date."""
    return sorted({row["scheme"] for row in certifications if row["valid_at_production"]})


def current_ocop(session: Session, product_id: int, today: date) -> Optional[OcopRating]:
    return session.exec(
        select(OcopRating).where(OcopRating.product_id == product_id, OcopRating.issued_on <= today,
                                 OcopRating.valid_until >= today)
        .order_by(OcopRating.stars.desc(), OcopRating.valid_until.desc())
    ).first()
