"""What a scan reveals: the facts Circular 02/2024/TT-BKHCN asks for, for one verified label, and how often
and by how many clients that label was scanned (a photocopied label is scanned by many)."""
import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, distinct, exists, insert
from sqlalchemy.orm import defer
from sqlmodel import Session, func, select

from ..models import Event, EventLot, Holding, LabelReport, Lot, Organization, Product, Scan, Shipment, utcnow
from . import certificates, claims, safety, shapes
from .issuance import issued_run_and_revision, serial_number, verify_online
from .keys import iso_utc
from .lots import best_before, lot_events, producer, production_site
from .parse import local_datetime
from .verification import Verification, check_signature, with_issuance

# Organizations whose signed-in checks say where a label turned up: shops selling it.
RETAIL_KINDS = ("retailer", "tourist_outlet")
DEFAULT_COPY_THRESHOLD = 20


@dataclass
class Scanner:
    """Who scanned: a salted hash of the client (never its address), and a signed-in shop's organization."""
    client: str
    organization_id: int | None = None


def client_fingerprint(secret: str, address: str, user_agent: str) -> str:
    """A keyed hash of address and browser: equal for the same client, meaningless without the secret."""
    message = f"{address}\n{user_agent}".encode("utf-8", "replace")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def scan_label(session: Session, url: str, keyset, bases: tuple, today: date, scanner: Scanner | None = None,
               copy_threshold: int = DEFAULT_COPY_THRESHOLD) -> tuple:
    """Verify a label online, record the scan when the label is one we issued, and say what the scan reveals:
    (verification, facts, the key the lot's facts are cached under or None).

    Three statements for a label we issued: its run (with the database's revision), the scan record, the scan
    counts. What the label's lot shows is cached per process until the revision changes.
    """
    verification = check_signature(url, keyset, bases)
    run = revision = key = None
    if verification.signed:
        run, revision = issued_run_and_revision(session, verification.link)
        verification = with_issuance(verification, run)
    if verification.status in SHOWS_FACTS:
        facts, key = cached_facts(session, verification, today, run.lot_id, revision)
    else:
        facts = scan_facts(session, verification, today)
    if run is not None and scanner is not None:
        serial = serial_number(verification.link.serial)
        record_scan(session, run.lot_id, serial, verification.status, scanner)
        facts["scans"] = scan_summary(session, run.lot_id, serial, copy_threshold)
    if run is not None and run.cancelled_at is not None:
        facts["cancelled"] = {"at": iso_utc(run.cancelled_at), "reason": run.cancel_reason}
    return verification, facts, key


_facts_cache: OrderedDict = OrderedDict()
FACTS_CACHED = 4096  # lots


def cached_facts(session: Session, verification: Verification, today: date, lot_id: int, revision: int) -> tuple:
    """(facts, cache key): the lot's part of the scan facts, built once per revision of the database and day."""
    key = (str(session.get_bind().url), lot_id, revision, today)
    found = _facts_cache.get(key)
    if found is None:
        found = scan_facts(session, verification, today, session.get(Lot, lot_id))
        _facts_cache[key] = found
        while len(_facts_cache) > FACTS_CACHED:
            _facts_cache.popitem(last=False)
    else:
        _facts_cache.move_to_end(key)
    facts = dict(found)  # its nested parts are shared and never changed; only top-level keys are set
    facts["verification"] = verification.as_json()
    facts["serial"] = verification.link.serial
    return facts, key


def _unexpected_shop():
    """A scan by a shop the lot was never shipped to (neither in transit nor received there)."""
    holds = exists().where(Holding.lot_id == Scan.lot_id, Holding.organization_id == Scan.organization_id)
    shipped = exists().where(EventLot.event_id == Event.id, EventLot.lot_id == Scan.lot_id,
                             Event.shipment_id == Shipment.id, Shipment.to_organization_id == Scan.organization_id,
                             Shipment.status != "cancelled")
    return Scan.organization_id.is_not(None) & ~holds & ~shipped


# Built once: composing a statement costs more than running it.
SUMMARY = (select(func.min(Scan.scanned_at), func.count(), func.count(distinct(Scan.client)),
                  func.count(distinct(Scan.organization_id)).filter(_unexpected_shop()))
           .where(Scan.lot_id == bindparam("lot_id"), Scan.serial == bindparam("serial")))
RECORD = insert(Scan)


def record_scan(session: Session, lot_id: int, serial: int, status: str, scanner: Scanner) -> None:
    session.connection().execute(RECORD, {"lot_id": lot_id, "serial": serial, "status": status, "client": scanner.client,
                             "organization_id": scanner.organization_id, "scanned_at": utcnow()})


def scan_summary(session: Session, lot_id: int, serial: int, copy_threshold: int) -> dict:
    """First scan, count, distinct clients, and whether the label looks copied: scanned by more clients than
    one label in one shopper's hands would be, or checked by a shop the lot was never shipped to."""
    first, count, clients, strangers = session.connection().execute(SUMMARY, {"lot_id": lot_id, "serial": serial}).one()
    return {"first": iso_utc(first), "count": count, "distinct_clients": clients,
            "suspected_copy": clients > copy_threshold or strangers > 0}


