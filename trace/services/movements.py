"""What happens to lots after harvest: processing, packing and unpacking, cold storage, shipping, receiving, destroying."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, select

from ..models import (
    MAX_ID,
    PRODUCER_KINDS,
    Batch,
    Event,
    EventLot,
    Holding,
    Lot,
    LotFlag,
    Organization,
    Product,
    Shipment,
)
from . import epcis, safety
from .errors import NotFound, ValidationError
from .events import NewShipment, clean, in_force, new_event
from .gs1 import check_digit, code_problem, gtin_problem
from .ledger import Ledger, short_of_stock
from .parse import Reader, local_datetime, local_day, row_by_id
from .units import UNITS, plain

PROCESSES = ("milling", "drying", "freezing", "filleting", "peeling", "fermenting", "mixing", "grading",
             "cooking", "other")
TRANSACTION_TYPES = ("desadv", "inv", "po", "bol")


def _not_before(r: Reader, moment, day: date, what: str, field: str = "time") -> None:
    if moment and local_day(moment) < day:
        r.errors.setdefault(field, _l("Before %(what)s (%(day)s).", what=what, day=day.strftime("%d/%m/%Y")))


def _held_lines(ledger: Ledger, r: Reader, name: str, action, moment, refuse_flagged: bool = True) -> list:
    """The list field `name` of lots the organization holds, each taken from its stock: once each, not recalled
    (nor flagged, where `refuse_flagged`), and made before the event."""
    lines, seen = ledger.lines(r, name, lambda sub: ledger.held_line(sub, action)), set()
    for index, line in enumerate(lines):
        if line is None:
            continue
        if line.lot.id in seen:
            r.errors.setdefault(f"{name}.{index}.lot", _l("This lot is listed twice."))
        seen.add(line.lot.id)
        status = ledger.status(line.lot)
        if status.recalled or (refuse_flagged and status.flagged):
            r.errors.setdefault(f"{name}.{index}.lot", status.blocking_reason())
        _not_before(r, moment, line.lot.produced_on, _l("lot %(code)s was made", code=line.lot.code))
    return lines


# --- transformation ---

def record_transformation(ledger: Ledger, data) -> Event:
    """Input lots, with the quantity of each consumed, become new output lots (milling, freezing, drying…)."""
    r = Reader(data)
    moment = r.moment("time", ledger.zone)
    site = ledger.owned_site(r)
    process = r.choice("process", PROCESSES)
    note = r.text("note", required=False, max_length=300)
    inputs = _held_lines(ledger, r, "inputs", _l("consume"), moment, refuse_flagged=False)
    outputs = ledger.lines(r, "outputs", lambda sub: _output_line(ledger, sub))
    for index, output in enumerate(outputs):
        if output is None:
            continue
        key = (output[0].id, output[1])
        if key in ledger.new_lot_keys:
            r.errors.setdefault(f"outputs.{index}.lot", _l("This lot is listed twice."))
        ledger.new_lot_keys.add(key)
    r.done()
    day = local_day(moment)
    lines = [("input", line.lot, line.gtin, line.quantity, line.lot.unit) for line in inputs]
    for product, code, quantity, unit in outputs:
        lot = ledger.new_lot(product, code, quantity, unit, day, made_from=[line.lot for line in inputs])
        lines.append(("output", lot, product.gtin, quantity, unit))
    details = clean({"process": process, "note": note})
    entered = [dict(line.entered, lot=line.lot.code) for line in inputs if line.entered]
    if entered:
        details["entered"] = entered
    event = new_event(ledger.organization_id, "transformation", moment, ledger.user_id,
                      site_id=site.id if site else None, details=details)
    return ledger.record(event, lines)


def _output_line(ledger: Ledger, sub: Reader) -> tuple | None:
    """(product, lot code, quantity, unit) of a new lot of one of the organization's products."""
    product = None
    if sub.present("product_id"):
        product_id = sub.integer("product_id", minimum=1, maximum=MAX_ID)
        product = ledger.session.get(Product, product_id) if product_id else None
    else:
        gtin = sub.text("gtin", max_length=20)
        if gtin is not None and gtin_problem(gtin) is None:
            product = ledger.product(gtin.zfill(14))
    if product is None or product.organization_id != ledger.organization_id:
        sub.errors.setdefault("product_id", _l("Choose one of your products."))
        product = None
    code = sub.text("lot")
    if code is not None:
        problem = code_problem(code)
        if problem is not None:
            sub.errors["lot"] = problem
        elif product is not None and (ledger.find_lot(product.gtin, code) is not None):
            sub.errors["lot"] = _l("This product already has a lot with this code.")
    quantity = sub.decimal("quantity", places=3)
    unit = sub.choice("unit", UNITS, required=False) or (product.unit if product else None)
    if sub.errors:
        return None
    return product, code, quantity, unit


