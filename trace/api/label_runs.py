"""Label runs of a producer's lots: issue, list, cancel, and the signed URLs of a run as CSV."""
from flask import Response, current_app, g, jsonify, request

from .. import key_store
from ..db import get_session
from ..models import LabelRun, Lot
from ..services import labels
from ..services.errors import NotFound, ValidationError
from ..services.shapes import run_json
from . import bp
from .auth import organization_id, producer_required
from .lots import own_lot
from .payloads import body, created

URLS_IN_ANSWER = 10_000  # a larger run's URLs are fetched from /label-runs/ID/labels.csv


@bp.route("/lots/<gtin>/<lot:code>/labels", methods=["POST"])
@producer_required
def issue(gtin: str, code: str):
    """A run of labels; its URLs in the answer up to 10,000 (any run's are at /label-runs/ID/labels.csv)."""
    session, data = get_session(), body()
    lot = own_lot(gtin, code)
    reason = data.get("over_issue_reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"over_issue_reason": "Give the reason as a string."})
    run = labels.issue_labels(session, key_store(current_app), lot, data.get("count"), g.api_user.id, reason)
    answer = run_json(run)
    if run.count <= URLS_IN_ANSWER:
        items = labels.labels_for_run(session, key_store(current_app), current_app.config["TRACE_BASE_URL"], run)
        answer["labels"] = [{"serial": item.serial, "url": item.url} for item in items]
    return created(answer)


@bp.route("/lots/<gtin>/<lot:code>/labels")
@producer_required
def label_runs(gtin: str, code: str):
    return jsonify([run_json(r) for r in labels.runs_of_lot(get_session(), own_lot(gtin, code).id)])


def own_run(run_id: int) -> LabelRun:
    run = get_session().get(LabelRun, run_id)
    lot = get_session().get(Lot, run.lot_id) if run else None
    if lot is None or lot.organization_id != organization_id():
        raise NotFound()
    return run


@bp.route("/label-runs/<id:run_id>/cancel", methods=["POST"])
@producer_required
def cancel_run(run_id: int):
    session = get_session()
    run = labels.cancel_run(session, own_run(run_id), body().get("reason"), g.api_user.id)
    session.commit()
    return jsonify(run_json(run))


@bp.route("/label-runs/<id:run_id>/labels.csv")
@producer_required
def run_csv(run_id: int):
    """serial,url for a run or part of it (?first=&last=): the same URLs every time."""
    session, run = get_session(), own_run(run_id)
    serials = labels.serial_range(run, request.args.get("first"), request.args.get("last"))
    return Response(labels.csv_lines(session, key_store(current_app), current_app.config["TRACE_BASE_URL"], run,
                                     serials), mimetype="text/csv")
