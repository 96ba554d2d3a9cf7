"""The transaction's view of lots, stock and new events, shared by every way of recording.

Every recording function takes a Ledger. It reads what it needs once, checks every rule before
anything is written (all problems reported together), and `flush()` hashes the new events and writes
them with their lots and the stock they move. A form or an API call uses a Ledger for one event; an
EPCIS capture uses one Ledger for a whole document, so a document is recorded as if its events had been
entered by hand, one after the other, all or nothing.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..db import savepoint
from ..models import MAX_ID, Batch, Event, EventLot, Lot, LotFlag, Organization, Product, Shipment, Site, utcnow
from . import epcis, safety
from .errors import ValidationError
from .events import NewEvent, NewShipment, in_force
from .gs1 import code_problem, gtin_problem
from .parse import Reader
from .stock import StockBook
from .units import UNITS, UnitMismatch, convert, plain

MAX_LINES = 100

@dataclass
class Line:
    lot: Lot
    gtin: str
    quantity: Decimal  # in the lot's unit
    entered: dict  # what the user typed, when it differs (another unit, a factor)


def short_of_stock(lot: Lot, held: Decimal, quantity: Decimal, action) -> str:
    return _l("Only %(held)s %(unit)s of lot %(code)s is left; you cannot %(action)s %(quantity)s.",
              held=plain(held), unit=lot.unit, code=lot.code, action=action, quantity=plain(quantity))


class Ledger:
    """One transaction's lots, stock and new events, for one organization and user."""

    def __init__(self, session: Session, organization_id: int, user_id: int | None, zone: str):
        self.session = session
        self.organization_id = organization_id
        self.user_id = user_id
        self.zone = zone
        self.stock = StockBook(session)
        self.lots = {}  # (gtin, code) -> (Lot, gtin) or None
        self.gtins = {}  # product id -> gtin
        self.products = {}  # gtin -> Product or None
        self.organizations = {}
        self.statuses = {}
        self.new_lot_keys = set()
        self.new_lots = {}  # id -> (NewLot, gtin) of the lots made in this transaction
        self.pending_lots = []  # NewLots not written yet, each with a negative stand-in id
        self.pending_flags = []  # (lot, LotFlag) for lots not written yet
        self.rows = {}  # (model, id) -> row, for get()
        self.withholding = {}  # batch id -> its pre-harvest intervals: [(start, end, input Event)]
        self.pending_harvests = {}  # batch id -> [(moment, Lot)] harvested in this transaction
        self.views = []  # EventViews of the events recorded, written at flush
        self.event_lots = []  # for each, (role, lot id, quantity, unit)

    # --- lookups, cached for the transaction ---

    def get(self, model, object_id: int):
        """A row by primary key, kept for the transaction (the session forgets rows nobody holds on to)."""
        key = (model, object_id)
        if key not in self.rows:
            self.rows[key] = self.session.get(model, object_id)
        return self.rows[key]

    def organization(self, organization_id: int) -> Organization | None:
        if organization_id not in self.organizations:
            self.organizations[organization_id] = self.session.get(Organization, organization_id)
        return self.organizations[organization_id]

    def preload_lots(self, keys) -> None:
        """Fetch many lots by (GTIN, lot code) in one query."""
        wanted = [key for key in set(keys) if key not in self.lots]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for key in chunk:
                self.lots[key] = None
            for gtin in {g for g, _ in chunk} - set(self.products):
                self.product(gtin)
            products = {self.products[g].id: g for g, _ in chunk if self.products.get(g) is not None}
            if not products:
                continue
            # By product and code, the order of the lot table's unique index: a lookup, not a scan.
            for lot in self.session.exec(select(Lot).where(Lot.product_id.in_(products),
                                                           Lot.code.in_({code for _, code in chunk}))).all():
                gtin = products[lot.product_id]
                if (gtin, lot.code) in self.lots:
                    self.lots[(gtin, lot.code)] = (lot, gtin)
                    self.gtins[lot.product_id] = gtin

    def find_lot(self, gtin: str, code: str) -> tuple | None:
        if (gtin, code) not in self.lots:
            self.preload_lots([(gtin, code)])
        return self.lots[(gtin, code)]

    def lot_by_id(self, lot_id) -> tuple | None:
        """(lot, gtin) by id (a lot made in this transaction included), or None."""
        try:
            lot_id = int(lot_id)
        except (TypeError, ValueError):
            return None
        if lot_id in self.new_lots:
            return self.new_lots[lot_id]
        lot = self.session.get(Lot, lot_id) if 1 <= lot_id <= MAX_ID else None
        if lot is None:
            return None
        if lot.product_id not in self.gtins:
            self.gtins[lot.product_id] = self.session.get(Product, lot.product_id).gtin
        found = (lot, self.gtins[lot.product_id])
        self.lots[(found[1], lot.code)] = found
        return found

    def product(self, gtin: str) -> Product | None:
        if gtin not in self.products:
            self.products[gtin] = self.session.exec(select(Product).where(Product.gtin == gtin)).first()
        return self.products[gtin]

    def status(self, lot: Lot) -> safety.LotStatus:
        if lot.id not in self.statuses:
            self.preload_statuses([lot.id])
        return self.statuses[lot.id]

    def preload_statuses(self, lot_ids) -> None:
        wanted = [lot_id for lot_id in set(lot_ids) if lot_id not in self.statuses]
        if wanted:
            self.statuses.update(safety.statuses(self.session, wanted))

    def owned_site(self, r: Reader, name: str = "site_id", required: bool = False) -> Site | None:
        site_id = r.integer(name, required=required, minimum=1, maximum=MAX_ID)
        if site_id is None:
            return None
        site = self.get(Site, site_id)
        if site is None or site.organization_id != self.organization_id:
            r.errors[name] = _l("No such item in your organization.")
            return None
        return site

    # --- reading lines of lots and quantities ---

    def lot_reference(self, r: Reader) -> tuple | None:
        """A lot named by `lot_id`, or by `gtin` and `lot` (its code), as (Lot, gtin)."""
        if r.present("lot_id"):
            lot_id = r.integer("lot_id", minimum=1, maximum=MAX_ID)
            found = self.lot_by_id(lot_id) if lot_id else None
        else:
            gtin, code = r.text("gtin", max_length=20), r.text("lot", max_length=40)
            if gtin is None or code is None:
                return None
            if gtin_problem(gtin) is not None or code_problem(code) is not None:
                r.errors.setdefault("lot", _l("No such lot (GTIN and lot code)."))
                return None
            found = self.find_lot(gtin.zfill(14), code)
        if found is None and "lot_id" not in r.errors:
            r.errors.setdefault("lot", _l("No such lot (GTIN and lot code)."))
        return found

    def quantity_in(self, r: Reader, lot: Lot, required: bool = True) -> tuple | None:
        """(quantity in the lot's unit, what was entered) from `quantity`, `unit` and `factor`."""
        quantity = r.decimal("quantity", places=3, required=required)
        unit = r.choice("unit", UNITS, required=False) or lot.unit
        factor = r.decimal("factor", required=False, places=6)
        if quantity is None:
            return None
        try:
            converted = convert(quantity, unit, lot.unit, factor)
        except UnitMismatch as exc:
            r.errors["unit"] = str(exc)
            return None
        entered = {} if unit == lot.unit else {"entered_quantity": str(quantity), "entered_unit": unit}
        if factor is not None and unit != lot.unit:
            entered["factor"] = str(factor)
        return converted, entered

    def lines(self, r: Reader, name: str, parse) -> list:
        """Rows of a list field, each read by `parse(row_reader)`; problems keyed 'name.N.field'."""
        rows = r.data.get(name) if hasattr(r.data, "get") else None
        if rows in (None, "", []):
            r.errors.setdefault(name, _l("Add at least one line."))
            return []
        if not isinstance(rows, list) or not all(hasattr(row, "get") for row in rows):
            r.errors.setdefault(name, _l("Must be a list of lines."))
            return []
        if len(rows) > MAX_LINES:
            r.errors.setdefault(name, _l("At most %(n)s lines.", n=MAX_LINES))
            return []
        result = []
        for index, row in enumerate(rows):
            sub = Reader(row)
            item = parse(sub)
            for key, message in sub.errors.items():
                r.errors.setdefault(f"{name}.{index}.{key}", message)
            result.append(item if not sub.errors else None)
        return result

    def held_line(self, sub: Reader, action: str = "use") -> Line | None:
        """A lot this organization holds, and a quantity no greater than it holds (taken from the stock)."""
        found = self.lot_reference(sub)
        if found is None:
            return None
        lot, gtin = found
        amount = self.quantity_in(sub, lot)
        if amount is None:
            return None
        quantity, entered = amount
        held = self.held_of(sub, lot)
        if held <= 0:
            return None
        if not self.stock.take(lot.id, self.organization_id, quantity):
            sub.errors["quantity"] = short_of_stock(lot, held, quantity, action)
            return None
        return Line(lot, gtin, quantity, entered)

    def held_of(self, r: Reader, lot: Lot) -> Decimal:
        """What this organization holds of a lot; holding none of it is an error on `lot`."""
        held = self.stock.held(lot.id, self.organization_id)
        if held <= 0:
            r.errors.setdefault("lot", _l("You hold none of lot %(code)s.", code=lot.code))
        return held

    # --- writing ---

    def record(self, event: NewEvent, lines: list, batch_code=None, shipment=None, parties=(), extra=None) -> NewEvent:
        """Add an event with its lots: lines are (role, Lot, gtin, quantity, unit). Written at flush()."""
        if batch_code is None and event.batch_id is not None:
            batch_code = self.session.get(Batch, event.batch_id).code
        view = epcis.EventView(event, [(role, gtin, lot.code, quantity, unit) for role, lot, gtin, quantity, unit in lines],
                               batch_code, shipment or event.shipment, parties, extra=extra or {})
        event.hash_id = epcis.hash_of(view)
        self.views.append(view)
        self.event_lots.append([(role, lot, quantity, unit) for role, lot, _, quantity, unit in lines])
        return event

    def new_lot(self, product: Product, code: str, quantity: Decimal, unit: str, day: date,
                batch_id: int | None = None, made_from=()) -> "NewLot":
        """A lot made by the event being recorded. Written at flush with the others; until then its id is a
        negative stand-in, replaced everywhere when the real one is known."""
        lot = NewLot(organization_id=self.organization_id, product_id=product.id, batch_id=batch_id, code=code,
                     quantity=quantity, unit=unit, produced_on=day, id=-(len(self.pending_lots) + 1))
        self.pending_lots.append(lot)
        self.lots[(product.gtin, code)] = self.new_lots[lot.id] = (lot, product.gtin)
        self.gtins[product.id] = product.gtin
        self.stock.stored[(lot.id, self.organization_id)] = Decimal(0)  # nobody holds any of it yet
        self.stock.give(lot.id, self.organization_id, quantity)
        # A new lot is recalled by nothing yet, and blocked by whatever blocks a lot it is made from.
        self.statuses[lot.id] = safety.LotStatus(flags=[f for source in made_from for f in self.status(source).flags])
        return lot

    def withholding_periods(self, batch_id: int) -> list:
        """The batch's pre-harvest intervals and withdrawal periods, those recorded in this transaction included:
        [(start, end in UTC, the input)]."""
        if batch_id not in self.withholding:
            self.preload_withholding([batch_id])
        return self.withholding[batch_id]

    def preload_withholding(self, batch_ids) -> None:
        periods = {batch_id: [] for batch_id in batch_ids if batch_id not in self.withholding}
        if not periods:
            return
        for event in self.session.exec(select(Event).where(Event.batch_id.in_(list(periods)),
                                                           Event.step == "input_application", in_force())).all():
            days = int(event.details.get("withholding_days", 0))
            if days:
                periods[event.batch_id].append((event.event_time, event.event_time + timedelta(days=days), event))
        self.withholding.update(periods)

    def flag(self, lot, kind: str, details: dict) -> LotFlag:
        """Flag a lot; one made in this transaction is flagged at flush, when it has its id."""
        if lot.id > 0:
            flag = safety.raise_flag(self.session, lot, kind, details=details)
        else:
            flag = LotFlag(lot_id=0, kind=kind, details=details)
            self.pending_flags.append((lot, flag))
        self.status(lot).flags.append(flag)
        return flag

    def checkpoint(self) -> tuple:
        """What an event about to be tried may change, so that a refused one leaves no trace in the ledger."""
        return dict(self.stock.change), len(self.views), set(self.new_lot_keys), len(self.pending_lots)

    def restore(self, checkpoint: tuple) -> None:
        change, views, keys, lots = checkpoint
        self.stock.change.clear()
        self.stock.change.update(change)
        del self.views[views:]
        del self.event_lots[views:]
        self.new_lot_keys = keys
        for lot in self.pending_lots[lots:]:
            self.lots.pop((self.gtins[lot.product_id], lot.code), None)
            self.new_lots.pop(lot.id, None)
        del self.pending_lots[lots:]

    def flush(self) -> None:
        """Write the new events, their lots and the stock they move, all or nothing: a conflict (an event recorded
        before, a lot code taken meanwhile) refuses them all and leaves the caller's earlier work in its
        transaction."""
        events = [view.event for view in self.views]
        if len({event.hash_id for event in events}) != len(events):
            raise ValidationError({"event": _l("The same event is given twice.")})
        with savepoint(self.session):
            self._write(events)

    def _write(self, events: list) -> None:
        self.session.flush()
        connection = self.session.connection()
        self._insert_lots(connection)
        self.session.flush()  # the flags of those lots
        try:
            self._insert_shipments(connection, [e.shipment for e in events if e.shipment and e.shipment.id is None])
            for event in events:
                if event.shipment is not None:
                    event.shipment_id = event.shipment.id
            if events:
                connection.execute(insert(Event.__table__), [event.row() for event in events])
        except IntegrityError:  # the unique hash ID: the same event is already recorded
            raise ValidationError({"event": _l("This event is already recorded.")}) from None
        ids = {}
        for start in range(0, len(events), 500):  # a RETURNING id per row would cost SQLite a statement per row
            hashes = [event.hash_id for event in events[start:start + 500]]
            ids.update({h: i for i, h in connection.execute(select(Event.id, Event.hash_id).where(Event.hash_id.in_(hashes)))})
        for event in events:
            event.id = ids[event.hash_id]
        rows = [{"event_id": event.id, "lot_id": lot.id, "role": role, "quantity": quantity, "unit": unit}
                for event, lines in zip(events, self.event_lots) for role, lot, quantity, unit in lines]
        if rows:
            connection.execute(insert(EventLot.__table__), rows)
        self.views, self.event_lots = [], []
        self.stock.flush()

    def _insert_lots(self, connection) -> None:
        """Write the new lots in one statement, read their ids back by product and code, and put the real ids
        where the stand-ins were: the lots themselves, the stock, the statuses, the flags."""
        if not self.pending_lots:
            return
        try:
            connection.execute(insert(Lot.__table__), [lot.row() for lot in self.pending_lots])
        except IntegrityError:  # taken meanwhile by another request: this transaction is refused whole
            raise ValidationError({"lot_code": _l("This product already has a lot with this code.")}) from None
        real = {}
        for start in range(0, len(self.pending_lots), 500):
            chunk = self.pending_lots[start:start + 500]
            for lot_id, product_id, code in connection.execute(
                    select(Lot.id, Lot.product_id, Lot.code).where(Lot.product_id.in_({lot.product_id for lot in chunk}),
                                                                   Lot.code.in_({lot.code for lot in chunk}))):
                real[(product_id, code)] = lot_id
        stand_in = {}
        for lot in self.pending_lots:
            stand_in[lot.id] = lot.id = real[(lot.product_id, lot.code)]
        book = self.stock
        book.stored = {(stand_in.get(lot_id, lot_id), org): q for (lot_id, org), q in book.stored.items()}
        changes = {(stand_in.get(lot_id, lot_id), org): q for (lot_id, org), q in book.change.items()}
        book.change.clear()
        book.change.update(changes)
        self.statuses = {stand_in.get(lot_id, lot_id): status for lot_id, status in self.statuses.items()}
        self.new_lots = {stand_in.get(lot_id, lot_id): found for lot_id, found in self.new_lots.items()}
        for lot, flag in self.pending_flags:
            flag.lot_id = lot.id
            self.session.add(flag)
        self.pending_lots, self.pending_flags = [], []

    @staticmethod
    def _insert_shipments(connection, shipments: list) -> None:
        """Insert shipments in one statement; ids come back unordered, so each is matched by its content."""
        if not shipments:
            return
        table = Shipment.__table__
        returned = connection.execute(insert(table).returning(*table.c), [s.row() for s in shipments]).mappings().all()
        waiting = {}
        for row in returned:
            waiting.setdefault(NewShipment.key_of(row), []).append(row["id"])
        for shipment in shipments:
            shipment.id = waiting[NewShipment.key_of(shipment.row())].pop()


@dataclass
class NewLot:
    """A lot made by an event being recorded: the attributes of a Lot row, written as soon as it is made."""
    organization_id: int
    product_id: int
    batch_id: int | None
    code: str
    quantity: Decimal
    unit: str
    produced_on: date
    created_at: datetime = field(default_factory=utcnow)
    id: int | None = None

    def row(self) -> dict:
        return {name: getattr(self, name) for name in ("organization_id", "product_id", "batch_id", "code", "quantity",
                                                       "unit", "produced_on", "created_at")}


def record_one(session: Session, organization_id: int, user_id: int | None, zone: str, function, *args):
    """Record one event by hand (a form, an API call, the CLI): `function(ledger, *args)`, then write it."""
    ledger = Ledger(session, organization_id, user_id, zone)
    result = function(ledger, *args)
    ledger.flush()
    return result
