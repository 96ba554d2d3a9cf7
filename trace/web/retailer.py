"""Retailer pages: verify a supplier's certificates and products, verify a label by its URL."""
from flask import Blueprint, abort, render_template, request

from ..db import get_session
from ..services import suppliers
from ..services.errors import NotFound
from ..services.keys import keyset_from_database
from ..services.scan import scan_facts
from ..services.verification import verify_against_database
from . import today
from .auth import role_required

bp = Blueprint("retailer", __name__, url_prefix="/retailer")


@bp.before_request
@role_required("retailer", "inspector", "producer")
def _logged_in():
    return None


@bp.route("/")
def home():
    query = request.args.get("q", "")[:100]
    return render_template("retailer/home.html", suppliers=suppliers.list_suppliers(get_session(), query), q=query)


@bp.route("/suppliers/<id:organization_id>")
def supplier(organization_id: int):
    try:
        profile = suppliers.supplier_profile(get_session(), organization_id, today())
    except NotFound:
        abort(404)
    return render_template("retailer/supplier.html", profile=profile)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    facts = verification = None
    url = (request.form.get("url") or "").strip()[:2000]
    if request.method == "POST" and url:
        session = get_session()
        verification = verify_against_database(session, url, keyset_from_database(session))
        facts = scan_facts(session, verification, today())
    return render_template("retailer/verify.html", url=url, facts=facts, v=verification)
