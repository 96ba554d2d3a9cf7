"""HTML blueprints, one per audience: auth, producer, retailer, and the public scan pages."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from ..services.parse import local_datetime


def today() -> date:
    """Today in the service's time zone (certificates and OCOP ratings are valid by local date)."""
    return datetime.now(ZoneInfo(current_app.config["TRACE_TIMEZONE"])).date()


def local_time(event) -> datetime:
    return local_datetime(event.event_time, event.event_time_zone_offset)
