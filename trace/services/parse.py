"""Reading plain values from a form or a JSON body, collecting every problem before anything is written."""
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..clock import local_datetime
from ..models import MAX_ID
from .errors import NotFound, ValidationError

_MISSING = object()
# NUL, other C0 controls but tab and newlines, and lone surrogates: no database keeps them all.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Digits with an optional decimal point or comma: not Python's 1_000, 1e3, NaN or Infinity.
PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]{1,12}(?:[.,][0-9]{1,12})?")
PLAUSIBLE_YEARS = (2000, 2100)


def row_by_id(session, model, raw_id):
    """The row whose id a URL or a body gave, else NotFound: an id that is no number, or out of range, is as
    unknown as one that names nothing."""
    try:
        object_id = int(raw_id)
    except (TypeError, ValueError, OverflowError):
        raise NotFound() from None
    row = session.get(model, object_id) if 1 <= object_id <= MAX_ID else None
    if row is None:
        raise NotFound()
    return row


MAX_IDS = 1000  # areas or products named in one request


class Reader:
    """Typed access to an input mapping; call `done()` to raise all collected problems at once."""

    def __init__(self, data):
        if not hasattr(data, "get"):
            raise ValidationError({"body": _l("Send a JSON object.")})
        self.data = data
        self.errors = {}

    def _raw(self, name):
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
            return _MISSING
        return value.strip() if isinstance(value, str) else value

    def _fail(self, name, message):
        self.errors.setdefault(name, message)
        return None

    def present(self, name) -> bool:
        return self._raw(name) is not _MISSING

    def text(self, name, required=True, max_length=200, default=""):
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else default
        if not isinstance(value, str):
            return self._fail(name, _l("Must be text."))
        if len(value) > max_length:
            return self._fail(name, _l("At most %(n)s characters.", n=max_length))
        if FORBIDDEN_CHARACTERS.search(value):
            return self._fail(name, _l("Contains characters that are not allowed (control characters)."))
        return value

    def choice(self, name, choices, required=True):
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else None
        if value not in choices:
            return self._fail(name, _l("Choose one of: %(choices)s.", choices=", ".join(choices)))
        return value

    def decimal(self, name, required=True, positive=True, places=4, maximum=10**8, signed=False):
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return self._fail(name, _l("Must be a number."))
        if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
            return self._fail(name, _l("Must be a number."))
        # A plain decimal, an int or a float always converts (a float's "inf" and "nan" too: refused below).
        number = Decimal(value.replace(",", ".") if isinstance(value, str) else str(value))
        if not number.is_finite():
            return self._fail(name, _l("Must be a number."))
        if signed:
            pass
        elif positive and number <= 0:
            return self._fail(name, _l("Must be greater than zero."))
        elif not positive and number < 0:
            return self._fail(name, _l("Must not be negative."))
        if number.as_tuple().exponent < -places:
            return self._fail(name, ngettext("At most %(num)s decimal place.", "At most %(num)s decimal places.",
                                             places))
        if abs(number) >= maximum:
            return self._fail(name, _l("Must be less than %(max)s.", max=maximum))
        return number

    def integer(self, name, required=True, minimum=None, maximum=None):
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else None
        if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (str, int)):
            return self._fail(name, _l("Must be a whole number."))
        if isinstance(value, str):
            if not re.fullmatch(r"-?[0-9]{1,9}", value):
                return self._fail(name, _l("Must be a whole number."))
            value = int(value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return self._fail(name, _l("Must be between %(lo)s and %(hi)s.", lo=minimum, hi=maximum))
        return value

    def date(self, name, required=True):
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else None
        if not isinstance(value, str):
            return self._fail(name, _l("Must be a date, YYYY-MM-DD."))
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return self._fail(name, _l("Must be a date, YYYY-MM-DD."))
        if not PLAUSIBLE_YEARS[0] <= day.year <= PLAUSIBLE_YEARS[1]:
            return self._fail(name, _l("Must be a date between %(lo)s and %(hi)s.", lo=PLAUSIBLE_YEARS[0],
                                       hi=PLAUSIBLE_YEARS[1]))
        return day

    def moment(self, name, zone: str, required=True):
        """(UTC datetime, '+07:00') of something that happened: ISO 8601 with an offset, or local time in the
        service's zone."""
        moment = self._aware(name, zone, required)
        if moment is None:
            return None
        if moment.year < PLAUSIBLE_YEARS[0]:
            return self._fail(name, _l("Must be a date and time, YYYY-MM-DDTHH:MM."))
        if moment > datetime.now(UTC):
            return self._fail(name, _l("Cannot be in the future."))
        return moment.astimezone(UTC), offset_of(moment)

    def instant(self, name, zone: str, required=True) -> datetime | None:
        """An aware datetime, past or future (a bound of a search): a date alone is its local midnight."""
        moment = self._aware(name, zone, required)
        if moment is not None and not PLAUSIBLE_YEARS[0] <= moment.year <= PLAUSIBLE_YEARS[1]:
            return self._fail(name, _l("Must be a date and time between %(lo)s and %(hi)s.", lo=PLAUSIBLE_YEARS[0],
                                       hi=PLAUSIBLE_YEARS[1]))
        return moment

    def _aware(self, name, zone: str, required: bool) -> datetime | None:
        value = self._raw(name)
        if value is _MISSING:
            return self._fail(name, _l("Required.")) if required else None
        if not isinstance(value, str):
            return self._fail(name, _l("Must be a date and time, YYYY-MM-DDTHH:MM."))
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return self._fail(name, _l("Must be a date and time, YYYY-MM-DDTHH:MM."))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(zone))

    def ids(self, name, most: int = MAX_IDS):
        """A list of at most `most` database ids: a longer one is refused before anything is looked up."""
        value = self.data.getlist(name) if hasattr(self.data, "getlist") else self.data.get(name, [])
        if value is None:
            return []
        if isinstance(value, list) and len(value) > most:
            return self._fail(name, _l("At most %(most)s items.", most=most)) or []
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, str)) for v in value):
            return self._fail(name, _l("Must be a list of ids.")) or []
        try:
            ids = sorted({int(v) for v in value if str(v).strip()})
        except ValueError:
            return self._fail(name, _l("Must be a list of ids.")) or []
        if any(not 1 <= i <= MAX_ID for i in ids):
            return self._fail(name, _l("Must be a list of ids.")) or []
        return ids

    def location(self, name):
        """A GeoJSON Point or Polygon, from GeoJSON or from 'lat, lon' / 'lat lon; lat lon; …' text."""
        value = self._raw(name)
        if value is _MISSING:
            return None
        try:
            geometry = _geometry(value)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            return self._fail(name, _l("Give a point as 'latitude, longitude' (e.g. 20.93, 106.68), "
                                      "a polygon as 'lat lon; lat lon; lat lon; …', or GeoJSON."))
        return geometry

    def done(self):
        if self.errors:
            raise ValidationError(self.errors)


