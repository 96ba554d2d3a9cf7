"""HTML blueprints, one per audience: auth, producer, retailer, and the public scan pages."""
from urllib.parse import quote

from flask import current_app, request

from ..clock import today


def raw_request_path() -> str:
    """Path and query as the client sent them: a decoded path would turn a lot's %2F into a '/'."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    query = request.query_string.decode("latin-1")
    return quote(request.path) + ("?" + query if query else "")


def current_keyset(session):
    from .. import key_store
    from ..services.keys import keyset
    return keyset(session, key_store(current_app))


def check_label(session, url: str, organization_id=None) -> tuple:
    """(verification, scan facts, cache key of the lot's facts) for a label URL, the scan recorded against
    this client."""
    from .. import label_bases
    from ..services.scan import Scanner, client_fingerprint, retail_organization, scan_label
    scanner = Scanner(client_fingerprint(current_app.config["SECRET_KEY"], request.remote_addr or "",
                                         request.headers.get("User-Agent", "")),
                      retail_organization(session, organization_id))
    return scan_label(session, url, current_keyset(session), label_bases(current_app), today(), scanner,
                      current_app.config["TRACE_COPY_THRESHOLD"])
