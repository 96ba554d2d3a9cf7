"""Online verification: which label run issued a label, for one URL or for ten thousand at once."""

from sqlalchemy import bindparam
from sqlmodel import Session, select

from ..models import LabelRun, Lot, Product, Revision
from .gs1 import DigitalLink
from .verification import Verification, check_signature, verify_label, with_issuance

MAX_BATCH = 10_000


def serial_number(serial: str) -> int | None:
    """The number a serial we issue is written as (no leading zeros), or None for anything else."""
    if serial.isascii() and serial.isdigit() and len(serial) <= 9 and not serial.startswith("0"):
        return int(serial)
    return None


# Built once: composing a statement costs more than running it.
RUN_AND_REVISION = (
    select(LabelRun.id, LabelRun.lot_id, LabelRun.status, LabelRun.cancelled_at, LabelRun.cancel_reason,
           select(Revision.value).where(Revision.id == 1).scalar_subquery().label("revision"))
    .join(Lot, Lot.id == LabelRun.lot_id).join(Product, Product.id == Lot.product_id)
    .where(Product.gtin == bindparam("gtin"), Lot.code == bindparam("code"),
           LabelRun.first_serial <= bindparam("serial"), LabelRun.last_serial >= bindparam("serial")))


def issued_run_and_revision(session: Session, link: DigitalLink) -> tuple:
    """(the run that reserved this label, as a row with the run's id, lot_id, status, cancelled_at and
    cancel_reason, or None; the database's revision), in one statement without the ORM's cost."""
    serial = serial_number(link.serial)
    if serial is None:
        return None, None
    row = session.connection().execute(RUN_AND_REVISION, {"gtin": link.gtin, "code": link.lot, "serial": serial}).first()
    return (row, row.revision) if row else (None, None)


def verify_online(session: Session, url: str, keyset, bases: tuple) -> Verification:
    return verify_label(url, keyset, bases, lambda link: issued_run_and_revision(session, link)[0])


def verify_many(session: Session, urls: list, keyset, bases: tuple) -> list:
    """Verdicts in the order given. Runs are read for all the lots named at once, not once per URL."""
    offline = [check_signature(url, keyset, bases) for url in urls]
    wanted = {(v.link.gtin, v.link.lot) for v in offline if v.signed}
    runs: dict = {}
    for pairs in _chunks(sorted(wanted), 400):
        rows = session.exec(
            select(Product.gtin, Lot.code, LabelRun).join(Lot, Lot.product_id == Product.id)
            .join(LabelRun, LabelRun.lot_id == Lot.id)
            .where(Product.gtin.in_({gtin for gtin, _ in pairs}), Lot.code.in_({code for _, code in pairs}))
        ).all()
        for gtin, code, run in rows:
            if (gtin, code) in wanted:
                runs.setdefault((gtin, code), []).append(run)

    def find_run(link: DigitalLink):
        serial = serial_number(link.serial)
        return next((run for run in runs.get((link.gtin, link.lot), [])
                     if serial is not None and run.first_serial <= serial <= run.last_serial), None)

    return [with_issuance(verification, find_run(verification.link)) if verification.signed else verification
            for verification in offline]


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
