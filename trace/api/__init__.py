"""JSON API /api/v1: bearer-token auth, RFC 9457 problem details for every error."""
from functools import wraps

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlmodel import select

from .. import key_store, label_bases
from ..clock import today, zone_name
from ..db import get_session
from ..models import Batch, LabelRun, Lot, Product
from ..services import accounts, certificates, labels, lots, movements, recording, safety, suppliers
from ..services.errors import NotFound, ValidationError
from ..services.gs1 import code_problem, gtin_problem
from ..services.issuance import MAX_BATCH, verify_many
from ..services.keys import iso_utc
from ..services.ledger import record_one
from ..services.parse import local_datetime
from ..web import check_label, current_keyset

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def problem(status: int, title: str, detail: str = "", errors: dict | list | None = None):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return jsonify(body), status, {"Content-Type": "application/problem+json"}


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    get_session().rollback()
    return problem(422, "Invalid input", "Nothing was saved; fix the fields listed in errors.", exc.errors)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    get_session().rollback()
    return problem(404, "Not found", str(exc))


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = accounts.user_for_token(get_session(), token.strip()) if scheme.lower() == "bearer" and token else None
        if user is None:
            return problem(401, "Unauthorized", "Send 'Authorization: Bearer <token>' with a valid API token.")
        get_session().commit()  # the token's last use
        g.api_user = user
        return view(*args, **kwargs)
    return wrapped


def role_required(*roles):
    def decorator(view):
        @wraps(view)
        @token_required
        def wrapped(*args, **kwargs):
            if g.api_user.role not in roles:
                return problem(403, "Forbidden", f"Only a {' or '.join(roles)} may do this.")
            return view(*args, **kwargs)
        return wrapped
    return decorator


producer_required = role_required("producer")


def body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON decoder follows
        data = None
    if data is None:
        raise ValidationError({"body": "The body is not valid JSON (send Content-Type: application/json)."})
    if not isinstance(data, dict):
        raise ValidationError({"body": "Send a JSON object."})
    return data


def _org() -> int:
    return g.api_user.organization_id


def _record(function, *args):
    """Record one event by the token's organization and user, as entered by hand."""
    return record_one(get_session(), _org(), g.api_user.id, zone_name(), function, *args)


def _created(payload: dict):
    get_session().commit()
    return jsonify(payload), 201


def site_json(site) -> dict:
    return {"id": site.id, "name": site.name, "kind": site.kind, "crop": site.crop,
            "area_ha": str(site.area_ha) if site.area_ha is not None else None,
            "farming_method": site.farming_method, "address": site.address, "location": site.location}


def product_json(product) -> dict:
    rating = certificates.current_ocop(get_session(), product.id, today())
    return {"id": product.id, "gtin": product.gtin, "name_vi": product.name_vi, "name_en": product.name_en,
            "category": product.category, "unit": product.unit, "shelf_life_days": product.shelf_life_days,
            "ocop": {"stars": rating.stars, "valid_until": rating.valid_until.isoformat()} if rating else None}


def certificate_json(certificate) -> dict:
    sites, products = certificates.scope(get_session(), certificate)
    return {"id": certificate.id, "scheme": certificate.scheme, "standard": certificate.standard,
            "certifier": certificate.certifier, "number": certificate.number,
            "valid_from": certificate.valid_from.isoformat(), "valid_until": certificate.valid_to.isoformat(),
            "status_today": certificates.status_on(get_session(), certificate, today()),
            "site_ids": [s.id for s in sites], "product_ids": [p.id for p in products]}


def lot_json(lot, product) -> dict:
    return {"id": lot.id, "gtin": product.gtin, "code": lot.code, "product": product.name_vi,
            "quantity": str(lot.quantity), "unit": lot.unit, "produced_on": lot.produced_on.isoformat(),
            "batch_id": lot.batch_id, "recalled": safety.active_recall(get_session(), lot.id) is not None}


def event_json(event, site=None) -> dict:
    return {"id": event.id, "step": event.step, "epcis_type": event.epcis_type, "action": event.action,
            "biz_step": event.biz_step,
            "time": local_datetime(event.event_time, event.event_time_zone_offset).isoformat(timespec="minutes"),
            "site": site.name if site else None, "details": event.details}