# --- packing and unpacking ---

def sscc_problem(value: str) -> str | None:
    if not re.fullmatch(r"[0-9]{18}", value):
        return str(_l("An SSCC has 18 digits."))
    if int(value[-1]) != check_digit(value[:-1]):
        return str(_l("The SSCC check digit is wrong: it should be %(digit)s.", digit=check_digit(value[:-1])))
    return None


def container_uri(sscc: str) -> str:
    return f"{epcis.DIGITAL_LINK}/00/{sscc}"


def open_container(ledger: Ledger, parent_id: str) -> tuple:
    """(the packing event that filled the container, if it has not been unpacked since, or None; its contents as
    (lot id, quantity, unit)). The events the ledger is about to write come first: a captured document may pack a
    container and unpack it."""
    for view, lines in zip(reversed(ledger.views), reversed(ledger.event_lots)):
        if view.event.parent_id == parent_id:
            if view.event.step != "packing":
                return None, []
            return view.event, [(lot.id, quantity, unit) for _, lot, quantity, unit in lines]
    events = ledger.session.exec(select(Event).where(Event.parent_id == parent_id,
                                                     Event.organization_id == ledger.organization_id, in_force())
                                 .order_by(Event.event_time.desc(), Event.id.desc())).all()
    if not events or events[0].step != "packing":
        return None, []
    children = ledger.session.exec(select(EventLot).where(EventLot.event_id == events[0].id)).all()
    return events[0], [(child.lot_id, child.quantity, child.unit) for child in children]


def record_packing(ledger: Ledger, lot_id, data) -> Event:
    """Packing a lot into packages, optionally in a carton or pallet with an SSCC: an EPCIS AggregationEvent."""
    found = ledger.lot_by_id(lot_id)
    if found is None:
        raise NotFound()
    lot, gtin = found
    r = Reader(data)
    site = ledger.owned_site(r)
    details = {"package_count": r.integer("package_count", minimum=1, maximum=10_000_000),
               "package_size": r.decimal("package_size", required=False, places=3),
               "package_unit": r.text("package_unit", required=False, max_length=20),
               "packaging": r.text("packaging", required=False, max_length=120),
               "packaging_en": r.text("packaging_en", required=False, max_length=120)}
    sscc = r.text("sscc", required=False, max_length=40)
    if sscc:
        sscc = sscc.replace(" ", "")
        problem = sscc_problem(sscc)
        if problem:
            r.errors["sscc"] = problem
        elif open_container(ledger, container_uri(sscc))[0] is not None:
            r.errors["sscc"] = _l("This SSCC is already packed and not unpacked since.")
    moment = r.moment("time", ledger.zone)
    _not_before(r, moment, lot.produced_on, _l("the harvest"))
    held = ledger.held_of(r, lot)
    if r.present("quantity"):
        amount = ledger.quantity_in(r, lot)
        quantity = amount[0] if amount else None
    elif details["package_count"] and details["package_size"] and details["package_unit"] == lot.unit:
        quantity = details["package_count"] * details["package_size"]
    else:
        quantity = held
    if quantity is not None and held > 0 and quantity > held:
        r.errors.setdefault("quantity", short_of_stock(lot, held, quantity, _l("pack")))
    r.done()
    event = new_event(ledger.organization_id, "packing", moment, ledger.user_id, lot.batch_id,
                      site.id if site else _batch_site(ledger.session, lot), clean(details),
                      parent_id=container_uri(sscc) if sscc else None)
    return ledger.record(event, [("observed", lot, gtin, quantity, lot.unit)])


