"""Event kinds and their EPCIS shapes, details as stored, and the corrected history."""
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from trace.db import get_session
from trace.models import Event
from trace.services.events import STEPS, NewEvent, NewShipment, clean, corrections_of, in_force, new_event, voided

import pytest
from sqlmodel import select


def test_clean_keeps_json_values_turns_the_rest_to_text_and_leaves_empty_ones_out():
    details = {"quantity": Decimal("18500.5"), "count": 3, "variety": "Bắc Hương", "organic": False, "zero": 0,
               "note": "", "missing": None, "day": datetime(2026, 1, 2, 7, 0)}
    assert clean(details) == {"quantity": "18500.5", "count": 3, "variety": "Bắc Hương", "organic": False, "zero": 0,
                              "day": "2026-01-02 07:00:00"}


@pytest.mark.parametrize("step, shape", [
    ("harvest", ("ObjectEvent", "ADD", "https://ref.gs1.org/cbv/BizStep-commissioning",
                 "https://ref.gs1.org/cbv/Disp-active")),
    ("planting", ("ObjectEvent", "OBSERVE", "urn:thuynguyen-trace:bizstep:planting", None)),
    ("transformation", ("TransformationEvent", None, "https://ref.gs1.org/cbv/BizStep-commissioning",
                        "https://ref.gs1.org/cbv/Disp-active")),
    ("unpacking", ("AggregationEvent", "DELETE", "https://ref.gs1.org/cbv/BizStep-unpacking",
                   "https://ref.gs1.org/cbv/Disp-in_progress")),
    ("shipping", ("ObjectEvent", "OBSERVE", "https://ref.gs1.org/cbv/BizStep-shipping",
                  "https://ref.gs1.org/cbv/Disp-in_transit")),
    ("destroying", ("ObjectEvent", "DELETE", "https://ref.gs1.org/cbv/BizStep-destroying",
                    "https://ref.gs1.org/cbv/Disp-destroyed")),
])
def test_new_event_takes_its_epcis_shape_from_the_step(step, shape):
    moment = (datetime(2026, 3, 1, 0, 30, tzinfo=UTC), "+07:00")
    event = new_event(4, step, moment, 9, batch_id=2, site_id=3, details={"a": 1}, parent_id="urn:sscc")
    assert (event.epcis_type, event.action, event.biz_step, event.disposition) == shape == STEPS[step]
    assert (event.organization_id, event.step, event.event_time, event.event_time_zone_offset, event.actor_user_id,
            event.batch_id, event.site_id, event.details, event.parent_id) == (
        4, step, moment[0], "+07:00", 9, 2, 3, {"a": 1}, "urn:sscc")


def test_new_event_without_details_has_empty_ones_and_its_row_has_every_column_but_the_id():
    event = new_event(1, "storing", (datetime(2026, 3, 1, tzinfo=UTC), "+07:00"), None)
    assert event.details == {}
    row = event.row()
    assert "id" not in row
    assert (row["step"], row["organization_id"], row["details"], row["batch_id"]) == ("storing", 1, {}, None)
    assert isinstance(event, NewEvent)


@pytest.fixture(params=["UTC", "Asia/Ho_Chi_Minh", "America/New_York"])
def local_zone(request, monkeypatch):
    """The server's own time zone, which must not change what a naive UTC time means."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_a_shipment_is_known_by_the_same_key_from_memory_and_from_a_database_row(local_zone):
    shipment = NewShipment(1, 2, "delivery_note", "PX-7", created_at=datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=7))))
    assert shipment.row() == {"from_organization_id": 1, "to_organization_id": 2, "reference_type": "delivery_note",
                              "reference": "PX-7", "status": "in_transit", "created_at": shipment.created_at}
    stored = {**shipment.row(), "created_at": datetime(2026, 3, 1, 1, 0)}  # naive UTC, as SQLite gives it back
    assert NewShipment.key_of(shipment.row()) == NewShipment.key_of(stored) == (
        1, 2, "delivery_note", "PX-7", "2026-03-01T01:00:00")


def test_corrections_of_maps_each_voided_event_to_its_declaration_and_in_force_leaves_both_out(demo_app):
    with demo_app.app_context():
        session = get_session()
        first, second, third = session.exec(select(Event).order_by(Event.id).limit(3)).all()
        assert corrections_of(session, []) == {}
        assert corrections_of(session, [first.id, second.id]) == {}
        declaration = Event(organization_id=first.organization_id, step="error_declaration",
                            epcis_type=first.epcis_type, biz_step=first.biz_step, event_time=first.event_time,
                            event_time_zone_offset="+07:00", details={"reason": "typo"}, corrects_event_id=second.id)
        session.add(declaration)
        session.flush()
        assert corrections_of(session, {first.id, second.id, third.id}) == {second.id: declaration}
        ids = [first.id, second.id, third.id, declaration.id]
        assert session.exec(select(Event.id).where(Event.id.in_(ids), in_force()).order_by(Event.id)).all() == [
            first.id, third.id]
        assert session.exec(select(Event.id).where(Event.id.in_(ids), voided()).order_by(Event.id)).all() == [second.id]
