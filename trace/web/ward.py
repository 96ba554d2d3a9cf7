"""The ward's pages for inspectors: find any lot, trace it, recall it or lift a recall, clear a flagged harvest."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..db import get_session
from ..models import Lot, Organization, Product
from ..services import lots, safety, scan
from ..services.errors import NotFound, ValidationError
from ..services.events import corrections_of
from .auth import role_required
from .shared import trace_context, trace_direction

bp = Blueprint("ward", __name__, url_prefix="/ward")


@bp.before_request
@role_required("inspector")
def _inspectors_only():
    return None


def _find(query: str):
    """A lot from a label's URL, or from 'GTIN LOT'."""
    gtin_or_url, _space, code = query.strip().partition(" ")
    try:
        return lots.find_lot_named(get_session(), gtin_or_url, code.strip() or None)
    except (ValidationError, NotFound):
        return None


@bp.route("/")
def home():
    session = get_session()
    query = request.args.get("q", "")[:2100]
    if query:
        found = _find(query)
        if found is not None:
            return redirect(url_for(".lot", lot_id=found.id))
        flash(_("No lot found: give a label's URL, or its GTIN and lot code separated by a space."))
    flags, recalls = safety.latest_flags(session), safety.latest_recalls(session)
    suspicious = scan.suspected_copies(session, current_app.config["TRACE_COPY_THRESHOLD"])
    return render_template("ward/home.html", reports=scan.recent_reports(session), flags=flags, recalls=recalls, q=query, suspicious=suspicious)


def _act(call, success: str):
    """Run an inspector's act on the posted form; commit and go back, or show the page with its errors."""
    session = get_session()
    try:
        call()
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return exc.errors
    flash(_("Saved."))
    return redirect(success)


@bp.route("/lots/<id:lot_id>", methods=["GET", "POST"])
def lot(lot_id: int):
    session = get_session()
    item = session.get(Lot, lot_id)
    if item is None:
        abort(404)
    errors, form = {}, request.form.get("form")
    if request.method == "POST":
        target = request.form.get("target_id")
        calls = {"recall": lambda: safety.recall_lot(session, item, request.form, current_user),
                 "lift": lambda: safety.lift_recall(session, current_user, target, request.form),
                 "clear": lambda: safety.clear_flag(session, current_user, target, request.form)}
        if form not in calls:
            abort(400)
        outcome = _act(calls[form], url_for(".lot", lot_id=item.id))
        if not isinstance(outcome, dict):
            return outcome
        errors = outcome
    product = session.get(Product, item.product_id)
    events = lots.lot_events(session, item, with_corrected=True)
    return render_template("ward/lot.html", lot=item, product=product, maker=session.get(Organization, item.organization_id),
                           status=safety.lot_status(session, item), recalls=safety.recalls_of_lot(session, item.id),
                           flags=[flag for flag in safety.flags_of(session, item.id)],
                           events=events, corrections=corrections_of(session, [e.id for e, _ in events]),
                           errors=errors, form=form,
                           values=request.form), (422 if errors else 200)


@bp.route("/lots/<id:lot_id>/trace")
def lot_trace(lot_id: int):
    item = get_session().get(Lot, lot_id)
    if item is None:
        abort(404)
    return render_template("chain/trace.html", **trace_context(
        item, trace_direction(), url_for(".lot", lot_id=item.id), lambda d: url_for(".lot_trace", lot_id=item.id, direction=d)))
