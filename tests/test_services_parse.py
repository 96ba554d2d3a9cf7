"""Reading form and JSON input: every problem collected with its exact message before anything is written."""
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from trace.db import session_scope
from trace.models import MAX_ID, Organization
from trace.services.errors import NotFound, ValidationError
from trace.services.parse import (
    Reader,
    centroid,
    local_datetime,
    local_day,
    map_link,
    now_moment,
    offset_of,
    row_by_id,
)
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

ZONE = "Asia/Ho_Chi_Minh"


def read(method, value, *args, **kwargs):
    """(value read, error message or None) for one field."""
    r = Reader({"f": value})
    result = getattr(r, method)("f", *args, **kwargs)
    return result, r.errors.get("f")


def test_a_reader_needs_a_mapping():
    with pytest.raises(ValidationError) as refused:
        Reader(["not", "a", "mapping"])
    assert refused.value.errors == {"body": "Send a JSON object."}


@pytest.mark.parametrize("value, expected", [
    ("  Bắc Hương  ", ("Bắc Hương", None)),
    ("x" * 200, ("x" * 200, None)),
    ("x" * 201, (None, "At most 200 characters.")),
    ("tab\tand\nnewline\r", ("tab\tand\nnewline", None)),
    ("nul\x00", (None, "Contains characters that are not allowed (control characters).")),
    ("bell\x07x", (None, "Contains characters that are not allowed (control characters).")),
    ("del\x7fx", (None, "Contains characters that are not allowed (control characters).")),
    ("\ud800x", (None, "Contains characters that are not allowed (control characters).")),
    (12, (None, "Must be text.")),
    ("   ", (None, "Required.")),
    (None, (None, "Required.")),
])
def test_text(value, expected):
    assert read("text", value) == expected


def test_text_optional_and_its_length():
    assert Reader({}).text("f", required=False) == ""
    assert Reader({}).text("f", required=False, default=None) is None
    assert read("text", "abcd", max_length=3) == (None, "At most 3 characters.")
    assert read("text", "abc", max_length=3) == ("abc", None)
    r = Reader({})
    r.text("f")
    r.text("f", max_length=1)  # the first problem of a field is the one kept
    assert r.errors == {"f": "Required."}


def test_choice():
    assert read("choice", " kg ", ("kg", "con")) == ("kg", None)
    assert read("choice", "lb", ("kg", "con")) == (None, "Choose one of: kg, con.")
    assert read("choice", "", ("kg",)) == (None, "Required.")
    assert Reader({}).choice("f", ("kg",), required=False) is None
    assert Reader({}).present("f") is False
    assert Reader({"f": " x "}).present("f") is True


@pytest.mark.parametrize("value, kwargs, expected", [
    ("18500", {}, (Decimal("18500"), None)),
    ("1,5", {}, (Decimal("1.5"), None)),
    ("+2.25", {}, (Decimal("2.25"), None)),
    (3, {}, (Decimal("3"), None)),
    (0.5, {}, (Decimal("0.5"), None)),
    ("0.0001", {}, (Decimal("0.0001"), None)),
    ("0.00001", {}, (None, "At most 4 decimal places.")),
    ("1.234", {"places": 3}, (Decimal("1.234"), None)),
    ("1.2345", {"places": 3}, (None, "At most 3 decimal places.")),
    ("0", {}, (None, "Must be greater than zero.")),
    ("-1", {}, (None, "Must be greater than zero.")),
    ("0", {"positive": False}, (Decimal("0"), None)),
    ("-0.5", {"positive": False}, (None, "Must not be negative.")),
    ("-0.5", {"signed": True}, (Decimal("-0.5"), None)),
    ("99999999.9999", {}, (Decimal("99999999.9999"), None)),
    ("100000000", {}, (None, "Must be less than 100000000.")),
    ("-100000000", {"signed": True}, (None, "Must be less than 100000000.")),
    ("10", {"maximum": 10}, (None, "Must be less than 10.")),
    ("1e3", {}, (None, "Must be a number.")),
    ("1_000", {}, (None, "Must be a number.")),
    ("NaN", {}, (None, "Must be a number.")),
    ("Infinity", {}, (None, "Must be a number.")),
    (float("inf"), {}, (None, "Must be a number.")),
    (float("nan"), {}, (None, "Must be a number.")),
    (True, {}, (None, "Must be a number.")),
    ([1], {}, (None, "Must be a number.")),
    ("1.2.3", {}, (None, "Must be a number.")),
    ("", {}, (None, "Required.")),
])
def test_decimal(value, kwargs, expected):
    assert read("decimal", value, **kwargs) == expected


