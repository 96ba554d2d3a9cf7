"""What a scan reveals: the facts Circular 02/2024/TT-BKHCN asks for, for one verified label."""
from datetime import date

from sqlalchemy.orm import defer
from sqlmodel import Session

from ..models import Product
from . import certificates, claims, safety
from .lots import best_before, find_lot, lot_events, producer, production_site
from .parse import local_datetime, map_link
from .verification import Verification

# Statuses under which the label is ours and its facts may be shown (with a warning when not genuine).
SHOWS_FACTS = ("genuine", "revoked_key")
# What a shopper is shown of a lot's life: how it was grown and made, not where the rest of the lot went.
PRODUCTION_STAGES = ("planting", "stocking", "input_application", "harvest", "storing", "transformation", "packing")


def scan_facts(session: Session, verification: Verification, today: date) -> dict:
    """The scan JSON contract; product facts only for a label this service really issued."""
    facts = {
        "verification": {"status": verification.status, "kid": verification.kid, "reason": verification.reason},
        "product": None, "lot": None, "serial": None, "producer": None,
        "certifications": [], "standards": [], "ocop": None, "stages": [], "production_area": None,
        "best_before": None,
    }
    link = verification.link
    if verification.status not in SHOWS_FACTS or link is None:
        return facts
    lot = find_lot(session, link.gtin, link.lot)
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
                     "id": organization.id},
        "certifications": claims.scan_certifications(derived, today),
        "standards": derived.standards(),
        "origins": [_origin(source) for source in derived.sources] if lot.batch_id is None else [],
        "ocop": {"stars": rating.stars, "valid_until": rating.valid_until.isoformat(),
                 "decision_number": rating.decision_number} if rating else None,
        "stages": [_stage(event, stage_site) for event, stage_site in lot_events(session, lot)
                   if event.step in PRODUCTION_STAGES],
        "best_before": expiry.isoformat() if expiry else None,
        "expired": bool(expiry and expiry < today),
    })
    if site is not None:
        facts["production_area"] = {
            "name": site.name, "kind": site.kind, "crop": site.crop,
            "area_ha": str(site.area_ha) if site.area_ha is not None else None,
            "farming_method": site.farming_method, "address": site.address,
            "map": map_link(site.location),
        }
    return facts


def _origin(source: claims.Subject) -> dict:
    """A lot the scanned lot was made from: what, whose, where and when it was harvested."""
    return {"product": source.product.name_vi, "product_en": source.product.name_en or source.product.name_vi,
            "gtin": source.product.gtin, "lot": source.lot.code, "producer": source.organization.name,
            "production_area": source.site.name if source.site else None,
            "area_kind": source.site.kind if source.site else None, "harvested": source.day.isoformat()}


def _stage(event, site) -> dict:
    local = local_datetime(event.event_time, event.event_time_zone_offset)
    return {"step": event.step, "time": local.isoformat(timespec="minutes"),
            "site": site.name if site else None, "details": event.details}
