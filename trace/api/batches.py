"""A batch from planting or stocking through input applications to the harvest that makes its lot."""
from flask import jsonify, request

from ..db import get_session
from ..models import Batch, Product
from ..services import recording
from ..services.shapes import batch_json, event_json, lot_json
from . import bp
from .auth import organization_id, producer_required
from .payloads import body, created, record


@bp.route("/batches", methods=["GET", "POST"])
@producer_required
def batches():
    session = get_session()
    if request.method == "POST":
        return created(batch_json(session, record(recording.start_batch, body()), organization_id()))
    return jsonify([batch_json(session, b, organization_id())
                    for b, _site, _product in recording.list_batches(session, organization_id())])


@bp.route("/batches/<id:batch_id>")
@producer_required
def batch(batch_id: int):
    session = get_session()
    item = recording.owned(session, Batch, batch_id, organization_id())
    return jsonify(batch_json(session, item, organization_id(), with_timeline=True))


@bp.route("/batches/<id:batch_id>/inputs", methods=["POST"])
@producer_required
def inputs(batch_id: int):
    return created(event_json(record(recording.record_input, batch_id, body())))


@bp.route("/batches/<id:batch_id>/harvests", methods=["POST"])
@producer_required
def harvests(batch_id: int):
    session = get_session()
    lot = record(recording.record_harvest, batch_id, body())
    return created(lot_json(session, lot, session.get(Product, lot.product_id)))
