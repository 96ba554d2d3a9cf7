"""What a retailer checks about a supplier: its certificates with their status today, products, OCOP stars."""
from flask import jsonify

from ..clock import today
from ..db import get_session
from ..services.suppliers import supplier_profile
from . import bp
from .auth import token_required


@bp.route("/suppliers/<id:organization_id>")
@token_required
def supplier(organization_id: int):
    return jsonify(supplier_profile(get_session(), organization_id, today()))