def test_decimal_optional():
    assert Reader({}).decimal("f", required=False) is None


@pytest.mark.parametrize("value, kwargs, expected", [
    ("12", {}, (12, None)),
    (" -3 ", {}, (-3, None)),
    (7, {"minimum": 7, "maximum": 7}, (7, None)),
    ("6", {"minimum": 7, "maximum": 9}, (None, "Must be between 7 and 9.")),
    ("10", {"minimum": 7, "maximum": 9}, (None, "Must be between 7 and 9.")),
    ("10", {"minimum": 7}, (10, None)),
    ("1000000000", {}, (None, "Must be a whole number.")),
    ("1.0", {}, (None, "Must be a whole number.")),
    (1.0, {}, (None, "Must be a whole number.")),
    (False, {}, (None, "Must be a whole number.")),
    ("١٢", {}, (None, "Must be a whole number.")),
    ([], {}, (None, "Must be a whole number.")),
    (None, {}, (None, "Required.")),
])
def test_integer(value, kwargs, expected):
    assert read("integer", value, **kwargs) == expected


def test_integer_optional():
    assert Reader({}).integer("f", required=False) is None


@pytest.mark.parametrize("value, expected", [
    ("2026-06-15", (date(2026, 6, 15), None)),
    ("2000-01-01", (date(2000, 1, 1), None)),
    ("2100-12-31", (date(2100, 12, 31), None)),
    ("1999-12-31", (None, "Must be a date between 2000 and 2100.")),
    ("2101-01-01", (None, "Must be a date between 2000 and 2100.")),
    ("15/06/2026", (None, "Must be a date, YYYY-MM-DD.")),
    (20260615, (None, "Must be a date, YYYY-MM-DD.")),
    ("", (None, "Required.")),
])
def test_date(value, expected):
    assert read("date", value) == expected
    assert Reader({}).date("f", required=False) is None


def test_moment_in_the_service_zone_or_with_its_own_offset():
    assert read("moment", "2026-06-15T07:30", ZONE) == ((datetime(2026, 6, 15, 0, 30, tzinfo=UTC), "+07:00"), None)
    assert read("moment", "2026-06-15T07:30:00-05:30", ZONE) == (
        (datetime(2026, 6, 15, 13, 0, tzinfo=UTC), "-05:30"), None)
    assert read("moment", "2026-06-15", ZONE) == ((datetime(2026, 6, 14, 17, 0, tzinfo=UTC), "+07:00"), None)
    assert read("moment", "2000-01-01T00:00+00:00", ZONE)[1] is None
    assert read("moment", "1999-12-31T23:00+00:00", ZONE) == (None, "Must be a date and time, YYYY-MM-DDTHH:MM.")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert read("moment", future, ZONE) == (None, "Cannot be in the future.")
    assert read("moment", "yesterday", ZONE) == (None, "Must be a date and time, YYYY-MM-DDTHH:MM.")
    assert read("moment", 5, ZONE) == (None, "Must be a date and time, YYYY-MM-DDTHH:MM.")
    assert read("moment", "", ZONE) == (None, "Required.")
    assert Reader({}).moment("f", ZONE, required=False) is None