def suspected_copies(session: Session, copy_threshold: int, organization_id: int | None = None) -> list:
    """Serials that look copied, most scanned first: (lot, product, serial, count, clients, first, last)."""
    clients = func.count(distinct(Scan.client))
    strangers = func.count(distinct(Scan.organization_id)).filter(_unexpected_shop())
    query = (select(Lot, Product, Scan.serial, func.count(), clients, func.min(Scan.scanned_at),
                    func.max(Scan.scanned_at))
             .join(Lot, Lot.id == Scan.lot_id).join(Product, Product.id == Lot.product_id)
             .group_by(Lot.id, Product.id, Scan.serial)
             .having((clients > copy_threshold) | (strangers > 0))
             .order_by(func.count().desc()).limit(500))
    if organization_id is not None:
        query = query.where(Lot.organization_id == organization_id)
    return session.exec(query).all()


def retail_organization(session: Session, organization_id: int | None) -> int | None:
    organization = session.get(Organization, organization_id) if organization_id else None
    return organization.id if organization is not None and organization.kind in RETAIL_KINDS else None

# Statuses under which the label is ours and its facts may be shown (with a warning when not genuine).
SHOWS_FACTS = ("genuine", "revoked_key")
# What a shopper is shown of a lot's life: how it was grown and made, not where the rest of the lot went.
PRODUCTION_STAGES = ("planting", "stocking", "input_application", "harvest", "storing", "transformation", "packing")


def scan_facts(session: Session, verification: Verification, today: date, lot: Lot | None = None) -> dict:
    """The scan JSON contract; product facts only for a label this service really issued (its run's `lot`)."""
    facts = {
        "verification": verification.as_json(),
        "product": None, "lot": None, "serial": None, "producer": None,
        "certifications": [], "standards": [], "ocop": None, "stages": [], "production_area": None,
        "best_before": None, "scans": None,
    }
    link = verification.link
    if verification.status not in SHOWS_FACTS or link is None:
        return facts
    if lot is None:
        return facts
    # The photo is served by its own URL; its bytes need not travel with every scan.
    product = session.get(Product, lot.product_id, options=[defer(Product.image)])
    organization = producer(session, lot)
    site = production_site(session, lot)
    rating = certificates.current_ocop(session, product.id, today)
    derived = claims.derive(session, lot)
    status = safety.lot_status(session, lot, upstream=derived.upstream)
    expiry = best_before(session, lot, product)
    facts.update({
        "product": {"name": product.name_vi, "name_en": product.name_en or product.name_vi, "gtin": product.gtin,
                    "category": product.category, "image": product.image_type is not None, "product_id": product.id},
        "lot": {"code": lot.code, "recalled": status.recalled,
                "recall_reason": status.recall.reason if status.recalled else None,
                "recalled_at": status.recall.recalled_at.isoformat() if status.recalled else None,
                "flagged": status.flagged, "flag_reason": safety.flag_reason(status.flags[0]) if status.flagged else None,
                "quantity": str(lot.quantity), "unit": lot.unit, "produced_on": lot.produced_on.isoformat(),
                "processed": lot.batch_id is None},
        "serial": link.serial,
        "producer": {"name": organization.name, "address": organization.address, "phone": organization.phone,
                     "id": organization.id, "name_en": organization.name_en or None,
                     "address_en": organization.address_en or None},
        "certifications": claims.scan_certifications(session, derived, today),
        "standards": derived.standards(),
        "origins": [_origin(source) for source in derived.sources] if lot.batch_id is None else [],
        "ocop": shapes.ocop_json(rating),
        "stages": [_stage(event, stage_site) for event, stage_site in lot_events(session, lot)
                   if event.step in PRODUCTION_STAGES],
        "best_before": expiry.isoformat() if expiry else None,
        "expired": bool(expiry and expiry < today),
    })
    if site is not None:
        facts["production_area"] = shapes.site_json(site)
    return facts


def _origin(source: claims.Subject) -> dict:
    """A lot the scanned lot was made from: what, whose, where and when it was harvested."""
    return {"product": source.product.name_vi, "product_en": source.product.name_en or source.product.name_vi,
            "gtin": source.product.gtin, "lot": source.lot.code, "producer": source.organization.name,
            "producer_en": source.organization.name_en or None,
            "production_area": source.site.name if source.site else None,
            "area_kind": source.site.kind if source.site else None, "harvested": source.day.isoformat()}


# A batch's first event by what grows there: rice is sown, an orchard's season starts with flowering and fruit set
# (its trees were not planted this year), ponds are stocked.
START_OF_SITE = {"rice_field": "sowing", "orchard": "orchard_season"}


def _stage(event, site) -> dict:
    local = local_datetime(event.event_time, event.event_time_zone_offset)
    stage = START_OF_SITE.get(site.kind, event.step) if site and event.step == "planting" else event.step
    return {"step": event.step, "stage": stage, "time": local.isoformat(timespec="minutes"),
            "site": site.name if site else None, "details": event.details}


def report_label(session: Session, url: str, keyset, bases: tuple, client: str) -> LabelReport | None:
    """Record a shopper's report of a label. The verdict kept is the service's own, checked again, not what
    the reporting page claimed; a genuine label is not reported (None)."""
    verification = verify_online(session, url[:2100], keyset, bases)
    if verification.status == "genuine":
        return None
    report = LabelReport(url=url[:2100], status=verification.status, client=client)
    session.add(report)
    session.flush()
    return report


def recent_reports(session: Session, most: int = 50) -> list:
    return session.exec(select(LabelReport).order_by(LabelReport.reported_at.desc()).limit(most)).all()
