"""Lots named by GTIN and lot code: the organization's list, packing, storage, destruction, trace and claims."""
from flask import jsonify, request

from ..db import get_session
from ..models import Lot
from ..services import claims, lineage, movements
from ..services import lots as lot_service
from ..services.errors import NotFound, ValidationError
from ..services.gs1 import code_problem, gtin_problem
from ..services.shapes import claims_json, event_json, lot_json, recorded_event_json
from . import bp
from .auth import HOLDERS, inspecting, organization_id, producer_required, role_required, token_required
from .errors import Forbidden
from .payloads import body, created, record


def own_lot(gtin: str, code: str) -> Lot:
    """A lot of the token's organization; any other is not found."""
    if gtin_problem(gtin) is not None or code_problem(code) is not None:
        raise NotFound("No such lot in your organization (GTIN and lot code).")
    lot = lot_service.find_lot(get_session(), gtin.zfill(14), code, organization_id=organization_id())
    if lot is None:
        raise NotFound("No such lot in your organization (GTIN and lot code).")
    return lot


def any_lot(gtin: str, code: str) -> Lot:
    """A lot by GTIN and lot code, whoever owns it: what the caller may do with it is checked after."""
    if gtin_problem(gtin) is not None or code_problem(code) is not None:
        raise NotFound("No such lot (GTIN and lot code).")
    lot = lot_service.find_lot(get_session(), gtin.zfill(14), code)
    if lot is None:
        raise NotFound("No such lot (GTIN and lot code).")
    return lot


def visible_trace(lot: Lot, direction: str) -> lineage.Trace:
    """The lot's chain as the token's organization may see it; 403 when it has no part in it."""
    if direction not in lineage.WALKS:
        raise ValidationError({"direction": "Choose back or forward."})
    viewer = None if inspecting() else organization_id()
    result = lineage.trace(get_session(), lot, direction, viewer)
    if viewer is not None and viewer not in result.parties():
        raise Forbidden()
    return result


@bp.route("/lots")
@producer_required
def lot_list():
    session = get_session()
    rows = lot_service.list_lots(session, organization_id())
    return jsonify([lot_json(session, lot, product) for lot, product in rows])


@bp.route("/lots/<gtin>/<lot:code>/packings", methods=["POST"])
@producer_required
def packings(gtin: str, code: str):
    return created(event_json(record(movements.record_packing, own_lot(gtin, code).id, body())))


@bp.route("/lots/<gtin>/<lot:code>/storage", methods=["POST"])
@role_required(*HOLDERS)
def storage(gtin: str, code: str):
    lot = any_lot(gtin, code)
    return created(recorded_event_json(get_session(), record(movements.record_storing, {**body(), "lot_id": lot.id})))


@bp.route("/lots/<gtin>/<lot:code>/destructions", methods=["POST"])
@role_required(*HOLDERS)
def destructions(gtin: str, code: str):
    event = record(movements.record_destroying, any_lot(gtin, code).id, body())
    return created(recorded_event_json(get_session(), event))


@bp.route("/lots/<gtin>/<lot:code>/trace")
@token_required
def trace(gtin: str, code: str):
    result = visible_trace(any_lot(gtin, code), request.args.get("direction", "back"))
    return jsonify(lineage.trace_json(result))


@bp.route("/lots/<gtin>/<lot:code>/claims")
@token_required
def lot_claims(gtin: str, code: str):
    lot = any_lot(gtin, code)
    if not inspecting() and lot.organization_id != organization_id():
        raise Forbidden()
    return jsonify(claims_json(claims.derive(get_session(), lot)))