@bp.route("/sites", methods=["GET", "POST"])
@producer_required
def sites():
    session = get_session()
    if request.method == "POST":
        return _created(site_json(recording.create_site(session, _org(), body())))
    return jsonify([site_json(s) for s in recording.list_sites(session, _org())])


@bp.route("/products", methods=["GET", "POST"])
@producer_required
def products():
    session = get_session()
    if request.method == "POST":
        product = recording.create_product(session, _org(), body())
        return _created(product_json(product))
    return jsonify([product_json(p) for p in recording.list_products(session, _org())])


@bp.route("/products/<id:product_id>/ocop", methods=["POST"])
@producer_required
def ocop(product_id: int):
    rating = recording.add_ocop_rating(get_session(), _org(), product_id, body())
    return _created({"id": rating.id, "product_id": rating.product_id, "stars": rating.stars,
                     "decision_number": rating.decision_number, "issued_on": rating.issued_on.isoformat(),
                     "valid_until": rating.valid_until.isoformat(), "issuing_level": rating.issuing_level})


@bp.route("/certificates", methods=["GET", "POST"])
@producer_required
def certificates_endpoint():
    session = get_session()
    if request.method == "POST":
        return _created(certificate_json(recording.create_certificate(session, _org(), body())))
    return jsonify([certificate_json(c) for c in recording.list_certificates(session, _org())])


@bp.route("/batches", methods=["GET", "POST"])
@producer_required
def batches():
    session = get_session()
    if request.method == "POST":
        batch = _record(recording.start_batch, body())
        return _created(batch_json(batch))
    return jsonify([batch_json(b) for b, _site, _product in recording.list_batches(session, _org())])


def batch_json(batch: Batch, with_timeline: bool = False) -> dict:
    data = {"id": batch.id, "code": batch.code, "site_id": batch.site_id, "product_id": batch.product_id,
            "started_on": batch.started_on.isoformat()}
    if with_timeline:
        _, entries = recording.timeline(get_session(), _org(), batch.id)
        data["timeline"] = [{**event_json(e.event, e.site), "lots": [lot.code for lot in e.lots]} for e in entries]
    return data


@bp.route("/batches/<id:batch_id>")
@producer_required
def batch(batch_id: int):
    return jsonify(batch_json(recording.owned(get_session(), Batch, batch_id, _org()), with_timeline=True))


@bp.route("/batches/<id:batch_id>/inputs", methods=["POST"])
@producer_required
def inputs(batch_id: int):
    event = _record(recording.record_input, batch_id, body())
    return _created(event_json(event))


@bp.route("/batches/<id:batch_id>/harvests", methods=["POST"])
@producer_required
def harvests(batch_id: int):
    session = get_session()
    lot = _record(recording.record_harvest, batch_id, body())
    return _created(lot_json(lot, session.get(Product, lot.product_id)))


def _lot(gtin: str, code: str) -> Lot:
    if gtin_problem(gtin) is not None or code_problem(code) is not None:
        raise NotFound("No such lot in your organization (GTIN and lot code).")
    lot = lots.find_lot(get_session(), gtin.zfill(14), code, organization_id=_org())
    if lot is None:
        raise NotFound("No such lot in your organization (GTIN and lot code).")
    return lot


@bp.route("/lots")
@producer_required
def lot_list():
    return jsonify([lot_json(lot, product) for lot, product in lots.list_lots(get_session(), _org())])


@bp.route("/lots/<gtin>/<lot:code>/packings", methods=["POST"])
@producer_required
def packings(gtin: str, code: str):
    event = _record(movements.record_packing, _lot(gtin, code).id, body())
    return _created(event_json(event))


def run_json(run: LabelRun) -> dict:
    return {"run_id": run.id, "first_serial": run.first_serial, "last_serial": run.last_serial, "count": run.count,
            "status": "cancelled" if run.cancelled_at else run.status, "issued_at": iso_utc(run.issued_at),
            "over_issue_reason": run.over_issue_reason, "cancelled_at": iso_utc(run.cancelled_at),
            "cancel_reason": run.cancel_reason}


