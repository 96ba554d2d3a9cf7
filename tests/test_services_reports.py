"""The FSMA 204 report: its choice of events (the critical tracking events in force within local days), the key
data elements of each row, and the spreadsheet's cells."""
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from trace.models import Event, Organization, Product, Site, User
from trace.services import corrections, lineage, movements, reports
from trace.services.ledger import record_one
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
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
    assert at_midnight.id not in _ids(reports.events_between(session, day + timedelta(days=1), day + timedelta(days=1),
                                                             ZONE, None))  # nor is the day before's last
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
    data = reports.spreadsheet_csv([row, {**row, "quantity": None}])
    assert data.startswith("\ufeff".encode())  # so that spreadsheet programs read it as UTF-8
    header, line, unmeasured = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert unmeasured == [*line[:6], "", *line[7:]]  # no quantity: an empty cell
    assert header == [heading for _, heading, _ in reports.COLUMNS]
    cells = dict(zip((key for key, _, _ in reports.COLUMNS), line))
    assert (cells["quantity"], cells["unit"], cells["tlc"]) == ("18500", "kg", "08936045000014 GAO-BH-2610A")
    assert [key for key, value in cells.items() if value == ""] == [
        key for key, _, _ in reports.COLUMNS if key not in ("cte", "tlc", "quantity", "unit")]


def test_each_row_names_the_lot_where_its_code_was_assigned_and_where_the_event_happened(session):
    frozen = lot_named(session, "TND-2611-01")
    rows = reports.cte_rows(session, lineage.trace(session, frozen, "back").events)
    keys = ("product", "quantity", "unit", "tlc_source", "location", "business", "harvest_site")
    made = [[row[key] for key in keys] for row in rows if row["tlc"] == "(01)08936049000027(10)TND-2611-01"]
    assert made == [["Tôm thẻ nõn đông lạnh Minh Đức / Minh Duc frozen peeled shrimp", Decimal("980.000"), "kg",
                     # a processed lot's code is assigned where the transformation that made it happened
                     "Công ty CP Chế biến Thực phẩm Minh Đức, Xưởng chế biến Minh Đức, Cụm công nghiệp Minh Đức, "
                     "phường Thủy Nguyên, TP. Hải Phòng",
                     "Xưởng chế biến Minh Đức, Cụm công nghiệp Minh Đức, phường Thủy Nguyên, TP. Hải Phòng",
                     "Công ty CP Chế biến Thực phẩm Minh Đức", ""]]
    made_row = next(row for row in rows if row["tlc"] == "(01)08936049000027(10)TND-2611-01")
    transformation = lot_named(session, "TND-2611-01")
    assert (made_row["time"], made_row["ship_from"], made_row["ship_to"], made_row["reference"]) == (
        _local_time_of_making(session, transformation), "", "", "")  # not a shipment: its cells are empty
    pond = [[row[key] for key in keys] for row in rows if row["tlc"] == "(01)08936048000011(10)TOM-A3-2608"
            and row["cte"] in ("Thu hoạch / Harvesting", "Xuất hàng / Shipping")]
    source = ("Công ty TNHH Thủy sản nước lợ Bạch Đằng, Ao nuôi số 3 (bán thâm canh), "
              "Khu nuôi trồng thủy sản tập trung Lập Lễ, phường Thủy Nguyên, TP. Hải Phòng")
    assert pond == [
        ["Tôm thẻ chân trắng Bạch Đằng / Bach Dang whiteleg shrimp", Decimal("7800.000"), "kg", source,
         "Ao nuôi số 3 (bán thâm canh), Khu nuôi Lập Lễ, phường Thủy Nguyên, TP. Hải Phòng",
         "Công ty TNHH Thủy sản nước lợ Bạch Đằng", "Ao nuôi số 3 (bán thâm canh)"],
        # shipped with no site given: the event happened at the business's address
        ["Tôm thẻ chân trắng Bạch Đằng / Bach Dang whiteleg shrimp", Decimal("800.000"), "kg", source,
         "Khu nuôi trồng thủy sản tập trung Lập Lễ, phường Thủy Nguyên, TP. Hải Phòng",
         "Công ty TNHH Thủy sản nước lợ Bạch Đằng", "Ao nuôi số 3 (bán thâm canh)"]]


