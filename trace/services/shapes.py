"""The JSON shapes the service speaks, one builder each: the API, scan JSON, the supplier profile and the CLI
all answer with these, so a site, a certificate or an OCOP rating looks the same wherever it appears."""
from datetime import date

from sqlmodel import Session, select

from ..models import Batch, Certificate, Event, EventLot, LabelRun, Lot, LotFlag, OcopRating, Product, Recall, Site
from . import certificates, recording, reports, safety
from .keys import iso_utc
from .movements import shipped_lines
from .parse import local_datetime, map_link
from .units import plain


def site_json(site: Site) -> dict:
    """A production area or other place, with an OpenStreetMap link to it when it has a location."""
    return {"id": site.id, "name": site.name, "kind": site.kind, "crop": site.crop,
            "area_ha": str(site.area_ha) if site.area_ha is not None else None,
            "farming_method": site.farming_method, "address": site.address, "location": site.location,
            "map": map_link(site.location)}


def ocop_json(rating: OcopRating | None) -> dict | None:
    """An OCOP rating as decided (Decision 1048/QĐ-TTg): stars, decision, dates and the level that issued it."""
    if rating is None:
        return None
    return {"id": rating.id, "product_id": rating.product_id, "stars": rating.stars,
            "decision_number": rating.decision_number, "issued_on": rating.issued_on.isoformat(),
            "valid_until": rating.valid_until.isoformat(), "issuing_level": rating.issuing_level}


def certificate_json(session: Session, certificate: Certificate, day: date, status: str | None = None) -> dict:
    """A certificate with its status on `day` (computed, never stored) and what it covers; `status` when the
    caller has already computed it from the certificate's changes."""
    status = certificates.status_on(session, certificate, day) if status is None else status
    sites, products = certificates.scope(session, certificate)
    return {"id": certificate.id, "scheme": certificate.scheme, "standard": certificate.standard,
            "certifier": certificate.certifier, "certifier_en": certificate.certifier_en or None,
            "number": certificate.number,
            "valid_from": certificate.valid_from.isoformat(), "valid_until": certificate.valid_to.isoformat(),
            "status_today": status, "valid_today": status == "active",
            "site_ids": [s.id for s in sites], "product_ids": [p.id for p in products],
            "sites": [s.name for s in sites], "products": [p.name_vi for p in products]}


def product_json(session: Session, product: Product, day: date) -> dict:
    """A producer's product with the OCOP rating in force on `day`."""
    return {"id": product.id, "gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en,
            "category": product.category, "unit": product.unit, "shelf_life_days": product.shelf_life_days,
            "ocop": ocop_json(certificates.current_ocop(session, product.id, day))}


def lot_json(session: Session, lot: Lot, product: Product) -> dict:
    return {"id": lot.id, "gtin": product.gtin, "code": lot.code, "product": product.name_vi,
            "quantity": str(lot.quantity), "unit": lot.unit, "produced_on": lot.produced_on.isoformat(),
            "batch_id": lot.batch_id, "recalled": safety.active_recall(session, lot.id) is not None}


def event_json(event: Event, site: Site | None = None) -> dict:
    """An event as its organization recorded it, at its own zone offset."""
    return {"id": event.id, "step": event.step, "epcis_type": event.epcis_type, "action": event.action,
            "biz_step": event.biz_step,
            "time": local_datetime(event.event_time, event.event_time_zone_offset).isoformat(timespec="minutes"),
            "site": site.name if site else None, "details": event.details}


def recorded_event_json(session: Session, event: Event) -> dict:
    """An event just recorded, with its hash ID and the lots it moved."""
    rows = session.exec(select(EventLot, Lot, Product).join(Lot, Lot.id == EventLot.lot_id)
                        .join(Product, Product.id == Lot.product_id).where(EventLot.event_id == event.id)).all()
    return {**event_json(event), "eventID": event.hash_id, "shipment_id": event.shipment_id,
            "lots": [{"gtin": product.gtin, "lot": lot.code, "role": line.role, "quantity": plain(line.quantity),
                      "unit": line.unit} for line, lot, product in rows]}


def declaration_json(declaration: Event) -> dict:
    """The correcting event that declares another erroneous."""
    return {"id": declaration.id, "corrects_event_id": declaration.corrects_event_id,
            "reason": declaration.details["reason"], "reason_code": declaration.details["reason_code"]}


def batch_json(session: Session, batch: Batch, organization_id: int, with_timeline: bool = False) -> dict:
    data = {"id": batch.id, "code": batch.code, "site_id": batch.site_id, "product_id": batch.product_id,
            "started_on": batch.started_on.isoformat()}
    if with_timeline:
        _, entries = recording.timeline(session, organization_id, batch.id)
        data["timeline"] = [{**event_json(e.event, e.site), "lots": [lot.code for lot in e.lots]} for e in entries]
    return data


def run_json(run: LabelRun) -> dict:
    return {"run_id": run.id, "first_serial": run.first_serial, "last_serial": run.last_serial, "count": run.count,
            "status": "cancelled" if run.cancelled_at else run.status, "issued_at": iso_utc(run.issued_at),
            "over_issue_reason": run.over_issue_reason, "cancelled_at": iso_utc(run.cancelled_at),
            "cancel_reason": run.cancel_reason}


def shipment_json(session: Session, shipment, shipping_event: Event) -> dict:
    _, rows = shipped_lines(session, shipment)
    return {"id": shipment.id, "status": shipment.status, "from_organization_id": shipment.from_organization_id,
            "to_organization_id": shipment.to_organization_id, "reference_type": shipment.reference_type,
            "reference": shipment.reference, "shipped": event_json(shipping_event)["time"],
            "lines": [{"gtin": product.gtin, "lot": lot.code, "product": product.name_vi,
                       "quantity": plain(line.quantity), "unit": line.unit}
                      for line, lot, product in rows]}


def claims_json(derived) -> dict:
    """Which standards a lot may claim, and for each scheme the sources or steps that miss a certificate."""
    return {"standards": derived.standards(),
            "schemes": {scheme: {"holds": claim.holds, "missing": claim.missing}
                        for scheme, claim in derived.by_scheme.items()}}


def recall_json(session: Session, recall: Recall, rows: list | None = None) -> dict:
    """A recall with its notice: who made, holds or received what of it."""
    rows = safety.recall_notice(session, recall) if rows is None else rows
    return {"id": recall.id, "reason": recall.reason, "recalled_at": recall.recalled_at.isoformat(),
            "lifted_at": recall.lifted_at.isoformat() if recall.lifted_at else None,
            "lift_reason": recall.lift_reason, "notice": [reports.notice_row_json(row) for row in rows]}


def flag_json(flag: LotFlag) -> dict:
    return {"id": flag.id, "lot_id": flag.lot_id, "kind": flag.kind, "reason": flag.reason,
            "resolution": flag.resolution, "resolution_reason": flag.resolution_reason,
            "resolution_reference": flag.resolution_reference}
