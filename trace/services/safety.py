"""Recalls and pre-harvest flags: what stops a lot from being labelled, shipped or shown as fine.

A recall names one lot and reaches every lot made from it, recorded at the time of the recall
(RecallLot), so the scan of any of their labels finds it with one indexed lookup. A flag is raised on a
lot harvested inside a pre-harvest interval or withdrawal period; it blocks that lot and everything
made from it, found by tracing back, until an inspector clears it. A flag resolved by destroying the
lot still blocks what was made from it before.
"""
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from ..models import (
    Event,
    EventLot,
    Holding,
    Lot,
    LotFlag,
    Organization,
    Product,
    Recall,
    RecallLot,
    Shipment,
    User,
    utcnow,
)
from . import lineage
from .errors import NotFound, ValidationError
from .parse import Reader, row_by_id

PRE_HARVEST_INTERVAL = "pre_harvest_interval"


@dataclass
class LotStatus:
    recall: Recall | None = None
    flags: list = field(default_factory=list)  # open or destroyed LotFlags on this lot or upstream

    @property
    def recalled(self) -> bool:
        return self.recall is not None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def blocking_reason(self) -> str | None:
        """Why no label may be issued for the lot, or None."""
        if self.recall is not None:
            return str(_l("The lot has been recalled: %(reason)s", reason=self.recall.reason))
        if self.flags:
            return str(_l("The lot, or a lot it was made from, is flagged: %(reason)s", reason=flag_reason(self.flags[0])))
        return None


def flag_reason(flag: LotFlag) -> str:
    """The flag's reason in the reader's language."""
    if flag.kind == PRE_HARVEST_INTERVAL and flag.details:
        return str(_l("Harvested on %(harvest)s, inside the pre-harvest interval or withdrawal period of %(input)s "
                      "(until %(end)s).", **flag.details))
    return flag.reason


def active_recall(session: Session, lot_id: int) -> Recall | None:
    return statuses(session, [lot_id])[lot_id].recall


def statuses(session: Session, lot_ids, upstream: set | None = None) -> dict:
    """lot id -> LotStatus, for many lots in a few queries: their recalls, and the flags on them or upstream
    (`upstream`: the ids of the lots behind them, when the caller has walked there already)."""
    ids = set(lot_ids)
    result = {lot_id: LotStatus() for lot_id in ids}
    if not ids:
        return result
    for recall, lot_id in session.exec(select(Recall, RecallLot.lot_id).join(RecallLot, RecallLot.recall_id == Recall.id)
                                       .where(RecallLot.lot_id.in_(ids), Recall.lifted_at.is_(None))
                                       .order_by(Recall.recalled_at)).all():
        result[lot_id].recall = result[lot_id].recall or recall
    if upstream is None:
        upstream = lineage.reachable(session, ids, "back")
    flags = session.exec(select(LotFlag).where(LotFlag.lot_id.in_(upstream),
                                               (LotFlag.resolution.is_(None)) | (LotFlag.resolution == "destroyed"))
                         .order_by(LotFlag.raised_at)).all()
    for flag in flags:  # rare: only then is it worth finding which of the lots each one reaches
        for lot_id in lineage.reachable(session, [flag.lot_id], "forward") & ids:
            result[lot_id].flags.append(flag)
    return result


def lot_status(session: Session, lot: Lot, upstream: set | None = None) -> LotStatus:
    return statuses(session, [lot.id], upstream)[lot.id]


def ensure_labellable(session: Session, lot: Lot) -> None:
    reason = lot_status(session, lot).blocking_reason()
    if reason:
        raise ValidationError({"count": reason})


# --- recalls ---

def _reason(r: Reader, name="reason") -> str:
    return r.text(name, max_length=500)


