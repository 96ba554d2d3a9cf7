"""Producer pages: register areas, products, certificates; record a batch's life; process, ship, receive; labels."""
import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..clock import today, zone_name
from ..db import get_session
from ..models import (
    FARMING_METHODS,
    OCOP_LEVELS,
    PRODUCTION_SITE_KINDS,
    SCHEMES,
    SITE_KINDS,
    Batch,
    Lot,
    Organization,
    Product,
    Site,
)
from ..services import (
    certificates,
    claims,
    corrections,
    epcis,
    lots,
    movements,
    recording,
    reminders,
    reports,
    safety,
    scan,
)
from ..services.events import corrections_of
from ..services.ledger import record_one
from ..services.units import UNITS
from .auth import role_required
from .shared import (
    form_page as _form_page,
)
from .shared import (
    form_rows,
    receive_page,
    shipments_context,
    trace_context,
    trace_direction,
    visible_trace,
)

bp = Blueprint("producer", __name__, url_prefix="/producer")


def _org() -> int:
    return current_user.organization_id


def _record(function, *args):
    """Record one event by the logged-in producer, from the posted form."""
    return record_one(get_session(), _org(), current_user.id, zone_name(), function, *args)


def _owned(model, object_id):
    return recording.owned(get_session(), model, object_id, _org())


@bp.before_request
@role_required("producer")
def _producers_only():
    return None


@bp.route("/")
def home():
    session = get_session()
    return render_template("producer/home.html", batches=recording.list_batches(session, _org()),
                           lots=lots.list_lots(session, _org()), sites=recording.list_sites(session, _org()),
                           products=recording.list_products(session, _org()),
                           certificates=recording.list_certificates(session, _org()),
                           recalls=safety.recalls_affecting(session, _org()),
                           waiting=movements.shipments_for(session, _org(), status="in_transit"),
                           suspicious=scan.suspected_copies(session, current_app.config["TRACE_COPY_THRESHOLD"], _org()),
                           reminders=reminders.for_producer(session, _org(), today()))


@bp.route("/sites", methods=["GET", "POST"])
def sites():
    session = get_session()
    g.own_scripts = True  # "use my location" (static/locate.js)
    return _form_page("producer/sites.html", lambda: recording.create_site(session, _org(), request.form),
                      lambda site: url_for(".sites"),
                      lambda: {"sites": recording.list_sites(session, _org()), "site_kinds": SITE_KINDS,
                               "farming_methods": FARMING_METHODS})


def _uploaded_image():
    upload = request.files.get("image")
    return upload.read() if upload and upload.filename else None


@bp.route("/products", methods=["GET", "POST"])
def products():
    session = get_session()

    def context():
        items = recording.list_products(session, _org())
        return {"products": items, "units": UNITS,
                "ocop": {p.id: certificates.current_ocop(session, p.id, today()) for p in items}}

    return _form_page("producer/products.html",
                      lambda: recording.create_product(session, _org(), request.form, _uploaded_image()),
                      lambda product: url_for(".product", product_id=product.id), context)


@bp.route("/products/<id:product_id>", methods=["GET", "POST"])
def product(product_id: int):
    session = get_session()
    item = _owned(Product, product_id)
    return _form_page("producer/product.html", lambda: recording.add_ocop_rating(session, _org(), item.id, request.form),
                      lambda rating: url_for(".product", product_id=item.id),
                      lambda: {"product": item, "ratings": recording.ocop_ratings(session, item.id),
                               "current": certificates.current_ocop(session, item.id, today()), "levels": OCOP_LEVELS})


@bp.route("/certificates", methods=["GET", "POST"])
def certificates_page():
    session = get_session()

    def context():
        rows = [(c, certificates.status_on(session, c, today()), *certificates.scope(session, c))
                for c in recording.list_certificates(session, _org())]
        return {"rows": rows, "schemes": SCHEMES, "sites": recording.list_sites(session, _org()),
                "products": recording.list_products(session, _org())}

    return _form_page("producer/certificates.html",
                      lambda: recording.create_certificate(session, _org(), request.form),
                      lambda certificate: url_for(".certificates_page"), context)


@bp.route("/batches", methods=["GET", "POST"])
def batches():
    session = get_session()
    return _form_page("producer/batches.html",
                      lambda: _record(recording.start_batch, request.form),
                      lambda batch: url_for(".batch", batch_id=batch.id),
                      lambda: {"batches": (listed := recording.list_batches(session, _org())),
                               "harvests": recording.harvests_of(session, [batch.id for batch, *_ in listed]),
                               "sites": recording.list_sites(session, _org()), "production_kinds": PRODUCTION_SITE_KINDS,
                               "products": recording.list_products(session, _org())})


@bp.route("/batches/<id:batch_id>", methods=["GET", "POST"])
def batch(batch_id: int):
    session, form = get_session(), request.form.get("form")
    item = _owned(Batch, batch_id)
    if form == "harvest":
        call = lambda: _record(recording.record_harvest, item.id, request.form)  # noqa: E731
        success = lambda lot: url_for(".lot", lot_id=lot.id)  # noqa: E731
    else:
        call = lambda: _record(recording.record_input, item.id, request.form)  # noqa: E731
        success = lambda event: url_for(".batch", batch_id=item.id)  # noqa: E731

    def context():
        _, entries = recording.timeline(session, _org(), item.id)
        return {"batch": item, "entries": entries, "form": form, "product": session.get(Product, item.product_id),
                "site": session.get(Site, item.site_id), "categories": recording.INPUT_CATEGORIES,
                "units": UNITS,
                "harvest_lots": lots.lots_of_batch(session, item.id)}

    return _form_page("producer/batch.html", call, success, context)


