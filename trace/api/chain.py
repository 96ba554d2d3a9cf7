"""API for what happens after harvest: processing, shipping and receiving, storage, corrections, trace, recall."""
import json
from datetime import UTC
from urllib.parse import urlencode

from flask import Response, g, jsonify, request
from sqlmodel import select

from ..clock import zone_name
from ..db import get_session
from ..models import EventLot, Lot, LotFlag, Product, Recall
from ..services import capture, claims, corrections, epcis, lineage, lots, movements, reports, safety
from ..services.errors import NotFound, ValidationError
from ..services.gs1 import code_problem, gtin_problem
from ..services.parse import Reader
from ..services.units import plain
from . import _created, _record, body, bp, event_json, problem, role_required, token_required

HOLDERS = ("producer", "retailer")


class Forbidden(Exception):
    """The lot exists, but the caller has no part in its chain."""


@bp.errorhandler(Forbidden)
def _forbidden(_exc):
    return problem(403, "Forbidden", "Only the lot's owner, an organization in its chain or an inspector may see this.")


def any_lot(gtin: str, code: str) -> Lot:
    """A lot by GTIN and lot code, whoever owns it: what the caller may do with it is checked after."""
    if gtin_problem(gtin) is not None or code_problem(code) is not None:
        raise NotFound("No such lot (GTIN and lot code).")
    lot = lots.find_lot(get_session(), gtin.zfill(14), code)
    if lot is None:
        raise NotFound("No such lot (GTIN and lot code).")
    return lot


def recorded_json(event) -> dict:
    """An event just recorded, with its hash ID and the lots it moved."""
    rows = get_session().exec(select(EventLot, Lot, Product).join(Lot, Lot.id == EventLot.lot_id)
                              .join(Product, Product.id == Lot.product_id).where(EventLot.event_id == event.id)).all()
    return {**event_json(event), "eventID": event.hash_id, "shipment_id": event.shipment_id,
            "lots": [{"gtin": product.gtin, "lot": lot.code, "role": line.role,
                      "quantity": plain(line.quantity),
                      "unit": line.unit} for line, lot, product in rows]}


@bp.route("/transformations", methods=["POST"])
@role_required("producer")
def transformations():
    return _created(recorded_json(_record(movements.record_transformation, body())))


@bp.route("/shipments", methods=["GET", "POST"])
@role_required(*HOLDERS)
def shipments():
    if request.method == "POST":
        return _created(recorded_json(_record(movements.record_shipping, body())))
    incoming = request.args.get("direction", "incoming") != "outgoing"
    status = request.args.get("status") if request.args.get("status") in ("in_transit", "received", "cancelled") else None
    rows = movements.shipments_for(get_session(), g.api_user.organization_id, incoming, status)
    return jsonify([shipment_json(shipment, event) for shipment, event in rows])


def shipment_json(shipment, shipping_event) -> dict:
    _, rows = movements.shipped_lines(get_session(), shipment)
    return {"id": shipment.id, "status": shipment.status, "from_organization_id": shipment.from_organization_id,
            "to_organization_id": shipment.to_organization_id, "reference_type": shipment.reference_type,
            "reference": shipment.reference, "shipped": event_json(shipping_event)["time"],
            "lines": [{"gtin": product.gtin, "lot": lot.code, "product": product.name_vi,
                       "quantity": plain(line.quantity), "unit": line.unit}
                      for line, lot, product in rows]}


@bp.route("/shipments/<id:shipment_id>/receipt", methods=["POST"])
@role_required(*HOLDERS)
def receipt(shipment_id: int):
    return _created(recorded_json(_record(movements.record_receiving, shipment_id, body())))


@bp.route("/lots/<gtin>/<lot:code>/storage", methods=["POST"])
@role_required(*HOLDERS)
def storage(gtin: str, code: str):
    lot = any_lot(gtin, code)
    return _created(recorded_json(_record(movements.record_storing, {**body(), "lot_id": lot.id})))


