"""EPCIS 2.0: the events of a lot's chain or of an organization as an EPCISDocument, and capturing one."""
import json
from datetime import UTC
from urllib.parse import urlencode

from flask import Response, g, jsonify, request

from ..clock import zone_name
from ..db import get_session
from ..services import capture
from ..services import epcis as epcis_documents
from ..services.errors import ValidationError
from ..services.parse import Reader
from . import bp
from .auth import HOLDERS, inspecting, organization_id, role_required, token_required
from .errors import problem
from .lots import any_lot, visible_trace
from .payloads import body

MAX_LIMIT = 10_000


def time_filters() -> tuple:
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
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise ValidationError({"limit": "Between 1 and 10000."})
    after = args.get("after")
    if after is not None and (not after.isascii() or not after.isdigit() or len(after) > 9):
        raise ValidationError({"after": "An event id from a previous page."})
    since, until = time_filters()
    filters = {"since": since, "until": until, "biz_step": args.get("bizStep") or None, "limit": int(limit)}
    of_a_lot = bool(args.get("gtin") or args.get("lot"))
    if of_a_lot:
        result = visible_trace(any_lot(args.get("gtin", ""), args.get("lot", "")), args.get("direction", "back"))
        events = epcis_documents.select_events(session, event_ids=result.event_ids(), **filters)
    else:
        organization = None if inspecting() else organization_id()
        events = epcis_documents.select_events(session, organization_id=organization,
                                               after_id=int(after) if after else None, **filters)
    # Keys in the order the service wrote them: GS1's reference hashes a transaction's type and value in that order.
    document = epcis_documents.document(epcis_documents.export_events(session, events))
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/ld+json")
    if len(events) == int(limit) and not of_a_lot:
        query = {**args.to_dict(), "after": str(events[-1].id)}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return response


@bp.route("/epcis/capture", methods=["POST"])
@role_required(*HOLDERS)
def epcis_capture():
    """Record the events of an EPCISDocument, all or nothing; an event already recorded is skipped."""
    document, session = body(), get_session()
    try:
        result = capture.capture(session, g.api_user, document, zone_name())
    except capture.CaptureError as exc:
        session.rollback()
        return problem(422, "EPCIS document refused", "Nothing was recorded; every problem is listed in errors.",
                       exc.problems)
    session.commit()
    return jsonify({"recorded": len(result.recorded), "skipped": len(result.skipped),
                    "eventIDs": result.recorded}), 201
