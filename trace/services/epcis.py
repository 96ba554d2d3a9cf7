"""EPCIS 2.0 JSON-LD: every recorded event as the standard event it maps onto, its hash ID, and documents of them.

Lots are class-level GS1 Digital Link URIs (https://id.gs1.org/01/{gtin}/10/{lot}) in quantity lists;
business steps and dispositions are the CBV's bare words; what EPCIS has no field for (batch codes,
inputs' doses, packaging…) travels as our own fields under the `tn:` prefix the document's context
declares. An event's hash ID is computed once, from exactly the JSON this module builds.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote

from sqlmodel import Session, select

from ..models import Batch, Event, EventLot, Lot, Organization, Product, Shipment
from . import event_hash
from .events import CBV_DISPOSITION, CBV_STEP, ERROR_DECLARATION, corrections_of
from .gs1 import DigitalLinkError, parse_digital_link
from .parse import local_datetime
from .units import UNECE, plain

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACE = "urn:thuynguyen-trace:epcis:"
CBVMDA = "urn:epcglobal:cbv:mda:"
CONTEXT = [EPCIS_CONTEXT, {"tn": NAMESPACE, "cbvmda": CBVMDA}]
NAMESPACES = event_hash.namespaces_of(CONTEXT)
SITE_URN = "urn:thuynguyen-trace:site:"
ORGANIZATION_URN = "urn:thuynguyen-trace:organization:"
TRANSACTION_URN = "urn:thuynguyen-trace:bt:"
DIGITAL_LINK = "https://id.gs1.org"
LIST_ROLES = {"input": "inputQuantityList", "output": "outputQuantityList"}
BATCH_STARTS = ("planting", "stocking")  # they name the batch's product, which no quantity list carries


@dataclass
class EventView:
    """An event with what its EPCIS form needs, gathered without further queries."""
    event: Event
    lines: list  # (role, gtin, lot code, quantity or None, unit)
    batch_code: str | None = None
    shipment: Shipment | None = None
    parties: tuple = ()  # (source organization URI, destination organization URI) of a shipment
    correction: Event | None = None
    extra: dict = field(default_factory=dict)


def class_uri(gtin: str, lot_code: str) -> str:
    return f"{DIGITAL_LINK}/01/{gtin}/10/{quote(lot_code, safe='')}"


def parse_class_uri(uri: str) -> tuple | None:
    """(gtin, lot code) of a lot's class-level Digital Link on any host, or None."""
    if not isinstance(uri, str):
        return None
    try:
        link = parse_digital_link(uri)
    except DigitalLinkError:
        return None
    return (link.gtin, link.lot) if list(link.qualifiers) == ["10"] and not link.attributes else None


def site_uri(site_id: int) -> str:
    return f"{SITE_URN}{site_id}"


def organization_uri(organization: Organization) -> str:
    return f"{DIGITAL_LINK}/417/{organization.gln}" if organization.gln else f"{ORGANIZATION_URN}{organization.id}"


def transaction_uri(organization_id: int, reference: str) -> str:
    return f"{TRANSACTION_URN}{organization_id}:{quote(reference, safe='')}"


def _bare(uri: str | None, prefix: str) -> str | None:
    return uri[len(prefix):] if uri and uri.startswith(prefix) else uri


def _number(quantity) -> object:
    value = Decimal(quantity)
    return int(value) if value == value.to_integral_value() else float(plain(value))


def _quantity_element(gtin: str, code: str, quantity, unit: str | None) -> dict:
    element = {"epcClass": class_uri(gtin, code)}
    if quantity is not None:
        element["quantity"] = _number(quantity)
        if unit in UNECE:
            element["uom"] = UNECE[unit]
    return element


def timestamp(moment: datetime, offset: str) -> str:
    return local_datetime(moment, offset).isoformat(timespec="milliseconds")


def epcis_event(view: EventView) -> dict:
    """The EPCIS 2.0 event (no eventID, no recordTime): what the hash ID is computed from."""
    event = view.event
    body = {"type": event.epcis_type, "eventTime": timestamp(event.event_time, event.event_time_zone_offset),
            "eventTimeZoneOffset": event.event_time_zone_offset}
    if event.parent_id:
        body["parentID"] = event.parent_id
    elements = [(role, _quantity_element(gtin, code, quantity, unit)) for role, gtin, code, quantity, unit in view.lines]
    if event.epcis_type == "TransformationEvent":
        for role, name in LIST_ROLES.items():
            chosen = [element for r, element in elements if r == role]
            if chosen:
                body[name] = chosen
    elif event.epcis_type == "AggregationEvent":
        body["childQuantityList"] = [element for _, element in elements]
    elif elements:
        body["quantityList"] = [element for _, element in elements]
    else:
        body["epcList"] = []
    if event.action:
        body["action"] = event.action
    body["bizStep"] = _bare(event.biz_step, CBV_STEP)
    if event.disposition:
        body["disposition"] = _bare(event.disposition, CBV_DISPOSITION)
    if event.site_id:
        body["readPoint"] = {"id": site_uri(event.site_id)}
        if event.step != "shipping":  # goods in transit are at no place of ours
            body["bizLocation"] = {"id": site_uri(event.site_id)}
    if view.shipment is not None:
        body["bizTransactionList"] = [{"type": view.shipment.reference_type, "bizTransaction": transaction_uri(
            view.shipment.from_organization_id, view.shipment.reference)}]
        body["sourceList"] = [{"type": "owning_party", "source": view.parties[0]}]
        body["destinationList"] = [{"type": "owning_party", "destination": view.parties[1]}]
    details = dict(event.details)
    temperature = details.pop("temperature_c", None)
    if temperature is not None:
        body["sensorElementList"] = [{"sensorReport": [{"type": "Temperature", "value": _number(temperature),
                                                        "uom": "CEL"}]}]
    if event.step == "harvest" and view.lines:
        _, _, code, _, _ = view.lines[0]
        body["ilmd"] = {"cbvmda:lotNumber": code,
                        "cbvmda:harvestStartDate": local_datetime(event.event_time, event.event_time_zone_offset)
                        .date().isoformat()}
    if view.batch_code:
        body["tn:batch"] = view.batch_code
    for key, value in view.extra.items():
        body[f"tn:{key}"] = value
    for key, value in sorted(details.items()):
        if key not in ("lot_code", "quantity", "unit") or event.step in ("planting", "stocking"):
            body[f"tn:{key}"] = value
    return body


