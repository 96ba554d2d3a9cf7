"""Corrections: an event is never edited or deleted; a new event declares it erroneous (EPCIS errorDeclaration).

Declaring an event wrong undoes what it did to the stock: a harvest's lot leaves the stock again, a
transformation gives back its inputs and takes back its outputs, a shipment returns to the sender, a
receipt leaves the receiver. When that is no longer possible (the lot was processed, shipped or
labelled since), the later events must be corrected first; the message says so.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import select

from ..models import Event, EventLot, LabelRun, Lot, Shipment
from . import safety
from .errors import NotFound, ValidationError
from .events import ERROR_DECLARATION, ERROR_REASONS
from .ledger import Ledger
from .parse import Reader, now_moment, row_by_id


def declare_error(ledger: Ledger, event_id, data) -> Event:
    session = ledger.session
    event = row_by_id(session, Event, event_id)
    if event.organization_id != ledger.organization_id or event.step == ERROR_DECLARATION:
        raise NotFound()
    r = Reader(data)
    reason = r.text("reason", max_length=500)
    reason_code = r.choice("reason_code", ERROR_REASONS, required=False) or "incorrect_data"
    corrective = r.text("corrective_event_id", required=False, max_length=120)
    moment = r.moment("time", ledger.zone, required=False)
    if session.exec(select(Event.id).where(Event.corrects_event_id == event.id)).first():
        r.errors.setdefault("event", _l("This event was already declared erroneous."))
    r.done()
    problem = _undo_stock(ledger, event)
    if problem:
        raise ValidationError({"event": problem})
    moment = moment or now_moment(ledger.zone)
    details = {"reason": reason, "reason_code": reason_code}
    if corrective:
        details["corrective_event_ids"] = [corrective]
    declaration = Event(organization_id=event.organization_id, batch_id=event.batch_id, site_id=event.site_id,
                        step=ERROR_DECLARATION, epcis_type=event.epcis_type, action=event.action,
                        biz_step=event.biz_step, disposition=event.disposition, event_time=moment[0],
                        event_time_zone_offset=moment[1], details=details, actor_user_id=ledger.user_id,
                        corrects_event_id=event.id, shipment_id=event.shipment_id)
    session.add(declaration)
    return declaration


def _undo_stock(ledger: Ledger, event: Event) -> str | None:
    """Take back what the event did to the stock; a message when later events stand in the way."""
    session = ledger.session
    # In lot order, so that the lot a refusal names is the same on every database.
    lines = session.exec(select(EventLot).where(EventLot.event_id == event.id).order_by(EventLot.lot_id)).all()
    outputs = [line for line in lines if line.role == "output"]
    if outputs and session.exec(select(LabelRun.id).where(LabelRun.lot_id.in_([line.lot_id for line in outputs]))).first():
        return str(_l("Labels were issued for a lot this event made: cancel them or recall the lot instead."))
    org = event.organization_id
    if event.step in ("harvest", "transformation"):
        for line in outputs:
            if not ledger.stock.take(line.lot_id, org, line.quantity):
                return _used_since(session, line.lot_id)
        for line in lines:
            if line.role == "input":
                ledger.stock.give(line.lot_id, org, line.quantity)
    elif event.step == "shipping":
        shipment = session.get(Shipment, event.shipment_id)
        changed = session.exec(update(Shipment).where(Shipment.id == shipment.id, Shipment.status == "in_transit")
                               .values(status="cancelled"))
        if changed.rowcount != 1:
            return str(_l("The shipment was received: its receipt must be declared erroneous first."))
        for line in lines:
            ledger.stock.give(line.lot_id, org, line.quantity)
    elif event.step == "receiving":
        for line in lines:
            if not ledger.stock.take(line.lot_id, org, line.quantity):
                return _used_since(session, line.lot_id)
        session.exec(update(Shipment).where(Shipment.id == event.shipment_id, Shipment.status == "received")
                     .values(status="in_transit"))
    elif event.step == "destroying":
        for line in lines:
            ledger.stock.give(line.lot_id, org, line.quantity)
            safety.reopen_destroyed_flags(session, line.lot_id)  # the lot was not all destroyed after all
    return None


def _used_since(session, lot_id: int) -> str:
    code = session.get(Lot, lot_id).code
    return str(_l("Lot %(code)s has been used, shipped or destroyed since: declare those events erroneous first.",
                  code=code))
