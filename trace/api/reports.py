"""The FSMA 204 spreadsheet: critical tracking events with their key data elements, XLSX or CSV."""
from flask import Response, request

from ..clock import zone_name
from ..db import get_session
from ..services import reports as report_service
from ..services.errors import ValidationError
from ..services.parse import Reader
from . import bp
from .auth import inspecting, organization_id, token_required
from .lots import any_lot, visible_trace

FORMATS = ("xlsx", "csv")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/reports/fsma204")
@token_required
def fsma204():
    """Critical tracking events with their key data elements: of a lot and its chain, or of a date range."""
    session, args = get_session(), request.args
    kind = args.get("format", "xlsx")
    if kind not in FORMATS:
        raise ValidationError({"format": "xlsx or csv."})
    if args.get("gtin") or args.get("lot"):
        lot = any_lot(args.get("gtin", ""), args.get("lot", ""))
        direction = args.get("direction", "back")
        history, title = visible_trace(lot, direction).events, f"{lot.code} ({direction})"
    else:
        r = Reader(args)
        start, end = r.date("from", required=False), r.date("to", required=False)
        r.done()
        if start is None or end is None or end < start or (end - start).days > 366:
            raise ValidationError({"from": "Give gtin and lot, or a range of at most a year: "
                                           "from=YYYY-MM-DD&to=YYYY-MM-DD."})
        organization = None if inspecting() else organization_id()
        history = report_service.events_between(session, start, end, zone_name(), organization)
        title = f"{start.isoformat()} – {end.isoformat()}"
    rows = report_service.cte_rows(session, history)
    if kind == "csv":
        return Response(report_service.spreadsheet_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="fsma204.csv"'})
    return Response(report_service.spreadsheet_xlsx(rows, title), mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="fsma204.xlsx"'})