@bp.route("/unpackings", methods=["POST"])
@role_required(*HOLDERS)
def unpackings():
    return _created(recorded_json(_record(movements.record_unpacking, body())))


@bp.route("/lots/<gtin>/<lot:code>/destructions", methods=["POST"])
@role_required(*HOLDERS)
def destructions(gtin: str, code: str):
    return _created(recorded_json(_record(movements.record_destroying, any_lot(gtin, code).id, body())))


@bp.route("/events/<id:event_id>/error-declaration", methods=["POST"])
@role_required(*HOLDERS)
def error_declaration(event_id: int):
    declaration = _record(corrections.declare_error, event_id, body())
    return _created({"id": declaration.id, "corrects_event_id": declaration.corrects_event_id,
                     "reason": declaration.details["reason"], "reason_code": declaration.details["reason_code"]})


def _visible_trace(lot: Lot, direction: str) -> lineage.Trace:
    if direction not in lineage.WALKS:
        raise ValidationError({"direction": "Choose back or forward."})
    viewer = None if g.api_user.role == "inspector" else g.api_user.organization_id
    result = lineage.trace(get_session(), lot, direction, viewer)
    if viewer is not None and viewer not in result.parties():
        raise Forbidden()
    return result


@bp.route("/lots/<gtin>/<lot:code>/trace")
@token_required
def trace(gtin: str, code: str):
    result = _visible_trace(any_lot(gtin, code), request.args.get("direction", "back"))
    return jsonify(lineage.trace_json(result))


@bp.route("/lots/<gtin>/<lot:code>/claims")
@token_required
def lot_claims(gtin: str, code: str):
    lot = any_lot(gtin, code)
    if g.api_user.role != "inspector" and lot.organization_id != g.api_user.organization_id:
        raise Forbidden()
    derived = claims.derive(get_session(), lot)
    return jsonify({"standards": derived.standards(),
                    "schemes": {scheme: {"holds": claim.holds, "missing": claim.missing}
                                for scheme, claim in derived.by_scheme.items()}})


@bp.route("/lots/<gtin>/<lot:code>/recall", methods=["POST"])
@token_required
def recall(gtin: str, code: str):
    recall_ = safety.recall_lot(get_session(), any_lot(gtin, code), body(), g.api_user)
    return _created(recall_json(recall_))


def recall_json(recall_: Recall, rows: list | None = None) -> dict:
    rows = safety.recall_notice(get_session(), recall_) if rows is None else rows
    return {"id": recall_.id, "reason": recall_.reason, "recalled_at": recall_.recalled_at.isoformat(),
            "lifted_at": recall_.lifted_at.isoformat() if recall_.lifted_at else None,
            "lift_reason": recall_.lift_reason, "notice": [reports.notice_row_json(row) for row in rows]}


@bp.route("/recalls/<id:recall_id>")
@token_required
def recall_detail(recall_id: int):
    return jsonify(recall_json(*safety.visible_recall(get_session(), g.api_user, recall_id)))