def record_unpacking(ledger: Ledger, data) -> Event:
    r = Reader(data)
    sscc = (r.text("sscc", max_length=40) or "").replace(" ", "")
    packing = None
    if sscc:
        problem = sscc_problem(sscc)
        if problem:
            r.errors["sscc"] = problem
        else:
            packing, contents = open_container(ledger, container_uri(sscc))
            if packing is None:
                r.errors["sscc"] = _l("No packed container of yours has this SSCC.")
    site = ledger.owned_site(r)
    moment = r.moment("time", ledger.zone)
    if packing is not None and moment and moment[0] < packing.event_time.replace(tzinfo=moment[0].tzinfo):
        r.errors.setdefault("time", _l("Before the container was packed."))
    r.done()
    lines = []
    for lot_id, quantity, unit in contents:
        lot, gtin = ledger.lot_by_id(lot_id)
        lines.append(("observed", lot, gtin, quantity, unit))
    event = new_event(ledger.organization_id, "unpacking", moment, ledger.user_id, packing.batch_id,
                      site.id if site else packing.site_id, {}, parent_id=packing.parent_id)
    return ledger.record(event, lines)


def _batch_site(session: Session, lot: Lot) -> int | None:
    return session.get(Batch, lot.batch_id).site_id if lot.batch_id else None


# --- cooling and storage ---

def record_storing(ledger: Ledger, data) -> Event:
    """Cooling right after harvest or catch, or cold storage: where, how cold, how much."""
    r = Reader(data)
    line = None
    found = ledger.lot_reference(r)
    if found is not None:
        lot, gtin = found
        line = (lot, gtin, ledger.held_of(r, lot))
    site = ledger.owned_site(r, required=True)
    temperature = r.decimal("temperature_c", required=False, places=1, maximum=100, signed=True)
    cooling = str(r.data.get("cooling", "")).lower() in ("1", "true", "on", "yes")
    moment = r.moment("time", ledger.zone)
    if line:
        _not_before(r, moment, line[0].produced_on, _l("the harvest"))
    r.done()
    lot, gtin, held = line
    event = new_event(ledger.organization_id, "storing", moment, ledger.user_id, lot.batch_id, site.id,
                      clean({"temperature_c": temperature, "cooling": cooling}))
    return ledger.record(event, [("observed", lot, gtin, held, lot.unit)])


# --- shipping and receiving ---

def record_shipping(ledger: Ledger, data) -> Event:
    """Goods sent to another organization under a delivery note or invoice; they leave the sender's stock."""
    r = Reader(data)
    receiver_id = r.integer("to_organization_id", minimum=1, maximum=MAX_ID)
    receiver = ledger.organization(receiver_id) if receiver_id else None
    if receiver_id and (receiver is None or receiver.id == ledger.organization_id):
        r.errors["to_organization_id"] = _l("Choose another organization to ship to.")
        receiver = None
    reference_type = r.choice("reference_type", TRANSACTION_TYPES, required=False) or "desadv"
    reference = r.text("reference", max_length=60)
    site = ledger.owned_site(r)
    moment = r.moment("time", ledger.zone)
    lines = _held_lines(ledger, r, "lines", _l("ship"), moment)
    r.done()
    shipment = NewShipment(from_organization_id=ledger.organization_id, to_organization_id=receiver.id,
                           reference_type=reference_type, reference=reference)
    details = {}
    entered = [dict(line.entered, lot=line.lot.code) for line in lines if line.entered]
    if entered:
        details["entered"] = entered
    event = new_event(ledger.organization_id, "shipping", moment, ledger.user_id,
                      site_id=site.id if site else None, details=details, shipment=shipment)
    sender = ledger.organization(ledger.organization_id)
    return ledger.record(event, [("observed", line.lot, line.gtin, line.quantity, line.lot.unit) for line in lines],
                         parties=(epcis.organization_uri(sender), epcis.organization_uri(receiver)))


