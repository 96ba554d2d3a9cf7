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


def local_day(moment: datetime, offset: str | None = None) -> date:
    """The calendar day of a moment where it happened: stored times are UTC, their offset kept beside them.

    Without an offset the service's zone is used, so a lot packed at 06:30 in Hải Phòng is dated that day,
    not the day before (its UTC date)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if offset:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset.lstrip("+-").split(":")
        zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
    else:
        zone = ZoneInfo(zone_name())
    return moment.astimezone(zone).date()
