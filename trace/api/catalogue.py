"""A producer's catalogue: production areas, products with their OCOP ratings, certificates."""
from flask import jsonify, request

from ..clock import today
from ..db import get_session
from ..services import recording
from ..services.shapes import certificate_json, ocop_json, product_json, site_json
from . import bp
from .auth import organization_id, producer_required
from .payloads import body, created


@bp.route("/sites", methods=["GET", "POST"])
@producer_required
def sites():
    session = get_session()
    if request.method == "POST":
        return created(site_json(recording.create_site(session, organization_id(), body())))
    return jsonify([site_json(s) for s in recording.list_sites(session, organization_id())])


@bp.route("/products", methods=["GET", "POST"])
@producer_required
def products():
    session = get_session()
    if request.method == "POST":
        product = recording.create_product(session, organization_id(), body())
        return created(product_json(session, product, today()))
    return jsonify([product_json(session, p, today()) for p in recording.list_products(session, organization_id())])


@bp.route("/products/<id:product_id>/ocop", methods=["POST"])
@producer_required
def ocop(product_id: int):
    return created(ocop_json(recording.add_ocop_rating(get_session(), organization_id(), product_id, body())))


@bp.route("/certificates", methods=["GET", "POST"])
@producer_required
def certificates_endpoint():
    session = get_session()
    if request.method == "POST":
        return created(certificate_json(session, recording.create_certificate(session, organization_id(), body()),
                                        today()))
    return jsonify([certificate_json(session, c, today())
                    for c in recording.list_certificates(session, organization_id())])