def recall_lot(session: Session, lot: Lot, data, user: User | None = None) -> Recall:
    """Recall a lot and everything made from it. The owner may recall its own lots, an inspector any lot;
    without a user (the command line, run by the service's operator) the recall is recorded in the owner's name."""
    if user is not None and user.role != "inspector" and lot.organization_id != user.organization_id:
        raise NotFound()
    r = Reader(data)
    reason = _reason(r)
    if active_recall(session, lot.id) is not None:
        r.errors.setdefault("reason", _l("This lot is already recalled."))
    r.done()
    recall = Recall(lot_id=lot.id, organization_id=user.organization_id if user else lot.organization_id,
                    user_id=user.id if user else None, reason=reason)
    session.add(recall)
    session.flush()
    affected = lineage.reachable(session, [lot.id], "forward")
    links = lineage.links_among(session, affected, "forward")
    depth = lineage.depths(lot.id, links, "forward")
    session.add_all([RecallLot(recall_id=recall.id, lot_id=lot_id, depth=depth.get(lot_id, 0)) for lot_id in affected])
    session.flush()
    return recall


def lift_recall(session: Session, user: User, recall_id, data) -> Recall:
    """Lift a recall: an inspector's act, with a reason, kept in the history."""
    if user.role != "inspector":
        raise NotFound()
    recall = row_by_id(session, Recall, recall_id)
    r = Reader(data)
    reason = _reason(r)
    if recall.lifted_at is not None:
        r.errors.setdefault("reason", _l("This recall was already lifted."))
    r.done()
    recall.lifted_at, recall.lifted_by_user_id, recall.lift_reason = utcnow(), user.id, reason
    session.add(recall)
    session.flush()
    return recall


def recalls_of_lot(session: Session, lot_id: int) -> list:
    """Every recall that reached the lot, lifted or not, newest first: its history."""
    return session.exec(select(Recall).join(RecallLot, RecallLot.recall_id == Recall.id)
                        .where(RecallLot.lot_id == lot_id).order_by(Recall.recalled_at.desc())).all()


@dataclass
class RecallNoticeRow:
    organization: Organization
    role: str  # holder: made or still holds it; receiver: it was shipped to them
    lot: Lot
    product: object
    quantity: object
    unit: str
    when: datetime | None
    reference: str
    status: str


def recall_notice(session: Session, recall: Recall) -> list:
    """Who received what of a recall, how much, when and under which documents, and who made each lot."""
    lot_ids = set(session.exec(select(RecallLot.lot_id).where(RecallLot.recall_id == recall.id)).all())
    trace_rows = session.exec(select(Lot, Organization).join(Organization, Organization.id == Lot.organization_id)
                              .where(Lot.id.in_(lot_ids))).all()
    products = {p.id: p for p in session.exec(select(Product).where(
        Product.id.in_({lot.product_id for lot, _ in trace_rows})))}
    rows = [RecallNoticeRow(owner, "maker", lot, products[lot.product_id], lot.quantity, lot.unit, None, "", "made")
            for lot, owner in trace_rows]
    organizations = {}
    for shipment, received, line, lot, product, received_line in lineage.shipments_of(session, lot_ids):
        receiver = organizations.get(shipment.to_organization_id) or session.get(Organization, shipment.to_organization_id)
        organizations[receiver.id] = receiver
        if received is not None:
            rows.append(RecallNoticeRow(receiver, "receiver", lot, product, received_line.quantity, received_line.unit,
                                        received.event_time, f"{shipment.reference_type} {shipment.reference}",
                                        "received"))
        else:
            rows.append(RecallNoticeRow(receiver, "receiver", lot, product, line.quantity, line.unit, None,
                                        f"{shipment.reference_type} {shipment.reference}", "in_transit"))
    rows.sort(key=lambda row: (row.role != "maker", row.organization.name, row.lot.code))
    return rows


