"""Retailer pages: verify suppliers and labels, receive shipments, read recall notices (every logged-in role)."""
from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from ..clock import today, zone_name
from ..db import get_session
from ..services import movements, safety, suppliers
from ..services.ledger import record_one
from . import check_label
from .auth import role_required
from .shared import recall_page, receive_page, shipments_context

bp = Blueprint("retailer", __name__, url_prefix="/retailer")


@bp.before_request
@role_required("retailer", "inspector", "producer")
def _logged_in():
    return None


@bp.route("/")
def home():
    query = request.args.get("q", "")[:100]
    session = get_session()
    found = suppliers.list_suppliers(session, query)
    return render_template("retailer/home.html", suppliers=found, q=query,
                           statuses=suppliers.certificate_statuses(session, found, today()),
                           recalls=safety.recalls_affecting(session, current_user.organization_id),
                           waiting=movements.shipments_for(session, current_user.organization_id, status="in_transit"))


@bp.route("/shipments")
def shipments():
    return render_template("chain/shipments.html", errors={}, values={},
                           **shipments_context(get_session(), current_user.organization_id))


@bp.route("/shipments/<id:shipment_id>", methods=["GET", "POST"])
def receive(shipment_id: int):
    return receive_page(shipment_id, url_for(".shipments"), lambda data: record_one(
        get_session(), current_user.organization_id, current_user.id, zone_name(),
        movements.record_receiving, shipment_id, data))


@bp.route("/recalls/<id:recall_id>")
def recall(recall_id: int):
    """The recall notice: who received what, how much, when, under which documents. Prints cleanly."""
    return recall_page(recall_id)


@bp.route("/recalls/<id:recall_id>.csv")
def recall_csv(recall_id: int):
    return recall_page(recall_id, csv=True)


@bp.route("/suppliers/<id:organization_id>")
def supplier(organization_id: int):
    session = get_session()
    profile = suppliers.supplier_profile(session, organization_id, today())
    return render_template("retailer/supplier.html", profile=profile,
                           received=suppliers.received_from(session, current_user.organization_id, organization_id))


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    facts = verification = None
    url = (request.form.get("url") or "").strip()[:2000]
    if request.method == "POST" and url:
        session = get_session()
        verification, facts, _key = check_label(session, url, current_user.organization_id)
        session.commit()
    return render_template("retailer/verify.html", url=url, facts=facts, v=verification)
