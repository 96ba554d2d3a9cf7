"""Goods moving between and inside organizations: processing, shipping and receiving, unpacking, and the
correction of a wrong record."""
from flask import jsonify, request

from ..db import get_session
from ..services import corrections, movements
from ..services.shapes import declaration_json, recorded_event_json, shipment_json
from . import bp
from .auth import HOLDERS, organization_id, role_required
from .payloads import body, created, record

SHIPMENT_STATUSES = ("in_transit", "received", "cancelled")


@bp.route("/transformations", methods=["POST"])
@role_required("producer")
def transformations():
    return created(recorded_event_json(get_session(), record(movements.record_transformation, body())))


@bp.route("/shipments", methods=["GET", "POST"])
@role_required(*HOLDERS)
def shipments():
    session = get_session()
    if request.method == "POST":
        return created(recorded_event_json(session, record(movements.record_shipping, body())))
    incoming = request.args.get("direction", "incoming") != "outgoing"
    status = request.args.get("status") if request.args.get("status") in SHIPMENT_STATUSES else None
    rows = movements.shipments_for(session, organization_id(), incoming, status)
    return jsonify([shipment_json(session, shipment, event) for shipment, event in rows])


@bp.route("/shipments/<id:shipment_id>/receipt", methods=["POST"])
@role_required(*HOLDERS)
def receipt(shipment_id: int):
    return created(recorded_event_json(get_session(), record(movements.record_receiving, shipment_id, body())))


@bp.route("/unpackings", methods=["POST"])
@role_required(*HOLDERS)
def unpackings():
    return created(recorded_event_json(get_session(), record(movements.record_unpacking, body())))


@bp.route("/events/<id:event_id>/error-declaration", methods=["POST"])
@role_required(*HOLDERS)
def error_declaration(event_id: int):
    return created(declaration_json(record(corrections.declare_error, event_id, body())))