def test_instant_may_be_in_the_future_within_the_plausible_years():
    assert read("instant", "2099-01-01", ZONE) == (datetime(2099, 1, 1, tzinfo=ZoneInfo(ZONE)), None)
    assert read("instant", "2100-12-31T23:59", ZONE)[1] is None
    assert read("instant", "2101-01-01T00:00", ZONE) == (None, "Must be a date and time between 2000 and 2100.")
    assert read("instant", "1999-12-31T23:59+00:00", ZONE) == (None, "Must be a date and time between 2000 and 2100.")
    assert read("instant", "2000-01-01T00:00+00:00", ZONE)[1] is None  # the first plausible year, whole
    assert Reader({}).instant("f", ZONE, required=False) is None


def test_an_instant_is_required_unless_said_otherwise():
    """A search bound that may be left out must say so; a missing one is otherwise refused."""
    r = Reader({})
    assert r.instant("f", ZONE) is None
    assert r.errors == {"f": "Required."}


@pytest.mark.parametrize("data, expected", [
    ({"f": [3, "1", " 2 ", "", 3]}, ([1, 2, 3], None)),
    ({"f": [str(MAX_ID)]}, ([MAX_ID], None)),
    ({"f": None}, ([], None)),
    ({}, ([], None)),
    ({"f": list(range(1, 1002))}, ([], "At most 1000 items.")),
    ({"f": [0]}, ([], "Must be a list of ids.")),
    ({"f": [MAX_ID + 1]}, ([], "Must be a list of ids.")),
    ({"f": ["x"]}, ([], "Must be a list of ids.")),
    ({"f": [True]}, ([], "Must be a list of ids.")),
    ({"f": [1.5]}, ([], "Must be a list of ids.")),
    ({"f": "1"}, ([], "Must be a list of ids.")),
])
def test_ids(data, expected):
    r = Reader(data)
    assert (r.ids("f"), r.errors.get("f")) == expected


def test_ids_from_a_form_and_their_limit():
    assert Reader(MultiDict([("f", "2"), ("f", "1")])).ids("f") == [1, 2]
    r = Reader({"f": [1, 2, 3]})
    assert (r.ids("f", most=2), r.errors) == ([], {"f": "At most 2 items."})
    assert Reader({"f": [1, 2]}).ids("f", most=2) == [1, 2]


@pytest.mark.parametrize("value, geometry", [
    ("20.93, 106.67", {"type": "Point", "coordinates": [106.67, 20.93]}),
    ("20.93 106.67", {"type": "Point", "coordinates": [106.67, 20.93]}),
    ("-90, -180", {"type": "Point", "coordinates": [-180.0, -90.0]}),
    ("90, 180", {"type": "Point", "coordinates": [180.0, 90.0]}),
    ("1 2; 3 4; 5 6", {"type": "Polygon", "coordinates": [[[2.0, 1.0], [4.0, 3.0], [6.0, 5.0], [2.0, 1.0]]]}),
    ("1 2\n3 4\n5 6\n1 2", {"type": "Polygon", "coordinates": [[[2.0, 1.0], [4.0, 3.0], [6.0, 5.0], [2.0, 1.0]]]}),
    ({"type": "Point", "coordinates": [106.67, 20.93]}, {"type": "Point", "coordinates": [106.67, 20.93]}),
    ('{"type": "Point", "coordinates": [106, 20]}', {"type": "Point", "coordinates": [106.0, 20.0]}),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]},
     {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}),
])
def test_location_reads_points_and_polygons_longitude_first(value, geometry):
    assert read("location", value) == (geometry, None)