def hash_of(view: EventView) -> str:
    return event_hash.event_hash_id(epcis_event(view), NAMESPACES)


def exported_event(view: EventView) -> dict:
    """The event as a document carries it: with its eventID, recordTime and any error declaration."""
    body = epcis_event(view)
    body["eventID"] = view.event.hash_id
    body["recordTime"] = view.event.recorded_at.astimezone(UTC).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")
    if view.correction is not None:
        correction = view.correction
        declaration = {"declarationTime": timestamp(correction.event_time, correction.event_time_zone_offset),
                       "reason": correction.details.get("reason_code", "incorrect_data"),
                       "tn:reason": correction.details.get("reason", "")}
        if correction.details.get("corrective_event_ids"):
            declaration["correctiveEventIDs"] = correction.details["corrective_event_ids"]
        body["errorDeclaration"] = declaration
    return body


def document(events: list, creation: datetime | None = None) -> dict:
    return {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": (creation or datetime.now(UTC)).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "epcisBody": {"eventList": events}}


# --- views of stored events ---

def views(session: Session, events: list) -> list:
    """EventViews for stored events, with a handful of queries whatever their number."""
    ids = [event.id for event in events]
    if not ids:
        return []
    lines = {event_id: [] for event_id in ids}
    for line, lot, gtin in session.exec(
            select(EventLot, Lot, Product.gtin).join(Lot, Lot.id == EventLot.lot_id)
            .join(Product, Product.id == Lot.product_id).where(EventLot.event_id.in_(ids))).all():
        lines[line.event_id].append((line.role, gtin, lot.code, line.quantity, line.unit))
    batches = {batch_id: (code, gtin) for batch_id, code, gtin in session.exec(
        select(Batch.id, Batch.code, Product.gtin).join(Product, Product.id == Batch.product_id)
        .where(Batch.id.in_({e.batch_id for e in events if e.batch_id}))).all()}
    shipments = {s.id: s for s in session.exec(select(Shipment).where(
        Shipment.id.in_({e.shipment_id for e in events if e.shipment_id}))).all()}
    organizations = {o.id: o for o in session.exec(select(Organization).where(Organization.id.in_(
        {s.from_organization_id for s in shipments.values()} | {s.to_organization_id for s in shipments.values()})))}
    corrections = corrections_of(session, ids)
    result = []
    for event in events:
        shipment = shipments.get(event.shipment_id)
        parties = (organization_uri(organizations[shipment.from_organization_id]),
                   organization_uri(organizations[shipment.to_organization_id])) if shipment else ()
        code, gtin = batches.get(event.batch_id, (None, None))
        extra = {"product": gtin} if event.step in BATCH_STARTS else {}
        result.append(EventView(event, sorted(lines[event.id], key=lambda line: line[:3]), code, shipment, parties,
                                corrections.get(event.id), extra))
    return result


def export_events(session: Session, events: list) -> list:
    return [exported_event(view) for view in views(session, [e for e in events if e.step != ERROR_DECLARATION])]


def backfill_hash_ids(session: Session) -> int:
    """Give every stored event without one its hash ID (events recorded before hash IDs existed)."""
    missing = session.exec(select(Event).where(Event.hash_id.is_(None), Event.step != ERROR_DECLARATION)
                           .order_by(Event.id)).all()
    for view in views(session, missing):
        view.event.hash_id = hash_of(view)
        session.add(view.event)
    session.flush()
    return len(missing)


# --- queries ---

def select_events(session: Session, *, event_ids=None, organization_id: int | None = None, since=None, until=None,
                  biz_step: str | None = None, after_id: int | None = None, limit: int = 1000) -> list:
    """Recorded events (their corrections travel with them), oldest first; among given ones (a traced
    chain's), by organization, time, step."""
    query = select(Event).where(Event.step != ERROR_DECLARATION)
    if event_ids is not None:
        query = query.where(Event.id.in_(event_ids))
    if organization_id is not None:
        query = query.where(Event.organization_id == organization_id)
    if since is not None:
        query = query.where(Event.event_time >= since)
    if until is not None:
        query = query.where(Event.event_time < until)
    if biz_step:
        query = query.where(Event.biz_step == (biz_step if ":" in biz_step else CBV_STEP + biz_step))
    if after_id is not None:
        query = query.where(Event.id > after_id)
    order = (Event.event_time, Event.id) if event_ids is not None else (Event.id,)
    return session.exec(query.order_by(*order).limit(limit)).all()