def offset_of(moment: datetime) -> str:
    """'+07:00': the UTC offset of an aware datetime, as EPCIS writes it."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def now_moment(zone: str) -> tuple:
    """(UTC now, the zone's offset now): the moment of something recorded as it happens."""
    now = datetime.now(ZoneInfo(zone))
    return now.astimezone(UTC), offset_of(now)


DECIMAL_COMMA = re.compile(r"(?<![\d,])(-?\d{1,3}),(\d+)(?![\d,])")


def _decimal_commas(text: str) -> str:
    """'20,9361; 106,6842' as a Vietnamese phone types it: a comma between digits with no space is a decimal
    point when the numbers are separated by ';' or spaces ('20.93, 106.68' keeps its comma as the separator)."""
    if ";" not in text and not re.search(r"\d,\d+\s+-?\d", text):
        return text
    return DECIMAL_COMMA.sub(r"\1.\2", text)


def _geometry(value):
    if isinstance(value, str) and value.lstrip().startswith("{"):
        value = json.loads(value)
    if isinstance(value, dict):
        kind, coords = value["type"], value["coordinates"]
        if kind == "Point":
            points = [coords]
        elif kind == "Polygon":
            points = coords[0]
        else:
            raise ValueError(kind)
        lon_lats = [(_number(p[0]), _number(p[1])) for p in points]
    elif isinstance(value, str):
        pairs = [p for p in re.split(r"[;\n]", _decimal_commas(value)) if p.strip()]
        lat_lons = [[float(x) for x in re.split(r"[,\s]+", p.strip())] for p in pairs]
        if len(lat_lons) == 2 and all(len(p) == 1 for p in lat_lons):  # '20,9361; 106,6842': one point
            lat_lons = [[lat_lons[0][0], lat_lons[1][0]]]
        if any(len(p) != 2 for p in lat_lons):
            raise ValueError(value)
        lon_lats = [(lon, lat) for lat, lon in lat_lons]
        kind = "Point" if len(lon_lats) == 1 else "Polygon"
    else:
        raise TypeError(value)
    for lon, lat in lon_lats:
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("out of range")
    if kind == "Point":
        if len(lon_lats) != 1:
            raise ValueError("point")
        return {"type": "Point", "coordinates": list(lon_lats[0])}
    if len(lon_lats) < 3:
        raise ValueError("polygon needs three corners")
    ring = [list(p) for p in lon_lats]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise ValueError("polygon needs three corners")
    return {"type": "Polygon", "coordinates": [ring]}


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return float(value)


def map_link(geometry):
    """An OpenStreetMap link centred on a point or polygon, or None."""
    point = centroid(geometry)
    if point is None:
        return None
    lat, lon = point
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=16/{lat:.5f}/{lon:.5f}"


def centroid(geometry):
    """(lat, lon) of a point, or the mean of a polygon's corners: good enough for a map link."""
    if not geometry:
        return None
    if geometry["type"] == "Point":
        lon, lat = geometry["coordinates"]
        return lat, lon
    ring = geometry["coordinates"][0][:-1]
    return sum(p[1] for p in ring) / len(ring), sum(p[0] for p in ring) / len(ring)


def local_day(moment: tuple) -> date:
    """The local date of a (UTC datetime, offset) moment as Reader.moment gives it."""
    return local_datetime(*moment).date()
