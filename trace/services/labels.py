"""Label runs: issuing serials (each at most once, enforced by the database), cancelling, signing each serial."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlmodel import Session, func, select

from ..models import Event, EventLot, LabelRun, Lot, Product, SigningKey, utcnow
from . import keys as keys_service
from . import safety
from .errors import ValidationError
from .events import in_force
from .gs1 import element_string, label_url
from .units import count_text

MAX_LABELS_PER_RUN = 100_000


@dataclass
class Label:
    serial: str
    url: str
    gtin: str
    lot_code: str


def validate_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        text = str(count).strip() if isinstance(count, str) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValidationError({"count": _l("Enter a whole number of labels.")})
        count = int(text)
    if not 1 <= count <= MAX_LABELS_PER_RUN:
        raise ValidationError({"count": _l("Issue between 1 and %(max)s labels at a time.",
                                           max=count_text(MAX_LABELS_PER_RUN))})
    return count


def label_capacity(session: Session, lot: Lot) -> int:
    """How many labels a lot can carry: the packages it was packed into, else its quantity (whole units).

    Packages counted are consumer packs (packings into no container); cartons packed under an SSCC hold
    those packs, so they count only when the lot was packed no other way. Only packings of this lot count:
    another lot harvested from the same batch was packed for itself."""
    packings = session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id)
                            .where(EventLot.lot_id == lot.id, Event.step == "packing", in_force())).all()
    loose = [event for event in packings if event.parent_id is None] or packings
    packed = sum(int(event.details.get("package_count") or 0) for event in loose)
    return packed or int(lot.quantity)


def labels_issued(session: Session, lot_id: int) -> int:
    """Labels of a lot in runs that stand (issued, not cancelled)."""
    count = func.coalesce(func.sum(LabelRun.last_serial - LabelRun.first_serial + 1), 0)
    return session.exec(select(count).where(LabelRun.lot_id == lot_id, LabelRun.status == "issued",
                                            LabelRun.cancelled_at.is_(None))).one()


def runs_of_lot(session: Session, lot_id: int, issued_only: bool = False) -> list:
    """A lot's label runs, oldest first; `issued_only` leaves out runs whose file is still being written."""
    query = select(LabelRun).where(LabelRun.lot_id == lot_id)
    if issued_only:
        query = query.where(LabelRun.status == "issued")
    return session.exec(query.order_by(LabelRun.id)).all()


def issue_labels(session: Session, store: keys_service.KeyStore, lot: Lot, count, user_id: int | None = None,
                 over_issue_reason: str | None = None, pending: bool = False) -> LabelRun:
    """Reserve the next `count` serials of a lot under the current signing key, in one transaction.

    More labels than the lot holds need a reason, kept on the run. A `pending` run (a command writing its
    file) is not issued until `confirm_run`: killed half-way, it leaves nothing that verifies.
    """
    count = validate_count(count)
    reason = (over_issue_reason or "").strip() or None
    if reason is not None and len(reason) > 500:
        raise ValidationError({"over_issue_reason": _l("At most 500 characters.")})
    safety.ensure_labellable(session, lot)
    # One guarded UPDATE takes the range and locks the lot's row: two runs at once queue here and get different
    # serials, and each sees the other's labels when it counts what is already issued.
    last = session.execute(update(Lot).where(Lot.id == lot.id).values(serials_issued=Lot.serials_issued + count)
                           .returning(Lot.serials_issued).execution_options(synchronize_session=False)).scalar_one()
    capacity, issued = label_capacity(session, lot), labels_issued(session, lot.id)
    if issued + count > capacity and reason is None:
        raise ValidationError({"over_issue_reason": _l(
            "The lot holds %(capacity)s units and %(issued)s labels are issued: %(count)s more make %(total)s. "
            "To issue more labels than the lot holds, confirm with a reason.",
            capacity=count_text(capacity), issued=count_text(issued), count=count_text(count),
            total=count_text(issued + count))})
    key = keys_service.ensure_signing_key(session, store)
    run = LabelRun(lot_id=lot.id, signing_key_id=key.id, first_serial=last - count + 1, last_serial=last,
                   status="pending" if pending else "issued", over_issue_reason=reason, issued_by_user_id=user_id)
    session.add(run)
    session.flush()
    return run


def confirm_run(session: Session, run: LabelRun) -> LabelRun:
    run.status, run.issued_at = "issued", utcnow()
    session.add(run)
    session.flush()
    return run


def cancel_run(session: Session, run: LabelRun, reason, user_id: int | None = None) -> LabelRun:
    """A misprint or a destroyed sheet: the run's labels verify as 'cancelled' from now on."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if run.cancelled_at is not None:
        raise ValidationError({"cancel_reason": _l("This run was already cancelled.")})
    if not reason or len(reason) > 500:
        raise ValidationError({"cancel_reason": _l("Say why the run is cancelled (1 to 500 characters).")})
    run.cancelled_at, run.cancel_reason, run.cancelled_by_user_id = utcnow(), reason, user_id
    session.add(run)
    session.flush()
    return run


def serial_range(run: LabelRun, first=None, last=None) -> range:
    """The serials of a run to print: all of them, or a part given as first and last serial."""
    def number(value, default, field_name):
        text = str(value).strip() if value not in (None, "") else ""
        if not text:
            return default
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValidationError({field_name: _l("Enter a serial number.")})
        return int(text)

    start, end = number(first, run.first_serial, "first"), number(last, run.last_serial, "last")
    if not run.first_serial <= start <= end <= run.last_serial:
        raise ValidationError({"first": _l("Give serials from %(first)s to %(last)s, the first not after the last.",
                                           first=run.first_serial, last=run.last_serial)})
    if run.cancelled_at is not None:
        raise ValidationError({"first": _l("This run was cancelled: its labels would verify as cancelled.")})
    return range(start, end + 1)


@dataclass
class Signer:
    """Signs the serials of one run: Ed25519 is deterministic, so a serial's URL never changes."""
    gtin: str
    lot_code: str
    base_url: str
    kid: int
    private: object

    @classmethod
    def of(cls, session: Session, store: keys_service.KeyStore, base_url: str, run: LabelRun) -> "Signer":
        lot = session.get(Lot, run.lot_id)
        kid = session.get(SigningKey, run.signing_key_id).kid
        return cls(session.get(Product, lot.product_id).gtin, lot.code, base_url, kid, store.load(kid))

    def url(self, serial) -> str:
        message = element_string(self.gtin, self.lot_code, str(serial)).encode("ascii")
        return label_url(self.base_url, self.gtin, self.lot_code, str(serial),
                         keys_service.sign(None, self.kid, message, self.private))


def labels_for_run(session: Session, store: keys_service.KeyStore, base_url: str, run: LabelRun,
                   serials: range | None = None) -> list:
    """The labels of a run (or of some of its serials) with their signed URLs."""
    signer = Signer.of(session, store, base_url, run)
    return [Label(str(serial), signer.url(serial), signer.gtin, signer.lot_code)
            for serial in serials or range(run.first_serial, run.last_serial + 1)]


def csv_lines(session: Session, store: keys_service.KeyStore, base_url: str, run: LabelRun, serials: range):
    """serial,url lines, generated as they are written (a 100,000-label run is never a list in memory)."""
    signer = Signer.of(session, store, base_url, run)
    yield "serial,url\r\n"
    for serial in serials:
        yield f"{serial},{signer.url(serial)}\r\n"
