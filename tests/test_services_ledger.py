"""The ledger at the service: a line short of stock says what could not be done with it, and lots named by
(GTIN, lot code) are fetched 500 to a query however many a document names; a checkpoint restored forgets the
lots made since; a harvest flagged only inside the withholding period of an input in force; a document of one to a
hundred lines, each problem under its line's number; a lot or site named out of bounds refused with the bounds; a lot
found by GTIN and code under its own product only, and with its GTIN when named again by id; the ids of events written
together read back 500 to a query."""
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from trace.models import Event, Lot, LotFlag, Product, Site
from trace.services import corrections, movements, recording
from trace.services.errors import ValidationError
from trace.services.ledger import Ledger, record_one
from trace.services.parse import Reader
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from .conftest import lot_named
from .test_services_safety import _user

ZONE = "Asia/Ho_Chi_Minh"
RICE_GTIN = "08936045000014"


def _ledger(session, email) -> Ledger:
    user = _user(session, email)
    return Ledger(session, user.organization_id, user.id, ZONE)


def test_a_line_short_of_stock_says_it_cannot_be_used_unless_told_what_for(session):
    ledger, rice = _ledger(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A")
    line = Reader({"lot_id": rice.id, "quantity": "20000"})
    assert ledger.held_line(line) is None
    assert line.errors == {"quantity": "Only 17200 kg of lot GAO-BH-2610A is left; you cannot use 20000."}


def test_lots_named_by_gtin_and_code_are_fetched_500_to_a_query(session):
    ledger, rice = _ledger(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A")
    keys = [(RICE_GTIN, f"NONE-{n:04d}") for n in range(1199)] + [(RICE_GTIN, "GAO-BH-2610A")]
    statements = []

    def count(_connection, _cursor, statement, *_args):
        if re.search(r"\bFROM lot\b", statement):
            statements.append(statement)

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        ledger.preload_lots(keys)
        found = {key: ledger.find_lot(*key) for key in keys}
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3
    assert found == {**{key: None for key in keys[:-1]}, (RICE_GTIN, "GAO-BH-2610A"): (rice, RICE_GTIN)}


def test_a_restored_checkpoint_forgets_the_lots_made_since(session):
    """What a capture does with an event it refuses: a later event of the document must not find its lots."""
    ledger = _ledger(session, "htx.lua@demo.vn")
    rice = ledger.product(RICE_GTIN)
    kept = ledger.new_lot(rice, "CAP-KEPT", Decimal(5), "kg", date(2026, 11, 1))
    checkpoint = ledger.checkpoint()
    refused = ledger.new_lot(rice, "CAP-REFUSED", Decimal(5), "kg", date(2026, 11, 1))
    assert (ledger.find_lot(RICE_GTIN, "CAP-REFUSED"), ledger.lot_by_id(refused.id)) == ((refused, RICE_GTIN),) * 2
    ledger.restore(checkpoint)
    assert (ledger.find_lot(RICE_GTIN, "CAP-REFUSED"), ledger.lot_by_id(refused.id)) == (None, None)
    assert (ledger.find_lot(RICE_GTIN, "CAP-KEPT"), ledger.lot_by_id(kept.id)) == ((kept, RICE_GTIN),) * 2


def _late_pesticide(ledger, rice) -> tuple:
    """A pesticide with a 7-day withholding period entered now, applied the day before the rice was harvested:
    (the harvest's local time, the period's end), as a flag's reason words them."""
    harvest = ledger.session.exec(select(Event).where(Event.batch_id == rice.batch_id, Event.step == "harvest")).one()
    applied = harvest.event_time.astimezone(ZoneInfo(ZONE)) - timedelta(days=1)
    recording.record_input(ledger, rice.batch_id, {
        "category": "pesticide", "input_name": "Validamycin 5SL", "dose": "1", "dose_unit": "l/ha",
        "withholding_days": "7", "time": applied.isoformat(timespec="minutes")})
    return (harvest.event_time.astimezone(ZoneInfo(ZONE)).strftime("%d/%m/%Y %H:%M"),
            (applied + timedelta(days=7)).strftime("%d/%m/%Y %H:%M"))


def test_the_first_lot_of_a_database_is_flagged_at_once_like_any_other(session):
    """Lot ids count up from 1: only a lot made in the same transaction, whose stand-in id is below 1, has its
    flag wait for the lot to be written."""
    ledger, rice = _ledger(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A")
    assert rice.id == 1
    harvested, end = _late_pesticide(ledger, rice)
    ledger.flush()
    assert [(flag.kind, flag.details) for flag in session.exec(select(LotFlag).where(LotFlag.lot_id == rice.id))] == [
        ("pre_harvest_interval", {"harvest": harvested, "input": "Validamycin 5SL", "end": end})]


def test_a_lot_flagged_by_an_earlier_event_of_a_document_is_refused_by_a_later_one_with_the_reason(session):
    ledger, rice = _ledger(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A")
    harvested, end = _late_pesticide(ledger, rice)
    with pytest.raises(ValidationError) as refused:
        movements.record_shipping(ledger, {
            "to_organization_id": _user(session, "sieuthi@demo.vn").organization_id, "reference": "PXK-FLAGGED",
            "time": datetime.now(ZoneInfo(ZONE)).isoformat(timespec="minutes"),
            "lines": [{"lot_id": rice.id, "quantity": "10"}]})
    assert refused.value.errors == {"lines.0.lot": (
        f"The lot, or a lot it was made from, is flagged: Harvested on {harvested}, inside the pre-harvest interval "
        f"or withdrawal period of Validamycin 5SL (until {end}).")}


def _harvest_after(session, data: dict) -> list:
    """An input applied to the rice's batch two hours ago, recorded as `data` says (and declared erroneous if it
    says so), then a harvest now: the kinds of flag the harvested lot gets."""
    farmer, batch_id = _user(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A").batch_id
    now = datetime.now(ZoneInfo(ZONE))
    data = dict(data, input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
                time=(now - timedelta(hours=2)).isoformat(timespec="minutes"))
    erroneous = data.pop("erroneous", False)
    applied = record_one(session, farmer.organization_id, farmer.id, ZONE, recording.record_input, batch_id, data)
    if erroneous:
        record_one(session, farmer.organization_id, farmer.id, ZONE, corrections.declare_error, applied.id,
                   {"reason": "Nhầm lô"})
    lot = record_one(session, farmer.organization_id, farmer.id, ZONE, recording.record_harvest, batch_id, {
        "lot_code": "GAO-BH-2612Z", "quantity": "10", "unit": "kg", "time": now.isoformat(timespec="minutes")})
    return session.exec(select(LotFlag.kind).where(LotFlag.lot_id == lot.id)).all()


@pytest.mark.parametrize("data,kinds", [
    ({"category": "pesticide", "withholding_days": "7"}, ["pre_harvest_interval"]),
    ({"category": "pesticide", "withholding_days": "7", "erroneous": True}, []),
    ({"category": "fertiliser"}, []),
], ids=["in its interval", "declared erroneous", "no withholding period"])
def test_a_harvest_is_flagged_only_inside_the_interval_of_an_input_in_force(session, data, kinds):
    """An input declared erroneous was never applied, and a fertiliser given without a period has none: the harvest
    after it may be sold."""
    assert _harvest_after(session, data) == kinds


def _lines_read(session, rows) -> tuple:
    """What the ledger makes of a body's `lines`, each row read for its `n`, and the problems it finds."""
    r = Reader({"lines": rows})
    return _ledger(session, "htx.lua@demo.vn").lines(r, "lines", lambda sub: sub.integer("n", minimum=1, maximum=1000)), r.errors


@pytest.mark.parametrize("rows", [None, "", []])
def test_a_document_without_lines_is_asked_for_one(session, rows):
    assert _lines_read(session, rows) == ([], {"lines": "Add at least one line."})


@pytest.mark.parametrize("count,result", [
    (100, (list(range(1, 101)), {})),
    (101, ([], {"lines": "At most 100 lines."})),
])
def test_a_document_may_have_a_hundred_lines_and_no_more(session, count, result):
    assert _lines_read(session, [{"n": n} for n in range(1, count + 1)]) == result


def test_a_line_with_a_problem_is_given_as_none_and_its_problem_under_its_number(session):
    """Callers skip the lines given as None: a refused line must never be taken for a good one."""
    assert _lines_read(session, [{"n": 1}, {"n": 0}, {"n": 3}]) == (
        [1, None, 3], {"lines.1.n": "Must be between 1 and 1000."})


@pytest.mark.parametrize("line,errors", [
    ({"lot_id": 0, "quantity": "1"}, {"lot_id": "Must be between 1 and 2147483647."}),
    ({"lot_id": -4, "quantity": "1"}, {"lot_id": "Must be between 1 and 2147483647."}),
    ({"lot_id": 2**31, "quantity": "1"}, {"lot_id": "Must be between 1 and 2147483647."}),
    ({"gtin": RICE_GTIN, "lot": "G" * 40, "quantity": "1"}, {"lot": "No such lot (GTIN and lot code)."}),
    ({"gtin": RICE_GTIN, "lot": "G" * 41, "quantity": "1"}, {"lot": "At most 40 characters."}),
    ({"gtin": RICE_GTIN, "lot": "G" * 200, "quantity": "1"}, {"lot": "At most 40 characters."}),
])
def test_a_lot_named_out_of_bounds_is_refused_with_the_bounds(session, line, errors):
    """A lot id is a number from 1 to PostgreSQL's largest integer, and a lot code has at most 40 characters: the
    form says which bound was passed, not merely that no such lot exists."""
    ledger, sub = _ledger(session, "htx.lua@demo.vn"), Reader(line)
    assert ledger.held_line(sub) is None
    assert sub.errors == errors


@pytest.mark.parametrize("lot_id", [0, -1, 2**31, None, "x"])
def test_a_lot_id_no_lot_can_have_finds_none(session, lot_id):
    """Ids count up from 1 and are PostgreSQL integers: a larger one is not looked up (PostgreSQL would refuse it)."""
    assert _ledger(session, "htx.lua@demo.vn").lot_by_id(lot_id) is None


def test_a_lot_found_by_gtin_and_code_keeps_its_gtin_when_found_again_by_id(session):
    """A document may name a lot both ways: its events must give its GTIN either way."""
    ledger, rice = _ledger(session, "htx.lua@demo.vn"), lot_named(session, "GAO-BH-2610A")
    assert ledger.find_lot(RICE_GTIN, "GAO-BH-2610A") == (rice, RICE_GTIN)
    assert ledger.lot_by_id(rice.id) == (rice, RICE_GTIN)


def test_a_lot_code_of_another_product_is_not_found_under_this_gtin(session):
    other = session.exec(select(Lot).join(Product).where(Product.gtin != RICE_GTIN)).first()
    ledger = _ledger(session, "htx.lua@demo.vn")
    assert ledger.find_lot(RICE_GTIN, other.code) is None
    assert ledger.find_lot(session.get(Product, other.product_id).gtin, other.code) == (
        other, session.get(Product, other.product_id).gtin)


def test_lots_of_known_products_are_fetched_with_the_rest_after_500_naming_none(session):
    """A document naming many lots of products nobody has, and one real lot: the real one is fetched in its query of
    500 wherever it falls among them, not again one by one when its line is read."""
    rice = lot_named(session, "GAO-BH-2610A")
    for attempt in range(100):  # until the real lot comes after the first 500 of the order they are fetched in
        keys = [("00000000000000", f"NONE-{attempt}-{n:03d}") for n in range(999)] + [(RICE_GTIN, rice.code)]
        if list(set(keys)).index((RICE_GTIN, rice.code)) >= 500:
            break
    ledger, statements = _ledger(session, "htx.lua@demo.vn"), []

    def count(_connection, _cursor, statement, *_args):
        if re.search(r"\bFROM lot\b", statement):
            statements.append(statement)

    ledger.preload_lots(keys)
    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        found = ledger.find_lot(RICE_GTIN, rice.code)
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert (found, statements) == ((rice, RICE_GTIN), [])


def test_a_site_id_below_one_is_refused_with_the_bounds(session):
    ledger = _ledger(session, "htx.lua@demo.vn")
    for typed in (0, -3):
        r = Reader({"site_id": typed})
        assert ledger.owned_site(r) is None
        assert r.errors == {"site_id": "Must be between 1 and 2147483647."}


def test_the_ids_of_the_events_written_together_are_read_back_500_to_a_query(session):
    """A document's events are inserted at once; their ids are read back by hash ID in queries of 500, not one by
    one."""
    ledger = _ledger(session, "thuysan@demo.vn")
    shrimp, pond = lot_named(session, "TOM-A7-2611"), session.exec(select(Site.id).where(
        Site.name == "Ao lót bạt số 7 (thâm canh công nghệ cao)")).one()
    now = datetime.now(ZoneInfo(ZONE))
    events = [movements.record_storing(ledger, {"lot_id": shrimp.id, "site_id": pond, "temperature_c": str(n),
                                                "time": (now - timedelta(hours=n)).isoformat(timespec="minutes")})
              for n in (1, 2, 3)]
    statements = []

    def count(_connection, _cursor, statement, *_args):
        if re.search(r"\bFROM event\b.*\bhash_id IN\b", statement, re.S):
            statements.append(statement)

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        ledger.flush()
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert [session.get(Event, event.id).details["temperature_c"] for event in events] == ["1", "2", "3"]


def test_more_than_500_lots_made_together_each_get_the_id_of_their_own_row(session):
    """New lots are read back by product and code in queries of 500: the 501st is read back like the first, and each
    lot ends up with the id of its own written row."""
    ledger = _ledger(session, "htx.lua@demo.vn")
    rice = ledger.product(RICE_GTIN)
    made = [ledger.new_lot(rice, f"BULK-{n:03d}", Decimal(n + 1), "kg", date(2026, 11, 1)) for n in range(501)]
    ledger.flush()
    rows = {lot.code: lot.id for lot in session.exec(select(Lot).where(Lot.code.startswith("BULK-"))).all()}
    assert len(rows) == 501
    assert [lot.id for lot in made] == [rows[f"BULK-{n:03d}"] for n in range(501)]
