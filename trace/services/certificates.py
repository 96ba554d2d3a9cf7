"""Certificates and OCOP ratings, and their status on any date (computed, never stored)."""
from datetime import date

from sqlmodel import Session, select

from ..models import (
    Certificate,
    CertificateProduct,
    CertificateSite,
    CertificateStatusChange,
    OcopRating,
    Product,
    Site,
)


def status_on(session: Session, certificate: Certificate, day: date) -> str:
    """'active', 'not_yet_valid', 'expired', 'suspended' or 'revoked' on `day`."""
    changes = session.exec(select(CertificateStatusChange)
                           .where(CertificateStatusChange.certificate_id == certificate.id)).all()
    return status_from(certificate, changes, day)


def status_from(certificate: Certificate, changes: list, day: date) -> str:
    """The status on `day`, from the certificate's dates and its dated suspensions and revocations."""
    in_effect = [c for c in changes if c.effective_on <= day]
    latest = max(in_effect, key=lambda c: (c.effective_on, c.id), default=None)
    if latest is not None and latest.status != "active":
        return latest.status
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


def current_ocop(session: Session, product_id: int, today: date) -> OcopRating | None:
    return session.exec(
        select(OcopRating).where(OcopRating.product_id == product_id, OcopRating.issued_on <= today,
                                 OcopRating.valid_until >= today)
        .order_by(OcopRating.stars.desc(), OcopRating.valid_until.desc())
    ).first()