def incoming_shipment(session: Session, organization_id: int, shipment_id) -> Shipment:
    shipment = row_by_id(session, Shipment, shipment_id)
    if shipment.to_organization_id != organization_id:
        raise NotFound()
    return shipment


def shipped_lines(session: Session, shipment: Shipment) -> tuple:
    """(shipping event, [(EventLot, Lot, Product)]) of a shipment."""
    event = session.exec(select(Event).where(Event.shipment_id == shipment.id, Event.step == "shipping")).one()
    rows = session.exec(select(EventLot, Lot, Product).join(Lot, Lot.id == EventLot.lot_id)
                        .join(Product, Product.id == Lot.product_id).where(EventLot.event_id == event.id)
                        .order_by(Lot.code)).all()
    return event, rows


def record_receiving(ledger: Ledger, shipment_id, data) -> Event:
    """The receiver takes in a shipment addressed to it, counting what arrived (never more than was shipped)."""
    shipment = incoming_shipment(ledger.session, ledger.organization_id, shipment_id)
    shipping, rows = shipped_lines(ledger.session, shipment)
    r = Reader(data)
    if shipment.status != "in_transit":
        r.errors["shipment"] = _l("This shipment was already received or cancelled.")
    site = ledger.owned_site(r)
    moment = r.moment("time", ledger.zone)
    if moment and moment[0] < shipping.event_time.replace(tzinfo=moment[0].tzinfo):
        r.errors.setdefault("time", _l("Before the goods were shipped (%(day)s).", day=local_datetime(
            shipping.event_time, shipping.event_time_zone_offset).strftime("%d/%m/%Y %H:%M")))
    given = r.data.get("lines") if hasattr(r.data, "get") else None
    counted = {}
    if given not in (None, ""):
        if not isinstance(given, list) or not all(hasattr(row, "get") for row in given):
            r.errors["lines"] = _l("Must be a list of lines.")
            given = []
        for index, row in enumerate(given):
            sub = Reader(row)
            found = ledger.lot_reference(sub)
            match = next((item for item in rows if found and item[1].id == found[0].id), None)
            if found is not None and match is None:
                sub.errors["lot"] = _l("This lot is not in the shipment.")
            elif match is not None and match[1].id in counted:
                sub.errors["lot"] = _l("This lot is listed twice.")
            elif match is not None:
                quantity = sub.decimal("quantity", places=3, positive=False)
                if quantity is not None and quantity > match[0].quantity:
                    sub.errors["quantity"] = _l("More than was shipped (%(quantity)s %(unit)s).",
                                                quantity=plain(match[0].quantity), unit=match[1].unit)
                counted[match[1].id] = quantity
            for key, message in sub.errors.items():
                r.errors.setdefault(f"lines.{index}.{key}", message)
    r.done()
    lines, losses = [], []
    for shipped, lot, product in rows:
        received = counted.get(lot.id, shipped.quantity)
        ledger.stock.give(lot.id, ledger.organization_id, received)
        lines.append(("observed", lot, product.gtin, received, lot.unit))
        if received != shipped.quantity:
            losses.append({"lot": lot.code, "shipped": plain(shipped.quantity), "received": plain(received)})
    event = new_event(ledger.organization_id, "receiving", moment, ledger.user_id,
                      site_id=site.id if site else None, details={"differences": losses} if losses else {},
                      shipment_id=shipment.id)
    changed = ledger.session.exec(update(Shipment).where(Shipment.id == shipment.id, Shipment.status == "in_transit")
                                  .values(status="received"))
    if changed.rowcount != 1:
        raise ValidationError({"shipment": _l("This shipment was already received or cancelled.")})
    sender, receiver = ledger.organization(shipment.from_organization_id), ledger.organization(ledger.organization_id)
    return ledger.record(event, lines, shipment=shipment,
                         parties=(epcis.organization_uri(sender), epcis.organization_uri(receiver)))


