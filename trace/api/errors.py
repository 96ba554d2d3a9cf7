"""Every API error as RFC 9457 problem details (`application/problem+json`): a title, the status, a detail
and, for bad input, `errors` naming each field. Nothing was written when one is answered."""
from flask import jsonify

from ..db import get_session
from ..services.errors import NotFound, ValidationError
from . import bp


class Forbidden(Exception):
    """The lot exists, but the caller has no part in its chain."""


def problem(status: int, title: str, detail: str = "", errors: dict | list | None = None, headers: dict | None = None):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return jsonify(body), status, {**(headers or {}), "Content-Type": "application/problem+json"}


@bp.errorhandler(ValidationError)
def _invalid(exc: ValidationError):
    get_session().rollback()
    return problem(422, "Invalid input", "Nothing was saved; fix the fields listed in errors.", exc.errors)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    get_session().rollback()
    return problem(404, "Not found", str(exc))


@bp.errorhandler(Forbidden)
def _forbidden(_exc):
    return problem(403, "Forbidden", "Only the lot's owner, an organization in its chain or an inspector may see this.")
