"""What a request sends and what a creation answers: a JSON object in, `201` with the new thing out."""
from flask import g, jsonify, request

from ..clock import zone_name
from ..db import get_session
from ..services.errors import ValidationError
from ..services.ledger import record_one
from .auth import organization_id


def body() -> dict:
    """The request's JSON object; anything else is a 422 naming `body`."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON decoder follows
        data = None
    if data is None:
        raise ValidationError({"body": "The body is not valid JSON (send Content-Type: application/json)."})
    if not isinstance(data, dict):
        raise ValidationError({"body": "Send a JSON object."})
    return data


def record(function, *args):
    """Record one event by the token's organization and user, as entered by hand."""
    return record_one(get_session(), organization_id(), g.api_user.id, zone_name(), function, *args)


def created(payload: dict):
    """Commit what the request wrote and answer 201 with it."""
    get_session().commit()
    return jsonify(payload), 201
