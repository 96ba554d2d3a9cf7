"""Jinja filters and globals: Vietnamese date order (dd/mm/yyyy) in both languages, as labels print it."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import get_locale

from .. import LOCALES
from ..clock import zone_name
from ..services.parse import local_datetime, map_link
from ..services.safety import flag_reason
from ..services.units import grouped_number
from . import raw_request_path
from .vocab import name_of, unit_name


def dmy(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime) and value.tzinfo is not None:  # a UTC time from JSON: the reader's clock
            value = value.astimezone(ZoneInfo(zone_name()))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def quantity(value) -> str:
    """'18,500' / '18.500' with the reader's thousands separator, decimals kept, no trailing zeros."""
    return grouped_number(value, get_locale().language)


def option(value, namer=None) -> tuple:
    """(value, label) for a <select>, the label named by `namer` when given."""
    return value, (namer(value) if namer else value)


def option_of(row, value_attr: str, label_attr: str) -> tuple:
    return str(getattr(row, value_attr)), getattr(row, label_attr)


def register(app) -> None:
    app.jinja_env.globals.update(name_of=name_of, LOCALES=LOCALES, get_locale=get_locale,
                                raw_request_path=raw_request_path, flag_reason=flag_reason)
    app.jinja_env.filters.update(dmy=dmy, ha=quantity, qty=quantity, unit=unit_name, option=option, option_of=option_of, localtime=local_datetime, map_link=map_link)
