"""JSON API /api/v1 for integrations (retailers' systems, producers' software).

The blueprint is made here; its parts live beside it, as their names say: `auth` (bearer tokens and roles),
`errors` (RFC 9457 problem details), `payloads` (reading a request's JSON, answering a creation), one module
per family of resources, and `openapi` (the document that describes every route)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import (  # noqa: E402,F401  (each module adds its routes or handlers to bp)
    batches,
    catalogue,
    chain,
    epcis,
    errors,
    label_runs,
    lots,
    openapi,
    recalls,
    reports,
    suppliers,
    verify,
)
