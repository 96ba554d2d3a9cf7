"""Pages more than one audience has: shipments to receive, the drawn trace of a lot, recall notices."""
from flask import Response, abort, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlmodel import Session

from ..db import get_session
from ..models import Lot, Organization, Product
from ..services import lineage, movements, recording, reports, safety
from ..services.errors import ValidationError


def form_rows(form, name: str, fields: tuple) -> list:
    """Rows of a form's repeated fields (name-0-field, name-1-field…), blank rows left out."""
    rows, index = [], 0
    while any(f"{name}-{index}-{field}" in form for field in fields):
        row = {field: form.get(f"{name}-{index}-{field}", "").strip() for field in fields}
        if any(row.values()):
            rows.append({key: value for key, value in row.items() if value})
        index += 1
    return rows


def receipt_data(form) -> dict:
    """A receipt form: the time, the site, and what was counted of each lot (left out: as shipped)."""
    lines = [{"lot_id": key.split("-")[1], "quantity": value.strip()} for key, value in form.items()
             if key.startswith("received-") and value.strip()]
    return {**form.to_dict(), "lines": lines}


def shipments_context(session: Session, organization_id: int) -> dict:
    return {"incoming": movements.shipments_for(session, organization_id, incoming=True),
            "outgoing": movements.shipments_for(session, organization_id, incoming=False),
            "names": movements.organization_names(session)}


def receive_page(shipment_id: int, back_url: str, call):
    """A shipment addressed to the user's organization, and the form that records its arrival."""
    session = get_session()
    shipment = movements.incoming_shipment(session, current_user.organization_id, shipment_id)
    errors, line_errors = {}, {}
    if request.method == "POST":
        data = receipt_data(request.form)
        try:
            call(data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
            for key, message in errors.items():  # 'lines.N.field' -> the lot of the N-th line sent
                parts = key.split(".")
                if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(data["lines"]):
                    line_errors[str(data["lines"][int(parts[1])]["lot_id"])] = message
        else:
            flash(_("Saved."))
            return redirect(back_url)
        shipment = session.get(type(shipment), shipment_id)
    shipping, rows = movements.shipped_lines(session, shipment)
    sender = session.get(Organization, shipment.from_organization_id)
    return render_template("chain/receive.html", shipment=shipment, shipping=shipping, rows=rows, sender=sender,
                           errors=errors, line_errors=line_errors, values=request.form, back_url=back_url,
                           sites=recording.list_sites(session, current_user.organization_id)), (422 if errors else 200)


def trace_direction() -> str:
    """The direction a trace page asks for; back unless it says forward."""
    return request.args.get("direction") if request.args.get("direction") in lineage.WALKS else "back"


def visible_trace(lot, direction: str) -> lineage.Trace:
    """The lot's chain as the user's organization may see it; a lot outside its chains is not found."""
    viewer = None if current_user.role == "inspector" else current_user.organization_id
    result = lineage.trace(get_session(), lot, direction, viewer)
    if viewer is not None and viewer not in result.parties():
        abort(404)
    return result


def trace_context(lot, direction: str, lot_url: str, direction_url) -> dict:
    result = visible_trace(lot, direction)
    upstream = result.lot_ids if direction == "back" else None  # a trace back holds every lot behind the root
    return {"result": result, "root": lineage.tree(result), "direction": direction, "lot_url": lot_url,
            "direction_url": direction_url, "organizations": result.organizations,
            "status": safety.lot_status(get_session(), lot, upstream)}


def recall_page(recall_id: int, csv: bool = False):
    session = get_session()
    recall, rows = safety.visible_recall(session, current_user, recall_id)
    if csv:
        return Response(reports.notice_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="recall-{recall.id}.csv"'})
    lot = session.get(Lot, recall.lot_id)
    return render_template("chain/recall.html", recall=recall, rows=rows, lot=lot,
                           product=session.get(Product, lot.product_id),
                           ordered_by=session.get(Organization, recall.organization_id))


def submit_form(call, success_url_of, message_of=None):
    """Run a recording service on the posted form; commit and redirect, or return the errors to show."""
    session = get_session()
    try:
        result = call()
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return None, exc.errors
    flash((message_of and message_of(result)) or _("Saved."))
    return redirect(success_url_of(result)), {}


def form_page(template: str, call, success_url_of, context, message_of=None):
    """GET shows the page; POST runs `call` and redirects, or shows the page again with its errors (422)."""
    errors = {}
    if request.method == "POST":
        response, errors = submit_form(call, success_url_of, message_of)
        if response:
            return response
    return render_template(template, errors=errors, values=request.form, **context()), (422 if errors else 200)
