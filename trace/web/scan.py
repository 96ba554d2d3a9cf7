"""Public pages: the scan page a label's URL opens, the JWKS, product images."""
from collections import OrderedDict

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape

from .. import key_store
from ..db import get_session
from ..models import Product
from ..services import scan
from ..services.keys import jwks
from . import check_label, current_keyset, raw_request_path

bp = Blueprint("scan", __name__)


@bp.route("/")
def index():
    return render_template("scan/index.html")


def _requested_label_url() -> str:
    """The label URL as issued: this page was reached on our address, whatever Host header a proxy passed on."""
    path = raw_request_path()
    if request.script_root and path.startswith(request.script_root):
        path = path[len(request.script_root):]
    return current_app.config["TRACE_BASE_URL"] + path


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


@bp.route("/01/<path:rest>")
@bp.route("/gtin/<path:rest>")
def label(rest: str):
    session = get_session()
    verification, facts, key = check_label(session, _requested_label_url())
    session.commit()
    if wants_json():
        response = jsonify(facts)
    else:
        response = Response(cached_page(facts, verification, key) or
                            render_template("scan/label.html", facts=facts, v=verification,
                                            lot_html=lot_fragment(facts, key)))
    response.headers["Vary"] = "Accept, Cookie"
    response.headers["Cache-Control"] = "no-store"
    return response


SERIAL_SLOT, PATH_SLOT = "\x00serial\x00", "/path-slot"
_fragments: OrderedDict = OrderedDict()
_pages: OrderedDict = OrderedDict()


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    while len(cache) > 4096:
        cache.popitem(last=False)
    return value


def cached_page(facts: dict, verification, key) -> str | None:
    """A shopper's whole scan page, rendered once per lot's facts, language and verdict; the serial and the
    page's own address put in after. Signed-in users, pending messages and warnings about this very label
    (cancelled, possibly copied) are rendered afresh."""
    if (key is None or current_user.is_authenticated or cookie_session.get("_flashes") or facts.get("cancelled")
            or (facts.get("scans") or {}).get("suspected_copy")):
        return None
    locale = str(get_locale())
    page_key = (key, locale, verification.status, verification.kid)
    html = _pages.get(page_key)
    if html is None:
        page = render_template("scan/label.html", facts={**facts, "serial": SERIAL_SLOT}, v=verification,
                               lot_html=lot_fragment({**facts, "serial": SERIAL_SLOT}, key), page_path=PATH_SLOT)
        html = _remember(_pages, page_key, page)
    other = "en" if locale == "vi" else "vi"
    return (html.replace(SERIAL_SLOT, str(escape(facts["serial"])))
            .replace(str(escape(url_for("auth.set_language", code=other, next=PATH_SLOT))),
                     str(escape(url_for("auth.set_language", code=other, next=raw_request_path())))))


def lot_fragment(facts: dict, key) -> Markup | None:
    """The lot's part of the scan page, rendered once per cached facts and language; the serial put in after."""
    if key is None:
        return None
    slot = (key, str(get_locale()))
    html = _fragments.get(slot)
    if html is None:
        html = _remember(_fragments, slot, render_template("scan/_lot.html", facts={**facts, "serial": SERIAL_SLOT}))
    return Markup(html.replace(SERIAL_SLOT, str(escape(facts["serial"]))))


@bp.route("/report", methods=["POST"])
def report():
    """A shopper's one-tap report of a label that did not check out, kept for the ward's inspectors."""
    from .. import label_bases
    path = request.form.get("label", "")
    if not (path.startswith("/01/") or path.startswith("/gtin/")) or len(path) > 2000 or not path.isprintable():
        abort(400)
    session = get_session()
    reported = scan.report_label(session, current_app.config["TRACE_BASE_URL"] + path, current_keyset(session),
                                 label_bases(current_app), scan.client_fingerprint(
                                     current_app.config["SECRET_KEY"], request.remote_addr or "",
                                     request.headers.get("User-Agent", "")))
    if reported is None:
        abort(400)
    session.commit()
    return render_template("scan/reported.html")


@bp.route("/.well-known/jwks.json")
def jwks_document():
    response = jsonify(jwks(get_session(), key_store(current_app)))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/media/products/<id:product_id>.jpg")
def product_image(product_id: int):
    product = get_session().get(Product, product_id)
    if product is None or not product.image:
        abort(404)
    response = Response(product.image, mimetype=product.image_type or "image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