def visible_recall(session: Session, user: User, recall_id) -> tuple:
    """(recall, its notice) for inspectors, whoever ordered it, and every organization the notice names:
    makers, holders and receivers; NotFound for anyone else."""
    recall = row_by_id(session, Recall, recall_id)
    rows = recall_notice(session, recall)
    if user.role != "inspector" and recall.organization_id != user.organization_id and \
            all(row.organization.id != user.organization_id for row in rows):
        raise NotFound()
    return recall, rows


def recalls_affecting(session: Session, organization_id: int) -> list:
    """Active recalls that reach a lot the organization made, holds or was shipped."""
    shipped_to = select(EventLot.lot_id).join(Event, Event.id == EventLot.event_id).join(
        Shipment, Shipment.id == Event.shipment_id).where(Shipment.to_organization_id == organization_id)
    held = select(Holding.lot_id).where(Holding.organization_id == organization_id)
    made = select(Lot.id).where(Lot.organization_id == organization_id)
    return session.exec(
        select(Recall).where(Recall.lifted_at.is_(None), Recall.id.in_(
            select(RecallLot.recall_id).where(RecallLot.lot_id.in_(shipped_to) | RecallLot.lot_id.in_(held)
                                              | RecallLot.lot_id.in_(made))))
        .order_by(Recall.recalled_at.desc())).all()


def latest_recalls(session: Session, limit: int = 50) -> list:
    """(recall, lot, product) rows for the ward: standing recalls first, newest first."""
    return session.exec(select(Recall, Lot, Product).join(Lot, Lot.id == Recall.lot_id)
                        .join(Product, Product.id == Lot.product_id)
                        .order_by(Recall.lifted_at.is_not(None), Recall.recalled_at.desc()).limit(limit)).all()


# --- flags ---

def raise_flag(session: Session, lot: Lot, kind: str, details: dict) -> LotFlag:
    """A flag the recording raised; its reason is worded from its details when shown, in the reader's language."""
    flag = LotFlag(lot_id=lot.id, kind=kind, details=details)
    session.add(flag)
    session.flush()
    return flag


def latest_flags(session: Session, limit: int = 50) -> list:
    """(flag, lot, product) rows for the ward: open flags first, newest first."""
    return session.exec(select(LotFlag, Lot, Product).join(Lot, Lot.id == LotFlag.lot_id)
                        .join(Product, Product.id == Lot.product_id)
                        .order_by(LotFlag.resolution.is_not(None), LotFlag.raised_at.desc()).limit(limit)).all()


def flags_of(session: Session, lot_id: int) -> list:
    return session.exec(select(LotFlag).where(LotFlag.lot_id == lot_id).order_by(LotFlag.raised_at)).all()


def clear_flag(session: Session, user: User, flag_id, data) -> LotFlag:
    """An inspector clears a flag with a reason and the reference of the evidence (e.g. a residue test)."""
    if user.role != "inspector":
        raise NotFound()
    flag = row_by_id(session, LotFlag, flag_id)
    r = Reader(data)
    reason = _reason(r)
    reference = r.text("reference", max_length=120)
    if flag.resolution is not None:
        r.errors.setdefault("reason", _l("This flag was already resolved."))
    r.done()
    flag.resolution, flag.resolved_at, flag.resolved_by_user_id = "cleared", utcnow(), user.id
    flag.resolution_reason, flag.resolution_reference = reason, reference
    session.add(flag)
    session.flush()
    return flag


def reopen_destroyed_flags(session: Session, lot_id: int) -> None:
    for flag in flags_of(session, lot_id):
        if flag.resolution == "destroyed":
            flag.resolution = flag.resolved_at = flag.resolved_by_user_id = None
            flag.resolution_reason = flag.resolution_reference = None
            session.add(flag)


def mark_flag_destroyed(session: Session, user_id: int, flag: LotFlag, reason: str) -> None:
    flag.resolution, flag.resolved_at, flag.resolved_by_user_id = "destroyed", utcnow(), user_id
    flag.resolution_reason, flag.resolution_reference = reason, None
    session.add(flag)
