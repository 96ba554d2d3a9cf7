"""Recalls (ordered by a lot's owner or an inspector, lifted by an inspector) and flagged harvests."""
from flask import Response, g, jsonify

from ..db import get_session
from ..services import reports, safety
from ..services.shapes import flag_json, recall_json
from . import bp
from .auth import token_required
from .lots import any_lot
from .payloads import body, created


@bp.route("/lots/<gtin>/<lot:code>/recall", methods=["POST"])
@token_required
def recall(gtin: str, code: str):
    session = get_session()
    return created(recall_json(session, safety.recall_lot(session, any_lot(gtin, code), body(), g.api_user)))


@bp.route("/recalls/<id:recall_id>")
@token_required
def recall_detail(recall_id: int):
    session = get_session()
    return jsonify(recall_json(session, *safety.visible_recall(session, g.api_user, recall_id)))


@bp.route("/recalls/<id:recall_id>/notice.csv")
@token_required
def recall_csv(recall_id: int):
    recall_, rows = safety.visible_recall(get_session(), g.api_user, recall_id)
    return Response(reports.notice_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="recall-{recall_.id}.csv"'})


@bp.route("/recalls/<id:recall_id>/lift", methods=["POST"])
@token_required
def lift(recall_id: int):
    session = get_session()
    recall_ = safety.lift_recall(session, g.api_user, recall_id, body())
    session.commit()
    return jsonify(recall_json(session, recall_))


@bp.route("/flags/<id:flag_id>/clear", methods=["POST"])
@token_required
def clear_flag(flag_id: int):
    session = get_session()
    flag = safety.clear_flag(session, g.api_user, flag_id, body())
    session.commit()
    return jsonify(flag_json(flag))
