"""The FSMA 204 report's choice of events: the critical tracking events in force within local days."""
from datetime import UTC, date, datetime, timedelta
from trace.models import Event, Site, User
from trace.services import corrections, movements, reports
from trace.services.ledger import record_one
from zoneinfo import ZoneInfo

from sqlmodel import select

from .conftest import lot_named

ZONE = "Asia/Ho_Chi_Minh"
CRITICAL = {"harvest", "storing", "packing", "shipping", "receiving", "transformation"}


def _ids(history):
    return sorted(entry[0].id for entry in history)


def _expected(session, start, end, organization_id=None):
    """What the report must hold, worked out in Python from every event: in force, critical, on those local days."""
    withdrawn = {event.corrects_event_id for event in session.exec(select(Event)).all() if event.corrects_event_id}
    return sorted(event.id for event in session.exec(select(Event)).all()
                  if event.step in CRITICAL and event.id not in withdrawn
                  and start <= event.event_time.astimezone(ZoneInfo(ZONE)).date() <= end
                  and organization_id in (None, event.organization_id))


def _store_at(session, lot_code, local_moment):
    lot = lot_named(session, lot_code)
    farmer = session.exec(select(User).where(User.organization_id == lot.organization_id)).first()
    site = session.exec(select(Site).where(Site.organization_id == lot.organization_id)).first()
    return record_one(session, lot.organization_id, farmer.id, ZONE, movements.record_storing,
                      {"lot_id": lot.id, "site_id": site.id, "temperature_c": "4", "time": local_moment})


def test_the_report_holds_the_critical_events_of_its_local_days_and_no_others(session):
    first = session.exec(select(Event).order_by(Event.event_time)).first().event_time.astimezone(ZoneInfo(ZONE)).date()
    last = date.today() + timedelta(days=1)
    whole = _ids(reports.events_between(session, first, last, ZONE, None))
    assert whole == _expected(session, first, last) and len(whole) > 20
    harvest = session.exec(select(Event).where(Event.step == "harvest").order_by(Event.event_time)).first()
    day = harvest.event_time.astimezone(ZoneInfo(ZONE)).date()
    assert harvest.event_time.astimezone(UTC).date() != day  # 06:00 in Hải Phòng is the day before in UTC
    one_day = _ids(reports.events_between(session, day, day, ZONE, None))
    assert harvest.id in one_day and one_day == _expected(session, day, day)
    rice = lot_named(session, "GAO-BH-2610A").organization_id
    assert _ids(reports.events_between(session, first, last, ZONE, rice)) == _expected(session, first, last, rice)


def test_the_days_run_from_local_midnight_to_midnight(session):
    day = date.today() - timedelta(days=1)
    at_midnight = _store_at(session, "GAO-BH-2610A", f"{day.isoformat()}T00:00")
    before_midnight = _store_at(session, "GAO-BH-2610A", f"{(day + timedelta(days=1)).isoformat()}T00:00")
    assert at_midnight.event_time == datetime.combine(day, datetime.min.time(), ZoneInfo(ZONE))
    held = _ids(reports.events_between(session, day, day, ZONE, None))
    assert at_midnight.id in held and before_midnight.id not in held  # the next day's first instant is not in
    assert before_midnight.id in _ids(reports.events_between(session, day + timedelta(days=1), day + timedelta(days=1),
                                                             ZONE, None))


def test_an_event_declared_erroneous_leaves_the_report(session):
    day = date.today() - timedelta(days=1)
    stored = _store_at(session, "GAO-BH-2610A", f"{day.isoformat()}T09:00")
    lot = lot_named(session, "GAO-BH-2610A")
    farmer = session.exec(select(User).where(User.organization_id == lot.organization_id)).first()
    record_one(session, lot.organization_id, farmer.id, ZONE, corrections.declare_error, stored.id,
               {"reason": "nhập nhầm"})
    assert stored.id not in _ids(reports.events_between(session, day, day, ZONE, None))


def test_the_csv_writes_quantities_plainly_and_empty_cells_empty():
    import csv
    import io
    from decimal import Decimal
    row = {key: None for key, _, _ in reports.COLUMNS}
    row.update(cte="Thu hoạch / Harvesting", tlc="08936045000014 GAO-BH-2610A", quantity=Decimal("18500.000"),
               unit="kg")
    data = reports.spreadsheet_csv([row])
    assert data.startswith("\ufeff".encode())  # so that spreadsheet programs read it as UTF-8
    header, line = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header == [heading for _, heading, _ in reports.COLUMNS]
    cells = dict(zip((key for key, _, _ in reports.COLUMNS), line))
    assert (cells["quantity"], cells["unit"], cells["tlc"]) == ("18500", "kg", "08936045000014 GAO-BH-2610A")
    assert [key for key, value in cells.items() if value == ""] == [
        key for key, _, _ in reports.COLUMNS if key not in ("cte", "tlc", "quantity", "unit")]