@bp.route("/recalls/<id:recall_id>/notice.csv")
@token_required
def recall_csv(recall_id: int):
    recall_, rows = safety.visible_recall(get_session(), g.api_user, recall_id)
    return Response(reports.notice_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="recall-{recall_.id}.csv"'})


@bp.route("/recalls/<id:recall_id>/lift", methods=["POST"])
@token_required
def lift(recall_id: int):
    recall_ = safety.lift_recall(get_session(), g.api_user, recall_id, body())
    get_session().commit()
    return jsonify(recall_json(recall_))


@bp.route("/flags/<id:flag_id>/clear", methods=["POST"])
@token_required
def clear_flag(flag_id: int):
    flag = safety.clear_flag(get_session(), g.api_user, flag_id, body())
    get_session().commit()
    return jsonify(flag_json(flag))


def flag_json(flag: LotFlag) -> dict:
    return {"id": flag.id, "lot_id": flag.lot_id, "kind": flag.kind, "reason": flag.reason,
            "resolution": flag.resolution, "resolution_reason": flag.resolution_reason,
            "resolution_reference": flag.resolution_reference}


# --- EPCIS 2.0 ---

def _time_filters() -> tuple:
    """(since, until) in UTC from `from` and `to`: each a date (its local midnight) or an ISO 8601 date-time."""
    r = Reader(request.args)
    bounds = [r.instant(name, zone_name(), required=False) for name in ("from", "to")]
    r.done()
    return tuple(bound.astimezone(UTC) if bound else None for bound in bounds)


@bp.route("/epcis/events")
@token_required
def epcis_events():
    """An EPCISDocument of events: of a lot and its chain (gtin, lot, direction), or of your organization."""
    session, args = get_session(), request.args
    limit = args.get("limit", "1000")
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 10000:
        raise ValidationError({"limit": "Between 1 and 10000."})
    after = args.get("after")
    if after is not None and (not after.isascii() or not after.isdigit() or len(after) > 9):
        raise ValidationError({"after": "An event id from a previous page."})
    since, until = _time_filters()
    filters = {"since": since, "until": until, "biz_step": args.get("bizStep") or None, "limit": int(limit)}
    if args.get("gtin") or args.get("lot"):
        result = _visible_trace(any_lot(args.get("gtin", ""), args.get("lot", "")), args.get("direction", "back"))
        events = epcis.select_events(session, event_ids=result.event_ids(), **filters)
    else:
        organization = None if g.api_user.role == "inspector" else g.api_user.organization_id
        events = epcis.select_events(session, organization_id=organization,
                                     after_id=int(after) if after else None, **filters)
    # Keys in the order the service wrote them: GS1's reference hashes a transaction's type and value in that order.
    document = epcis.document(epcis.export_events(session, events))
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/ld+json")
    if len(events) == int(limit) and not (args.get("gtin") or args.get("lot")):
        query = {**args.to_dict(), "after": str(events[-1].id)}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return response


@bp.route("/epcis/capture", methods=["POST"])
@role_required(*HOLDERS)
def epcis_capture():
    """Record the events of an EPCISDocument, all or nothing; an event already recorded is skipped."""
    document = body()
    try:
        result = capture.capture(get_session(), g.api_user, document, zone_name())
    except capture.CaptureError as exc:
        get_session().rollback()
        return problem(422, "EPCIS document refused", "Nothing was recorded; every problem is listed in errors.",
                       exc.problems)
    get_session().commit()
    return jsonify({"recorded": len(result.recorded), "skipped": len(result.skipped),
                    "eventIDs": result.recorded}), 201


# --- the FSMA 204 spreadsheet ---

@bp.route("/reports/fsma204")
@token_required
def fsma204():
    """Critical tracking events with their key data elements: of a lot and its chain, or of a date range."""
    session, args = get_session(), request.args
    kind = args.get("format", "xlsx")
    if kind not in ("xlsx", "csv"):
        raise ValidationError({"format": "xlsx or csv."})
    if args.get("gtin") or args.get("lot"):
        lot = any_lot(args.get("gtin", ""), args.get("lot", ""))
        direction = args.get("direction", "back")
        history, title = _visible_trace(lot, direction).events, f"{lot.code} ({direction})"
    else:
        r = Reader(args)
        start, end = r.date("from", required=False), r.date("to", required=False)
        r.done()
        if start is None or end is None or end < start or (end - start).days > 366:
            raise ValidationError({"from": "Give gtin and lot, or a range of at most a year: from=YYYY-MM-DD&to=YYYY-MM-DD."})
        organization = None if g.api_user.role == "inspector" else g.api_user.organization_id
        history = reports.events_between(session, start, end, zone_name(), organization)
        title = f"{start.isoformat()} – {end.isoformat()}"
    rows = reports.cte_rows(session, history)
    if kind == "csv":
        return Response(reports.spreadsheet_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="fsma204.csv"'})
    return Response(reports.spreadsheet_xlsx(rows, title),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="fsma204.xlsx"'})