@pytest.mark.parametrize("value", [
    "91, 0", "0, 181", "-90.1, 0", "0, -180.5", "20.93", "1 2 3", "1 2; 3 4", "1 2; 3 4; 1 2", "abc",
    {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, {"type": "Point"}, {"type": "Point", "coordinates": [1]},
    {"type": "Point", "coordinates": [True, 1]}, {"type": "Point", "coordinates": ["1", 1]}, "{not json", 12,
])
def test_location_refuses_what_is_not_a_place_with_one_message(value):
    assert read("location", value) == (None, "Give a point as 'latitude, longitude' (e.g. 20.93, 106.68), "
                                             "a polygon as 'lat lon; lat lon; lat lon; …', or GeoJSON.")


def test_location_is_optional():
    assert read("location", "  ") == (None, None)


def test_done_raises_every_problem_at_once():
    r = Reader({"a": "", "b": "x"})
    r.text("a")
    r.integer("b")
    r.text("c", required=False)
    with pytest.raises(ValidationError) as refused:
        r.done()
    assert refused.value.errors == {"a": "Required.", "b": "Must be a whole number."}
    Reader({}).done()


@pytest.mark.parametrize("offset, written", [
    (timedelta(hours=7), "+07:00"), (timedelta(0), "+00:00"), (timedelta(hours=-5, minutes=-30), "-05:30"),
    (timedelta(hours=5, minutes=45), "+05:45"), (timedelta(minutes=-30), "-00:30"),
])
def test_offset_of(offset, written):
    assert offset_of(datetime(2026, 1, 1, tzinfo=timezone(offset))) == written


def test_now_moment_is_utc_now_with_the_zones_offset():
    before = datetime.now(UTC)
    moment, offset = now_moment(ZONE)
    assert before <= moment <= datetime.now(UTC)
    assert moment.tzinfo == UTC
    assert offset == "+07:00"


def test_now_is_kept_in_utc_whatever_the_servers_time_zone(monkeypatch):
    """An error declaration stores this moment as it is: the database keeps its wall-clock time, not its zone."""
    import time
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        before = datetime.now(UTC)
        moment, offset = now_moment(ZONE)
        assert (moment.utcoffset(), offset) == (timedelta(0), "+07:00")
        assert before.replace(tzinfo=None) <= moment.replace(tzinfo=None) <= datetime.now(UTC).replace(tzinfo=None)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_local_datetime_and_day_where_it_happened():
    utc = datetime(2026, 6, 14, 18, 30, tzinfo=UTC)
    assert local_datetime(utc, "+07:00") == datetime(2026, 6, 15, 1, 30, tzinfo=timezone(timedelta(hours=7)))
    assert local_datetime(utc.replace(tzinfo=None), "-05:30").isoformat() == "2026-06-14T13:00:00-05:30"
    assert local_day((utc, "+07:00")) == date(2026, 6, 15)
    assert local_day((utc, "+05:29")) == date(2026, 6, 14)
    assert local_day((datetime(2026, 6, 15, 2, 0, tzinfo=UTC), "-03:00")) == date(2026, 6, 14)


def test_centroid_and_map_link():
    assert centroid(None) is None
    assert map_link(None) is None
    assert centroid({"type": "Point", "coordinates": [106.67, 20.93]}) == (20.93, 106.67)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 4], [0, 4], [0, 0]]]}
    assert centroid(square) == (2.0, 1.0)
    assert map_link({"type": "Point", "coordinates": [106.67, 20.93]}) == (
        "https://www.openstreetmap.org/?mlat=20.93000&mlon=106.67000#map=16/20.93000/106.67000")


def test_row_by_id_finds_a_row_or_says_not_found(app):
    with session_scope(app.extensions["trace.engine"]) as session:
        farm = Organization(kind="farm_household", name="Farm")
        session.add(farm)
        session.flush()
        assert row_by_id(session, Organization, str(farm.id)).name == "Farm"
        assert row_by_id(session, Organization, farm.id).id == farm.id
        for unknown in (None, "", "x", "1.5", 0, -1, farm.id + 1, MAX_ID + 1, 10**30, float("inf")):
            with pytest.raises(NotFound):
                row_by_id(session, Organization, unknown)


def test_a_moment_is_kept_in_utc_whatever_the_servers_time_zone(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        (moment, offset), error = read("moment", "2026-06-15T07:30", ZONE)
        assert (moment.utcoffset(), moment, offset, error) == (timedelta(0), datetime(2026, 6, 15, 0, 30, tzinfo=UTC),
                                                               "+07:00", None)
    finally:
        monkeypatch.undo()
        time.tzset()