def shipping_partners(session: Session, organization_id: int) -> list:
    """Organizations goods can be shipped to: processors and producers, shops, outlets."""
    return session.exec(select(Organization).where(Organization.id != organization_id, Organization.kind.in_(
        PRODUCER_KINDS + ("retailer", "tourist_outlet"))).order_by(Organization.name)).all()


def organization_names(session: Session) -> dict:
    """Every organization's name by id: the senders and receivers a list of shipments names."""
    return {organization.id: organization.name for organization in session.exec(select(Organization))}


def shipments_for(session: Session, organization_id: int, incoming: bool = True, status: str | None = None) -> list:
    """Shipments addressed to the organization (or sent by it), newest first, with their shipping event."""
    column = Shipment.to_organization_id if incoming else Shipment.from_organization_id
    query = select(Shipment, Event).join(Event, (Event.shipment_id == Shipment.id) & (Event.step == "shipping")) \
        .where(column == organization_id)
    if status:
        query = query.where(Shipment.status == status)
    return session.exec(query.order_by(Event.event_time.desc(), Shipment.id.desc())).all()


# --- destroying ---

def _left_elsewhere(session: Session, lot_id: int, organization_id: int) -> bool:
    """Whether another organization holds some of the lot, or some is on its way to one."""
    held = session.exec(select(Holding.lot_id).where(Holding.lot_id == lot_id, Holding.organization_id != organization_id,
                                                     Holding.quantity > 0)).first()
    travelling = session.exec(select(EventLot.lot_id).join(Event, Event.id == EventLot.event_id)
                              .join(Shipment, Shipment.id == Event.shipment_id)
                              .where(EventLot.lot_id == lot_id, Event.step == "shipping", in_force(),
                                     Shipment.status == "in_transit")).first()
    return held is not None or travelling is not None


def record_destroying(ledger: Ledger, lot_id, data, flag: LotFlag | None = None) -> Event:
    """What is left of a lot (or part of it) destroyed: it leaves the stock for good."""
    found = ledger.lot_by_id(lot_id)
    if found is None:
        raise NotFound()
    lot, gtin = found
    r = Reader(data)
    reason = r.text("reason", max_length=300)
    held = ledger.held_of(r, lot)
    quantity = held
    if r.present("quantity"):
        amount = ledger.quantity_in(r, lot)
        quantity = amount[0] if amount else None
    if quantity is not None and held > 0 and not ledger.stock.take(lot.id, ledger.organization_id, quantity):
        r.errors.setdefault("quantity", short_of_stock(lot, held, quantity, _l("destroy")))
    site = ledger.owned_site(r)
    moment = r.moment("time", ledger.zone)
    r.done()
    event = new_event(ledger.organization_id, "destroying", moment, ledger.user_id, lot.batch_id,
                      site.id if site else None, clean({"reason": reason}))
    if lot.id > 0 and ledger.stock.held(lot.id, ledger.organization_id) == 0 \
            and not _left_elsewhere(ledger.session, lot.id, ledger.organization_id):
        # Nothing of the lot is left anywhere: a pre-harvest flag on it is resolved so; what was made from it
        # before stays blocked.
        for flag in safety.flags_of(ledger.session, lot.id):
            if flag.resolution is None:
                safety.mark_flag_destroyed(ledger.session, ledger.user_id, flag, reason)
    return ledger.record(event, [("observed", lot, gtin, quantity, lot.unit)])
