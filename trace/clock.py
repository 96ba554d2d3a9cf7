"""Time zones in one place: the service's zone, its local today, and the local day of a stored moment."""
import os
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


def zone_name() -> str:
    """The configured zone (TRACE_TIMEZONE): certificates, OCOP ratings and lots are valid by its date."""
    from flask import current_app, has_app_context
    if has_app_context():
        return current_app.config["TRACE_TIMEZONE"]
    return os.environ.get("TRACE_TIMEZONE", DEFAULT_ZONE)


def today() -> date:
    return datetime.now(ZoneInfo(zone_name())).date()


def local_datetime(moment: datetime, offset: str) -> datetime:
    """The moment at a '+07:00'-style offset: the wall-clock time where it happened."""
    sign = 1 if offset.startswith("+") else -1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def local_day(moment: datetime, offset: str | None = None) -> date:
    """The calendar day of a stored (UTC) moment where it happened, at its recorded offset, else in the service's
    zone: a lot packed at 06:30 in Hải Phòng is dated that day, not the day before (its UTC date)."""
    if offset:
        return local_datetime(moment, offset).date()
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone_name())).date()