def _local_time_of_making(session, lot) -> str:
    from trace.models import EventLot
    made = session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id).where(
        EventLot.lot_id == lot.id, EventLot.role == "output")).one()
    return made.event_time.astimezone(ZoneInfo(ZONE)).strftime("%H:%M")


def test_a_row_leaves_out_what_was_not_recorded(session):
    """A product without an English name, a transformation at no site, by a business without an address."""
    processor = session.exec(select(Organization).where(Organization.name == "Công ty CP Chế biến Thực phẩm Minh Đức")).one()
    cake = session.exec(select(Product).where(Product.name_vi == "Chả tôm Minh Đức")).one()
    cake.name_en, processor.address = "", ""
    session.add_all([cake, processor])
    worker = session.exec(select(User).where(User.organization_id == processor.id)).first()
    event = record_one(session, processor.id, worker.id, ZONE, movements.record_transformation, {
        "time": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "process": "other",
        "inputs": [{"gtin": "08936049000027", "lot": "TND-2611-01", "quantity": "10"}],
        "outputs": [{"gtin": cake.gtin, "lot": "CT-NOSITE", "quantity": "8"}]})
    rows = reports.cte_rows(session, lineage.history_of(session, [event.id])[0])
    assert [(row["role"], row["product"], row["tlc_source"], row["location"], row["harvest_site"]) for row in rows] == [
        ("đầu vào / input", "Tôm thẻ nõn đông lạnh Minh Đức / Minh Duc frozen peeled shrimp",
         "Công ty CP Chế biến Thực phẩm Minh Đức, Xưởng chế biến Minh Đức", "", ""),
        ("đầu ra / output", "Chả tôm Minh Đức", "Công ty CP Chế biến Thực phẩm Minh Đức", "", "")]


def test_the_workbook_has_a_bold_header_and_each_column_its_width():
    sheet = load_workbook(io.BytesIO(reports.spreadsheet_xlsx([], "TND-2611-01 (back)"))).active
    assert [(cell.value, cell.font.b) for cell in sheet[1]] == [(heading, True) for _, heading, _ in reports.COLUMNS]
    assert {(cell.fill.fill_type, cell.fill.fgColor.rgb, cell.alignment.wrap_text, cell.alignment.vertical)
            for cell in sheet[1]} == {("solid", "00DDEEDD", True, "top")}  # shaded, long headings wrapped
    assert [sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]] == [
        width for _, _, width in reports.COLUMNS]


def test_the_recall_notice_lists_who_holds_and_who_received_each_lot(session):
    import csv
    from trace.services import safety
    rice = lot_named(session, "GAO-BH-2610A")
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    rows = safety.recall_notice(session, recall)
    lines = list(csv.reader(io.StringIO(reports.notice_csv(rows).removeprefix("\ufeff"))))
    assert reports.notice_csv(rows).startswith("\ufeff") and lines[0] == reports.NOTICE_COLUMNS
    received = {row.organization.name: row.when.isoformat() for row in rows if row.when}
    assert lines[1:] == [
        ["HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên", "maker", "Gạo Bắc Hương Thủy Nguyên", "08936045000014",
         "GAO-BH-2610A", "18500", "kg", "", "", "made", "Tổ dân phố Phục Lễ, phường Thủy Nguyên, TP. Hải Phòng",
         "0225 3874 112"],  # made here, not received: no time of receipt
        ["Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh", "receiver", "Gạo Bắc Hương Thủy Nguyên", "08936045000014",
         "GAO-BH-2610A", "295", "kg", received["Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh"], "desadv PXK-2611-016",
         "received", "Khu du lịch Tràng Kênh, phường Thủy Nguyên, TP. Hải Phòng", "0936 118 226"],
        ["Siêu thị Nông sản sạch Thủy Nguyên", "receiver", "Gạo Bắc Hương Thủy Nguyên", "08936045000014", "GAO-BH-2610A",
         "1000", "kg", received["Siêu thị Nông sản sạch Thủy Nguyên"], "desadv PXK-2611-015", "received",
         "Đường Đà Nẵng, phường Thủy Nguyên, TP. Hải Phòng", "0225 3666 999"]]


