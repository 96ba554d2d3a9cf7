"""Finding lots and the facts derived from their events."""
from datetime import date, timedelta

from sqlmodel import Session, select

from ..clock import local_day
from ..models import Batch, Event, EventLot, Holding, Lot, Organization, Product, Site
from .errors import NotFound, ValidationError
from .events import ERROR_DECLARATION, in_force
from .gs1 import DigitalLinkError, normalize_gtin, parse_digital_link


def find_lot(session: Session, gtin: str, code: str, organization_id: int | None = None) -> Lot | None:
    """A lot by GTIN and lot code, as GS1 identifies it; limited to one organization when given."""
    query = select(Lot).join(Product, Product.id == Lot.product_id).where(Product.gtin == gtin, Lot.code == code)
    if organization_id is not None:
        query = query.where(Lot.organization_id == organization_id)
    return session.exec(query).first()


def find_lot_named(session: Session, gtin_or_url: str, lot_code: str | None = None) -> Lot:
    """A lot named by a label's URL (or any Digital Link naming a lot), or by GTIN and lot code; a
    ValidationError says what is wrong with what was given, a NotFound that no such lot exists."""
    if lot_code is None:
        try:
            link = parse_digital_link(gtin_or_url)
        except DigitalLinkError as exc:
            raise ValidationError({"lot": f"Give GTIN and lot code, or a label URL ({exc})."}) from None
        gtin14, lot_code = link.gtin, link.lot
        if lot_code is None:
            raise ValidationError({"lot": "The URL names no lot (10)."})
    else:
        gtin14 = normalize_gtin(gtin_or_url)
    lot = find_lot(session, gtin14, lot_code)
    if lot is None:
        raise NotFound(f"No lot {lot_code!r} of GTIN {gtin14}.")
    return lot


def list_lots(session: Session, organization_id: int | None = None) -> list:
    """(lot, product) pairs, newest first."""
    query = select(Lot, Product).join(Product, Product.id == Lot.product_id)
    if organization_id is not None:
        query = query.where(Lot.organization_id == organization_id)
    return session.exec(query.order_by(Lot.produced_on.desc(), Lot.id.desc())).all()


def lots_of_batch(session: Session, batch_id: int) -> list:
    """The lots a batch's harvests made."""
    return session.exec(select(Lot).where(Lot.batch_id == batch_id).order_by(Lot.id)).all()


def lot_events(session: Session, lot: Lot, with_corrected: bool = False) -> list:
    """(event, site) pairs of a lot's life: its batch from planting or stocking, then the lot's own events.

    The corrected history leaves out events declared erroneous; `with_corrected` keeps them (for the owner and
    inspectors, who see each with its correction: see corrections_of)."""
    own = set(session.exec(select(EventLot.event_id).where(EventLot.lot_id == lot.id)).all())
    batch = set(session.exec(select(Event.id).where(Event.batch_id == lot.batch_id)).all()) - own \
        if lot.batch_id is not None else set()
    # A batch's events that name lots belong to those lots: another picking of the season is not this lot's.
    if batch:
        batch -= set(session.exec(select(EventLot.event_id).where(EventLot.event_id.in_(batch))).all())
    ids = own | batch
    condition = Event.step != ERROR_DECLARATION if with_corrected else in_force()
    return session.exec(
        select(Event, Site).outerjoin(Site, Site.id == Event.site_id)
        .where(Event.id.in_(ids), condition).order_by(Event.event_time, Event.id)
    ).all()


def held_lots(session: Session, organization_id: int) -> list:
    """(lot, product, quantity) of every lot the organization holds some of, newest first."""
    return session.exec(select(Lot, Product, Holding.quantity).join(Product, Product.id == Lot.product_id)
                        .join(Holding, Holding.lot_id == Lot.id)
                        .where(Holding.organization_id == organization_id, Holding.quantity > 0)
                        .order_by(Lot.produced_on.desc(), Lot.id.desc())).all()


def quantity_held(session: Session, lot_id: int, organization_id: int):
    row = session.get(Holding, (lot_id, organization_id))
    return row.quantity if row else None


def packing_date(session: Session, lot: Lot) -> date | None:
    event = session.exec(
        select(Event).join(EventLot, EventLot.event_id == Event.id)
        .where(EventLot.lot_id == lot.id, Event.step == "packing", in_force()).order_by(Event.event_time)
    ).first()
    return local_day(event.event_time, event.event_time_zone_offset) if event else None


def best_before(session: Session, lot: Lot, product: Product) -> date | None:
    """Shelf life counts from packing when the lot was packed, else from harvest."""
    if not product.shelf_life_days:
        return None
    start = packing_date(session, lot) or lot.produced_on
    return start + timedelta(days=product.shelf_life_days)


def production_site(session: Session, lot: Lot) -> Site | None:
    if lot.batch_id is None:
        return None
    batch = session.get(Batch, lot.batch_id)
    return session.get(Site, batch.site_id)


def producer(session: Session, lot: Lot) -> Organization:
    return session.get(Organization, lot.organization_id)
