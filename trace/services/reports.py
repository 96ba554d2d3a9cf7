"""Documents for authorities and trading partners: the FSMA 204 sortable spreadsheet and the recall notice.

The spreadsheet has one row per critical tracking event and lot (a transformation gives a row for each
lot it used and each it made), with the key data elements FSMA 204 names as columns, headed in
Vietnamese and English, as XLSX (filter and frozen header) or CSV (UTF-8 with BOM, so Excel reads the
accents).
"""
import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlmodel import Session, select

from ..models import Batch, Event, EventLot, Lot, Organization, Site
from . import lineage
from .events import in_force
from .parse import local_datetime
from .units import plain

# Our steps as FSMA 204 critical tracking events; storage without cooling and field work are not CTEs.
CTE = {"harvest": "Thu hoạch / Harvesting", "cooling": "Làm lạnh / Cooling",
       "packing": "Đóng gói / Initial packing", "shipping": "Xuất hàng / Shipping",
       "receiving": "Nhận hàng / Receiving", "transformation": "Chế biến / Transformation"}
COLUMNS = [
    ("cte", "Sự kiện truy xuất / Critical tracking event", 26),
    ("date", "Ngày / Date", 12), ("time", "Giờ / Time", 7),
    ("tlc", "Mã lô truy xuất / Traceability lot code", 34),
    ("role", "Vai trò của lô / Lot role", 14),
    ("product", "Sản phẩm / Product description", 30),
    ("quantity", "Số lượng / Quantity", 12), ("unit", "Đơn vị / Unit of measure", 10),
    ("tlc_source", "Nơi gán mã lô / Traceability lot code source", 40),
    ("location", "Địa điểm sự kiện / Location", 36),
    ("business", "Đơn vị ghi nhận / Recorded by", 34),
    ("ship_from", "Nơi gửi / Ship-from", 30), ("ship_to", "Nơi nhận / Ship-to", 30),
    ("reference", "Chứng từ / Reference document", 22),
    ("harvest_site", "Vùng sản xuất / Harvest location", 30),
    ("event_id", "Mã sự kiện EPCIS / EPCIS event ID", 40),
]
ROLES = {"input": "đầu vào / input", "output": "đầu ra / output", "observed": ""}


def events_between(session: Session, start: date, end: date, zone: str, organization_id: int | None) -> list:
    """Events in force from `start` to `end` (local days, both included), of one organization or all."""
    tz = ZoneInfo(zone)
    since = datetime.combine(start, time.min, tz).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC)
    query = select(Event.id).where(Event.event_time >= since, Event.event_time < until, in_force(),
                                   Event.step.in_(("harvest", "storing", "packing", "shipping", "receiving",
                                                   "transformation")))
    if organization_id is not None:
        query = query.where(Event.organization_id == organization_id)
    return lineage.history_of(session, session.exec(query).all())[0]


def cte_rows(session: Session, history: list) -> list:
    """One dict per critical tracking event and lot, in time order."""
    organizations, sites, origins = {}, {}, {}

    def organization(org_id):
        if org_id not in organizations:
            organizations[org_id] = session.get(Organization, org_id)
        return organizations[org_id]

    def site(site_id):
        if site_id and site_id not in sites:
            sites[site_id] = session.get(Site, site_id)
        return sites.get(site_id)

    def origin(lot: Lot) -> tuple:
        """(where the lot code was assigned, the harvest site)."""
        if lot.id not in origins:
            owner = organization(lot.organization_id)
            place = None
            if lot.batch_id:
                place = site(session.get(Batch, lot.batch_id).site_id)
            else:
                made = session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id)
                                    .where(EventLot.lot_id == lot.id, EventLot.role == "output",
                                           in_force())).first()
                place = site(made.site_id) if made else None
            where = f"{owner.name}" + (f", {place.name}" if place else "") + (f", {owner.address}" if owner.address else "")
            origins[lot.id] = (where, place.name if place and lot.batch_id else "")
        return origins[lot.id]

    rows = []
    for event, event_site, lines, shipment in history:
        step = "cooling" if event.step == "storing" and event.details.get("cooling") else event.step
        if step not in CTE:
            continue
        local = local_datetime(event.event_time, event.event_time_zone_offset)
        business = organization(event.organization_id)
        location = ", ".join(filter(None, [event_site.name if event_site else None,
                                           (event_site.address if event_site else None) or business.address]))
        for line, lot, product in lines:
            source, harvest_site = origin(lot)
            rows.append({
                "cte": CTE[step], "date": local.date().isoformat(), "time": local.strftime("%H:%M"),
                "tlc": f"(01){product.gtin}(10){lot.code}", "role": ROLES.get(line.role, line.role),
                "product": product.name_vi + (f" / {product.name_en}" if product.name_en else ""),
                "quantity": line.quantity, "unit": lot.unit,  # lines are kept in their lot's unit
                "tlc_source": source, "location": location, "business": business.name,
                "ship_from": organization(shipment.from_organization_id).name if shipment else "",
                "ship_to": organization(shipment.to_organization_id).name if shipment else "",
                "reference": f"{shipment.reference_type} {shipment.reference}" if shipment else "",
                "harvest_site": harvest_site, "event_id": event.hash_id or "",
            })
    return rows


def spreadsheet_xlsx(rows: list, title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "FSMA 204"
    sheet.append([heading for _, heading, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEEDD")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([row[key] for key, _, _ in COLUMNS])  # a Decimal quantity is written as a number
    for index, (_, _, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    book.properties.title = title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def spreadsheet_csv(rows: list) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([heading for _, heading, _ in COLUMNS])
    for row in rows:
        writer.writerow([plain(row[key]) if key == "quantity" else row[key]  # None is written as an empty cell
                         for key, _, _ in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- recall notice ---

NOTICE_COLUMNS = ["Tổ chức / Organization", "Vai trò / Role", "Sản phẩm / Product", "GTIN", "Lô / Lot",
                  "Số lượng / Quantity", "Đơn vị / Unit", "Thời điểm nhận / Received", "Chứng từ / Reference",
                  "Trạng thái / Status", "Địa chỉ / Address", "Điện thoại / Phone"]


def notice_row_json(row) -> dict:
    return {"organization": row.organization.name, "organization_id": row.organization.id, "role": row.role,
            "product": row.product.name_vi, "gtin": row.product.gtin, "lot": row.lot.code,
            "quantity": plain(row.quantity),
            "unit": row.unit, "received_at": row.when.isoformat() if row.when else None,
            "reference": row.reference, "status": row.status, "address": row.organization.address,
            "phone": row.organization.phone}


def notice_csv(rows: list) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NOTICE_COLUMNS)
    for row in rows:
        item = notice_row_json(row)
        writer.writerow([item["organization"], item["role"], item["product"], item["gtin"], item["lot"],
                         item["quantity"], item["unit"], item["received_at"] or "", item["reference"], item["status"],
                         item["address"], item["phone"]])
    return "\ufeff" + out.getvalue()