@bp.route("/lots/<gtin>/<lot:code>/labels", methods=["POST"])
@producer_required
def issue(gtin: str, code: str):
    """A run of labels; its URLs in the answer up to 10,000 (any run's are at /label-runs/ID/labels.csv)."""
    session, data = get_session(), body()
    lot = _lot(gtin, code)
    reason = data.get("over_issue_reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"over_issue_reason": "Give the reason as a string."})
    run = labels.issue_labels(session, key_store(current_app), lot, data.get("count"), g.api_user.id, reason)
    answer = run_json(run)
    if run.count <= 10_000:
        items = labels.labels_for_run(session, key_store(current_app), current_app.config["TRACE_BASE_URL"], run)
        answer["labels"] = [{"serial": item.serial, "url": item.url} for item in items]
    return _created(answer)


@bp.route("/lots/<gtin>/<lot:code>/labels")
@producer_required
def label_runs(gtin: str, code: str):
    lot = _lot(gtin, code)
    runs = get_session().exec(select(LabelRun).where(LabelRun.lot_id == lot.id).order_by(LabelRun.id)).all()
    return jsonify([run_json(r) for r in runs])


def _own_run(run_id: int) -> LabelRun:
    run = get_session().get(LabelRun, run_id)
    lot = get_session().get(Lot, run.lot_id) if run else None
    if lot is None or lot.organization_id != _org():
        raise NotFound()
    return run


@bp.route("/label-runs/<id:run_id>/cancel", methods=["POST"])
@producer_required
def cancel_run(run_id: int):
    session = get_session()
    run = labels.cancel_run(session, _own_run(run_id), body().get("reason"), g.api_user.id)
    session.commit()
    return jsonify(run_json(run))


@bp.route("/label-runs/<id:run_id>/labels.csv")
@producer_required
def run_csv(run_id: int):
    """serial,url for a run or part of it (?first=&last=): the same URLs every time."""
    session, run = get_session(), _own_run(run_id)
    serials = labels.serial_range(run, request.args.get("first"), request.args.get("last"))
    return Response(labels.csv_lines(session, key_store(current_app), current_app.config["TRACE_BASE_URL"], run,
                                     serials), mimetype="text/csv")


@bp.route("/verify", methods=["POST"])
def verify():
    data = body()
    url = data.get("url")
    if not isinstance(url, str) or not url.strip() or len(url) > 2000:
        raise ValidationError({"url": "Give the label's URL as a string."})
    session = get_session()
    _verification, facts, _key = check_label(session, url, getattr(g, "api_user", None) and g.api_user.organization_id)
    session.commit()
    return jsonify(facts)


@bp.route("/verify/batch", methods=["POST"])
@token_required
def verify_batch():
    """Up to 10,000 label URLs in one request, verdicts in the order sent."""
    urls = body().get("urls")
    if not isinstance(urls, list) or not urls:
        raise ValidationError({"urls": "Give the label URLs as a non-empty list of strings."})
    if len(urls) > MAX_BATCH:
        raise ValidationError({"urls": f"At most {MAX_BATCH:,} URLs at a time (this has {len(urls):,}); "
                                       "send the rest in another request."})
    bad = [i for i, url in enumerate(urls) if not isinstance(url, str) or len(url) > 2000]
    if bad:
        raise ValidationError({"urls": f"Each URL is a string of at most 2,000 characters; not so at index "
                                       f"{', '.join(map(str, bad[:10]))}{'…' if len(bad) > 10 else ''}."})
    session = get_session()
    verdicts = verify_many(session, urls, current_keyset(session), label_bases(current_app))
    return jsonify({"results": [{"url": url, "verification": verdict.as_json()}
                                for url, verdict in zip(urls, verdicts)]})


@bp.route("/suppliers/<id:organization_id>")
@token_required
def supplier(organization_id: int):
    return jsonify(suppliers.supplier_profile(get_session(), organization_id, today()))


from . import chain  # noqa: E402,F401  (its routes join this blueprint)