def test_the_workbook_holds_quantities_as_numbers_a_spreadsheet_can_add_up():
    row = {key: None for key, _, _ in reports.COLUMNS}
    row.update(cte="Thu hoạch / Harvesting", quantity=Decimal("18500.250"), unit="kg")
    book = load_workbook(io.BytesIO(reports.spreadsheet_xlsx([row, {**row, "quantity": None}], "GAO-BH-2610A")))
    sheet = book.active
    keys = [key for key, _, _ in reports.COLUMNS]
    measured, unmeasured = ([cell.value for cell in line] for line in sheet.iter_rows(min_row=2))
    assert measured[keys.index("quantity")] == 18500.25 and type(measured[keys.index("quantity")]) is float
    assert (measured[keys.index("cte")], measured[keys.index("unit")]) == ("Thu hoạch / Harvesting", "kg")
    assert unmeasured[keys.index("quantity")] is None
    assert book.properties.title == "GAO-BH-2610A"
    assert (sheet.freeze_panes, sheet.auto_filter.ref, sheet.title) == ("A2", f"A1:{sheet.cell(1, len(keys)).column_letter}3", "FSMA 204")


def test_a_recall_notice_row_in_json_names_the_organization_by_name_and_id(session):
    from trace.services import safety
    rice = lot_named(session, "GAO-BH-2610A")
    rows = safety.recall_notice(session, safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"}))
    market = next(row for row in rows if row.organization.name == "Siêu thị Nông sản sạch Thủy Nguyên")
    assert reports.notice_row_json(market) == {
        "organization": "Siêu thị Nông sản sạch Thủy Nguyên", "organization_id": market.organization.id,
        "role": "receiver", "product": "Gạo Bắc Hương Thủy Nguyên", "gtin": "08936045000014", "lot": "GAO-BH-2610A",
        "quantity": "1000", "unit": "kg", "received_at": market.when.isoformat(), "reference": "desadv PXK-2611-015",
        "status": "received", "address": "Đường Đà Nẵng, phường Thủy Nguyên, TP. Hải Phòng", "phone": "0225 3666 999"}


def test_a_lot_whose_making_was_declared_erroneous_has_its_code_assigned_at_its_business_alone(session):
    """The workshop of a withdrawn transformation is no place the lot's code was assigned at; its cooling
    afterwards still stands and is reported."""
    processor = session.exec(select(Organization).where(Organization.name == "Công ty CP Chế biến Thực phẩm Minh Đức")).one()
    workshop = session.exec(select(Site).where(Site.name == "Xưởng chế biến Minh Đức")).one()
    worker = session.exec(select(User).where(User.organization_id == processor.id)).first()
    start = datetime.now(UTC) - timedelta(hours=3)
    made = record_one(session, processor.id, worker.id, ZONE, movements.record_transformation, {
        "time": start.isoformat(), "process": "freezing", "site_id": workshop.id,
        "inputs": [{"gtin": "08936049000027", "lot": "TND-2611-01", "quantity": "10"}],
        "outputs": [{"gtin": "08936049000027", "lot": "TND-REDO", "quantity": "10"}]})
    cooled = record_one(session, processor.id, worker.id, ZONE, movements.record_storing, {
        "gtin": "08936049000027", "lot": "TND-REDO", "site_id": workshop.id, "temperature_c": "-18", "cooling": "on",
        "time": (start + timedelta(hours=1)).isoformat()})
    record_one(session, processor.id, worker.id, ZONE, corrections.declare_error, made.id, {"reason": "nhập nhầm"})
    rows = reports.cte_rows(session, lineage.history_of(session, [cooled.id])[0])
    assert [(row["cte"], row["tlc"], row["tlc_source"], row["harvest_site"]) for row in rows] == [
        ("Làm lạnh / Cooling", "(01)08936049000027(10)TND-REDO",
         "Công ty CP Chế biến Thực phẩm Minh Đức, Cụm công nghiệp Minh Đức, phường Thủy Nguyên, TP. Hải Phòng", "")]


def test_the_workbook_of_a_period_without_events_is_its_header_alone_under_its_filter():
    sheet = load_workbook(io.BytesIO(reports.spreadsheet_xlsx([], "TND-2611-01 (back)"))).active
    last = sheet.cell(1, len(reports.COLUMNS)).column_letter
    assert (sheet.max_row, sheet.auto_filter.ref) == (1, f"A1:{last}1")
