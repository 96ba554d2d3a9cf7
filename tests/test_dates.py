"""Local days: trace/clock.local_day, and a lot's packing day and best-before date counted from the day it was
packed where it was packed (Asia/Ho_Chi_Minh, seven hours ahead of the UTC kept in the database)."""
import re
from datetime import UTC, date, datetime, timedelta, timezone
from trace.clock import local_day, today
from trace.db import get_session
from trace.models import Lot, Product, Site
from trace.services import lots

import pytest
from flask import Flask
from sqlmodel import select

from .conftest import definitions, login, post_form

LATE_UTC = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # 06:30 on the 28th in Hải Phòng


@pytest.mark.parametrize("moment,offset,day", [
    (LATE_UTC, "+07:00", date(2026, 11, 28)),
    (LATE_UTC.replace(tzinfo=None), "+07:00", date(2026, 11, 28)),  # stored times are naive UTC
    (datetime(2026, 11, 27, 16, 59, tzinfo=UTC), "+07:00", date(2026, 11, 27)),  # 23:59 local
    (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), "+07:00", date(2026, 11, 28)),  # midnight local
    (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), "-05:00", date(2026, 11, 27)),
    (datetime(2026, 11, 27, 18, 20, tzinfo=UTC), "+05:45", date(2026, 11, 28)),  # 00:05 in Kathmandu
    (datetime(2026, 11, 27, 23, 30, tzinfo=timezone(timedelta(hours=7))), "+00:00", date(2026, 11, 27)),
])
def test_local_day_of_a_moment_at_its_offset(moment, offset, day):
    assert local_day(moment, offset) == day


@pytest.mark.parametrize("zone,day", [("Asia/Ho_Chi_Minh", date(2026, 11, 28)), ("UTC", date(2026, 11, 27)),
                                      ("America/Los_Angeles", date(2026, 11, 27)), ("Pacific/Kiritimati",
                                                                                    date(2026, 11, 28))])
def test_without_an_offset_the_services_zone_decides(zone, day, monkeypatch):
    app = Flask("zones")
    app.config["TRACE_TIMEZONE"] = zone
    with app.app_context():
        assert local_day(LATE_UTC) == day
    monkeypatch.setenv("TRACE_TIMEZONE", zone)  # a script with no application: the environment's zone
    assert local_day(LATE_UTC) == day


@pytest.fixture
def producer(demo_client):
    demo_client.set_cookie("lang", "en")
    login(demo_client, "htx.lua@demo.vn")
    return demo_client


def local(days_ago: int, clock: str) -> str:
    return f"{(today() - timedelta(days=days_ago)).isoformat()}T{clock}"


def test_best_before_counts_from_the_local_day_a_lot_was_packed_at_0630(producer, demo_app):
    """Harvested at 05:45 and packed at 06:30 in Hải Phòng, both still the day before in UTC: the lot's day,
    its packing day and its best-before date are the local days, through the producer's own forms."""
    r = post_form(producer, "/producer/products", {"name_vi": "Rau má Thủy Nguyên", "unit": "kg",
                                                   "shelf_life_days": "10"})
    product_id = int(re.search(r"/producer/products/(\d+)", r.headers["Location"]).group(1))
    with demo_app.app_context():
        site_id = get_session().exec(select(Site.id).where(Site.name == "Cánh đồng Phả Lễ")).one()
    r = post_form(producer, "/producer/batches", {"site_id": site_id, "product_id": product_id, "code": "RM-01",
                                                  "time": local(30, "07:00")})
    assert r.status_code == 302, r.get_data(as_text=True)
    batch_path = r.headers["Location"]
    r = post_form(producer, batch_path, {"form": "harvest", "lot_code": "RM-2612", "quantity": "300", "unit": "kg",
                                         "time": local(5, "05:45")})
    assert r.status_code == 302, r.get_data(as_text=True)
    lot_path = r.headers["Location"]
    harvested = today() - timedelta(days=5)
    assert definitions(producer.get(lot_path).get_data(as_text=True))["Best before"] == \
        (harvested + timedelta(days=10)).strftime("%d/%m/%Y")  # not packed yet: from the harvest
    r = post_form(producer, lot_path, {"form": "packing", "package_count": "60", "package_size": "5",
                                       "package_unit": "kg", "time": local(2, "06:30")})
    assert r.status_code == 302, r.get_data(as_text=True)
    packed = today() - timedelta(days=2)
    assert definitions(producer.get(lot_path).get_data(as_text=True))["Best before"] == \
        (packed + timedelta(days=10)).strftime("%d/%m/%Y")
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == "RM-2612")).one()
        assert lot.produced_on == harvested
        assert lots.packing_date(session, lot) == packed
        assert lots.best_before(session, lot, session.get(Product, product_id)) == packed + timedelta(days=10)
