"""Derived claims: which schemes a lot may carry, from every lot and every processing step behind it.

A lot is VietGAP (or GlobalG.A.P., or organic) only if every source lot it came from was harvested on a
site, or as a product, covered by a certificate of that scheme that was in force on the harvest date.
Processing steps must be covered too where the scheme certifies processing: organic, and halal, which
certifies the processor rather than the farm (a raw lot is halal when its producer holds the
certificate). One uncertified source is enough to lose the claim; the owner is told which one.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import (
    Batch,
    Certificate,
    CertificateProduct,
    CertificateSite,
    CertificateStatusChange,
    Event,
    EventLot,
    Lot,
    Organization,
    Product,
    Site,
)
from . import lineage, shapes
from .certificates import status_from
from .parse import local_datetime

SOURCES, PROCESSING = "sources", "processing"
RULES = {"vietgap": (SOURCES,), "globalgap": (SOURCES,), "organic": (SOURCES, PROCESSING), "halal": (PROCESSING,)}
SCHEME_NAMES = {"vietgap": "VietGAP", "globalgap": "GlobalG.A.P.", "organic": _l("organic"), "halal": "Halal"}


@dataclass
class Subject:
    """Something a certificate must cover: a source lot at its harvest, or a processing step on its day."""
    kind: str
    organization: Organization
    site: Site | None
    product_ids: set
    day: date
    label: str
    lot: Lot | None = None
    product: Product | None = None


@dataclass
class Claim:
    """Whether a lot may claim a scheme (`Claims.by_scheme` names which), on which certificates, or why not."""
    holds: bool = False
    supporting: list = field(default_factory=list)  # (Certificate, Subject)
    missing: list = field(default_factory=list)  # reasons, for the owner


@dataclass
class Claims:
    by_scheme: dict  # scheme -> Claim
    changes: dict  # certificate id -> its status changes, to tell the status on other days
    sources: list = field(default_factory=list)  # Subjects: the harvested lots behind the lot
    steps: list = field(default_factory=list)  # Subjects: the processing steps behind it
    upstream: set = field(default_factory=set)  # ids of the lot and every lot behind it

    def standards(self) -> list:
        return sorted(scheme for scheme, claim in self.by_scheme.items() if claim.holds)


def subjects(session: Session, upstream: set) -> tuple:
    """(sources, processing steps) behind a lot, given the ids of the lots upstream of it."""
    links = lineage.links_among(session, upstream, "back")
    rows = session.exec(select(Lot, Product, Organization, Site)
                        .join(Product, Product.id == Lot.product_id)
                        .join(Organization, Organization.id == Lot.organization_id)
                        .outerjoin(Batch, Batch.id == Lot.batch_id).outerjoin(Site, Site.id == Batch.site_id)
                        .where(Lot.id.in_(upstream), Lot.batch_id.is_not(None))
                        .order_by(Lot.produced_on, Lot.code)).all()  # the earliest harvest first, on any database
    sources = [Subject(SOURCES, org, site, {item.id}, source.produced_on,
                       f"{item.name_vi} · {source.code}", source, item) for source, item, org, site in rows]
    steps = []
    event_ids = {link.event_id for link in links}
    if event_ids:
        outputs = defaultdict(set)
        for event_id, product_id in session.exec(
                select(EventLot.event_id, Lot.product_id).join(Lot, Lot.id == EventLot.lot_id)
                .where(EventLot.event_id.in_(event_ids), EventLot.role == "output")).all():
            outputs[event_id].add(product_id)
        for event, org, site in session.exec(
                select(Event, Organization, Site).join(Organization, Organization.id == Event.organization_id)
                .outerjoin(Site, Site.id == Event.site_id).where(Event.id.in_(event_ids))).all():
            day = local_datetime(event.event_time, event.event_time_zone_offset).date()
            steps.append(Subject(PROCESSING, org, site, outputs[event.id], day, event.details.get("process", "")))
    return sources, steps


def derive(session: Session, lot: Lot) -> Claims:
    """A Claim for every scheme any certificate of the organizations behind the lot belongs to."""
    upstream = lineage.reachable(session, [lot.id], "back")
    sources, steps = subjects(session, upstream)
    organization_ids = {s.organization.id for s in sources + steps}
    certificates = session.exec(select(Certificate).where(Certificate.organization_id.in_(organization_ids))
                                .order_by(Certificate.valid_to.desc(), Certificate.id)).all()
    ids = [c.id for c in certificates]
    sites, products, changes = defaultdict(set), defaultdict(set), defaultdict(list)
    if ids:
        for certificate_id, site_id in session.exec(select(CertificateSite.certificate_id, CertificateSite.site_id)
                                                    .where(CertificateSite.certificate_id.in_(ids))).all():
            sites[certificate_id].add(site_id)
        for certificate_id, product_id in session.exec(
                select(CertificateProduct.certificate_id, CertificateProduct.product_id)
                .where(CertificateProduct.certificate_id.in_(ids))).all():
            products[certificate_id].add(product_id)
        for change in session.exec(select(CertificateStatusChange)
                                   .where(CertificateStatusChange.certificate_id.in_(ids))).all():
            changes[change.certificate_id].append(change)

    def covering(scheme: str, subject: Subject) -> Certificate | None:
        """A certificate whose scope takes in the subject (its listed areas, and its listed products)."""
        for certificate in certificates:
            listed_sites, listed_products = sites[certificate.id], products[certificate.id]
            if (certificate.scheme == scheme and certificate.organization_id == subject.organization.id
                    and (not listed_sites or (subject.site is not None and subject.site.id in listed_sites))
                    and (not listed_products or subject.product_ids & listed_products)
                    and status_from(certificate, changes[certificate.id], subject.day) == "active"):
                return certificate
        return None

    claims = {}
    for scheme in sorted({c.scheme for c in certificates}):
        needs = RULES[scheme]  # every scheme a certificate can have (models.SCHEMES)
        checked = (sources if SOURCES in needs or (PROCESSING in needs and not steps) else []) + \
                  (steps if PROCESSING in needs else [])
        claim = Claim()
        for subject in checked:
            certificate = covering(scheme, subject)
            if certificate is not None:
                claim.supporting.append((certificate, subject))
            else:
                claim.missing.append(_missing(scheme, subject))
        claim.holds = bool(claim.supporting) and not claim.missing
        claims[scheme] = claim
    return Claims(claims, changes, sources, steps, upstream)


def _missing(scheme: str, subject: Subject) -> str:
    where = subject.site.name if subject.site else subject.organization.name
    if subject.kind == SOURCES:
        return str(_l("%(lot)s, harvested on %(day)s at %(where)s (%(organization)s): no %(scheme)s certificate "
                      "in force that day.", lot=subject.label, day=subject.day.strftime("%d/%m/%Y"), where=where,
                      organization=subject.organization.name, scheme=SCHEME_NAMES.get(scheme, scheme)))
    return str(_l("Processing %(process)s on %(day)s at %(where)s (%(organization)s): no %(scheme)s certificate "
                  "in force that day.", process=subject.label, day=subject.day.strftime("%d/%m/%Y"), where=where,
                  organization=subject.organization.name, scheme=SCHEME_NAMES.get(scheme, scheme)))


def scan_certifications(session: Session, claims: Claims, today: date) -> list:
    """The certificates behind the schemes the lot may claim, each once, with their status today and what of
    the lot each covers (a source lot or a processing step, and whose it is)."""
    rows, seen = [], set()
    for scheme in claims.standards():
        for certificate, subject in claims.by_scheme[scheme].supporting:
            if certificate.id in seen:
                continue
            seen.add(certificate.id)
            now = status_from(certificate, claims.changes.get(certificate.id, []), today)
            rows.append({**shapes.certificate_json(session, certificate, today, now),
                         "holder": subject.organization.name, "holder_en": subject.organization.name_en or None,
                         "covers": subject.kind, "valid_at_production": True})
    return rows
