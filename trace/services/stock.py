"""What each organization holds of each lot: checked event by event in memory, guarded again by the database.

Events of one request (or one EPCIS document) move stock through a StockBook: every take is checked
against what the book knows, in the order the events come, and `flush()` writes the net change of each
holding with a statement that refuses to go below zero. Two requests racing for the same stock cannot
both win: the second one's guarded update matches no row, and the holding table's CHECK backs it up.
"""
from collections import defaultdict
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Numeric, bindparam, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ..models import Holding
from .errors import ValidationError

ZERO = Decimal("0.000")
TABLE = Holding.__table__


class StockBook:
    def __init__(self, session: Session):
        self.session = session
        self.stored = {}  # (lot_id, organization_id) -> quantity in the database when first read
        self.change = defaultdict(Decimal)

    def preload(self, keys) -> None:
        """Read many holdings in one query (an EPCIS document names many lots)."""
        missing = [key for key in set(keys) if key not in self.stored]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            for key in chunk:
                self.stored[key] = ZERO
            rows = self.session.exec(
                select(TABLE.c.lot_id, TABLE.c.organization_id, TABLE.c.quantity)
                .where(tuple_(TABLE.c.lot_id, TABLE.c.organization_id).in_(chunk))).all()
            for lot_id, organization_id, quantity in rows:
                self.stored[(lot_id, organization_id)] = Decimal(quantity)

    def held(self, lot_id: int, organization_id: int) -> Decimal:
        key = (lot_id, organization_id)
        if key not in self.stored:
            self.preload([key])
        return self.stored[key] + self.change[key]

    def take(self, lot_id: int, organization_id: int, quantity: Decimal) -> bool:
        """Take `quantity` out of the holding; False (and nothing taken) if it holds less."""
        if self.held(lot_id, organization_id) < quantity:
            return False
        self.change[(lot_id, organization_id)] -= quantity
        return True

    def give(self, lot_id: int, organization_id: int, quantity: Decimal) -> None:
        self.held(lot_id, organization_id)
        self.change[(lot_id, organization_id)] += quantity

    def flush(self) -> None:
        """Write every net change; a holding that changed meanwhile and would go negative refuses it all."""
        credits = [{"lot_id": lot_id, "organization_id": org, "quantity": delta}
                   for (lot_id, org), delta in self.change.items() if delta > 0]
        debits = [(lot_id, org, delta) for (lot_id, org), delta in self.change.items() if delta < 0]
        if credits:
            insert = (postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert)(TABLE)
            self.session.exec(insert.on_conflict_do_update(
                index_elements=["lot_id", "organization_id"],
                set_={"quantity": func.round(TABLE.c.quantity + insert.excluded.quantity, 3)}), params=credits)
        delta = bindparam("delta", type_=Numeric(14, 3))
        guarded = (update(TABLE).where(TABLE.c.lot_id == bindparam("lot"), TABLE.c.organization_id == bindparam("org"),
                                       func.round(TABLE.c.quantity + delta, 3) >= 0)
                   .values(quantity=func.round(TABLE.c.quantity + delta, 3)))
        for lot_id, org, change in debits:
            if self.session.exec(guarded, params={"lot": lot_id, "org": org, "delta": change}).rowcount != 1:
                raise ValidationError({"quantity": _l("The stock of a lot changed while this was being saved, and "
                                                      "is no longer enough. Nothing was saved; try again.")})
        for key, change in self.change.items():
            self.stored[key] += change
        self.change.clear()


def holdings_of(session: Session, organization_id: int) -> list:
    """(lot_id, quantity) the organization holds, more than zero."""
    return session.exec(select(TABLE.c.lot_id, TABLE.c.quantity)
                           .where(TABLE.c.organization_id == organization_id, TABLE.c.quantity > 0)).all()