def _visible_lot(lot_id: int) -> Lot:
    """A lot the producer made, or holds or has held some of; any other is not found."""
    item = get_session().get(Lot, lot_id)
    if item is None or (item.organization_id != _org() and lots.quantity_held(get_session(), item.id, _org()) is None):
        abort(404)
    return item


@bp.route("/lots/<id:lot_id>", methods=["GET", "POST"])
def lot(lot_id: int):
    session, form = get_session(), request.form.get("form")
    item = _visible_lot(lot_id)
    owner = item.organization_id == _org()
    actions = {
        "packing": lambda: _record(movements.record_packing, item.id, request.form),
        "storing": lambda: _record(movements.record_storing, {**request.form.to_dict(), "lot_id": item.id}),
        "destroying": lambda: _record(movements.record_destroying, item.id, request.form),
        "error": lambda: _record(corrections.declare_error, request.form.get("event_id"), request.form),
    }
    if owner:
        actions["labels"] = lambda: label_pages.issue_from_form(session, item)
        actions["recall"] = lambda: safety.recall_lot(session, item, request.form, current_user)
    call = actions.get(form, actions["packing"])

    def context():
        product = session.get(Product, item.product_id)
        derived = claims.derive(session, item) if owner else None
        events = lots.lot_events(session, item, with_corrected=True)
        fixes = corrections_of(session, [event.id for event, _ in events])
        return {"lot": item, "product": product, "form": form, "owner": owner,
                "maker": session.get(Organization, item.organization_id), "events": events, "corrections": fixes,
                "packings": [(event, site) for event, site in events if event.step == "packing" and event.id not in fixes],
                "sites": recording.list_sites(session, _org()), "held": lots.quantity_held(session, item.id, _org()),
                "best_before": lots.best_before(session, item, product),
                "status": safety.lot_status(session, item, derived.upstream if derived else None), "claims": derived,
                "recalls": safety.recalls_of_lot(session, item.id), "units": UNITS,
                **(label_pages.lot_context(session, item) if owner else {"runs": []})}

    def success(result):
        if form == "labels":
            return url_for(".label_file", file_id=result[1].id)
        return url_for(".lot", lot_id=item.id)

    return _form_page("producer/lot.html", call, success, context,
                      label_pages.issued_message if form == "labels" else None)


@bp.route("/lots/<id:lot_id>/trace")
def lot_trace(lot_id: int):
    item = _visible_lot(lot_id)
    return render_template("chain/trace.html", **trace_context(item, trace_direction(), url_for(".lot", lot_id=item.id),
                                                               lambda d: url_for(".lot_trace", lot_id=item.id, direction=d)))


@bp.route("/lots/<id:lot_id>/epcis.jsonld")
def lot_epcis(lot_id: int):
    """The lot's chain as an EPCIS 2.0 document, to hand to a buyer or an authority."""
    item, session = _visible_lot(lot_id), get_session()
    ids = visible_trace(item, trace_direction()).event_ids()
    document = epcis.document(epcis.export_events(session, epcis.select_events(session, event_ids=ids, limit=100_000)))
    return Response(json.dumps(document, ensure_ascii=False, indent=1), mimetype="application/ld+json", headers={
        "Content-Disposition": f'attachment; filename="epcis-{item.code.replace("/", "_")}.jsonld"'})


@bp.route("/lots/<id:lot_id>/fsma204.xlsx")
def lot_fsma(lot_id: int):
    item, session = _visible_lot(lot_id), get_session()
    rows = reports.cte_rows(session, visible_trace(item, trace_direction()).events)
    return Response(reports.spreadsheet_xlsx(rows, f"{item.code} ({trace_direction()})"),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers={
                        "Content-Disposition": f'attachment; filename="fsma204-{item.code.replace("/", "_")}.xlsx"'})


@bp.route("/stock", methods=["GET", "POST"])
def stock():
    """What the organization holds, and the form that processes some of it into new lots."""
    session = get_session()

    def call():
        if request.form.get("form") == "unpacking":
            return _record(movements.record_unpacking, request.form)
        data = {**request.form.to_dict(), "inputs": form_rows(request.form, "inputs", ("lot_id", "quantity", "unit")),
                "outputs": form_rows(request.form, "outputs", ("product_id", "lot", "quantity", "unit"))}
        return _record(movements.record_transformation, data)

    def context():
        held = lots.held_lots(session, _org())
        return {"held": held, "products": recording.list_products(session, _org()),
                "sites": recording.list_sites(session, _org()), "units": UNITS, "processes": movements.PROCESSES,
                "input_rows": 4, "output_rows": 2}

    return _form_page("producer/stock.html", call, lambda _event: url_for(".stock"), context)


@bp.route("/shipments", methods=["GET", "POST"])
def shipments():
    session = get_session()

    def call():
        data = {**request.form.to_dict(), "lines": form_rows(request.form, "lines", ("lot_id", "quantity", "unit"))}
        return _record(movements.record_shipping, data)

    def context():
        return {**shipments_context(session, _org()), "held": lots.held_lots(session, _org()),
                "sites": recording.list_sites(session, _org()), "units": UNITS, "line_rows": 3,
                "organizations": movements.shipping_partners(session, _org()), "types": movements.TRANSACTION_TYPES,
                "preselected": request.args.get("lot_id", "")}

    return _form_page("chain/shipments.html", call, lambda _event: url_for(".shipments"), context)


@bp.route("/shipments/<id:shipment_id>", methods=["GET", "POST"])
def receive(shipment_id: int):
    return receive_page(shipment_id, url_for(".shipments"),
                        lambda data: _record(movements.record_receiving, shipment_id, data))


from . import label_pages  # noqa: E402  (its routes join this blueprint)
