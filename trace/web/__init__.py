"""HTML blueprints, one per audience: auth, producer, retailer, and the public scan pages."""
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import current_app, request



def raw_request_path() -> str:
    """Path and query as the client sent them: a decoded path would turn a lot's %2F into a '/'."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    query = request.query_string.decode("latin-1")
    return quote(request.path) + ("?" + query if query else "")


def today() -> date:
    """Today in the service's time zone (certificates and OCOP ratings are valid by local date)."""
    return datetime.now(ZoneInfo(current_app.config["TRACE_TIMEZONE"])).date()
