"""Corrections on the demo ward: what declaring an event erroneous gives back, and what stands in its way."""
from decimal import Decimal
from trace.models import Event, EventLot, Holding, Lot, Shipment
from trace.services import corrections
from trace.services.errors import NotFound, ValidationError
from trace.services.ledger import record_one
from trace.services.lots import production_site
from trace.services.movements import record_destroying

import pytest
from sqlmodel import select

ZONE = "Asia/Ho_Chi_Minh"
COOPERATIVE, PROCESSOR, SUPERMARKET = 1, 5, 6  # the demo's organizations, each with user of the same id


def event_of(session, step, code, organization_id):
    return session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id).join(Lot, Lot.id == EventLot.lot_id)
                        .where(Event.step == step, Lot.code == code, Event.organization_id == organization_id)).one()


def held(session, code, organization_id):
    lot = session.exec(select(Lot).where(Lot.code == code)).one()
    row = session.get(Holding, (lot.id, organization_id))
    return row.quantity if row else None


def declare(session, organization_id, event, **data):
    return record_one(session, organization_id, organization_id, ZONE, corrections.declare_error, event.id,
                      {"reason": "entered by mistake", **data})


def refusal(session, organization_id, event, **data):
    with pytest.raises(ValidationError) as refused:
        declare(session, organization_id, event, **data)
    session.rollback()
    return refused.value.errors


def test_a_transformation_declared_erroneous_takes_back_its_output_and_gives_back_its_inputs(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    declaration = declare(session, PROCESSOR, made, reason_code="did_not_occur", corrective_event_id="urn:uuid:1",
                          time="2026-06-14T09:30:00+07:00")
    session.commit()
    assert (held(session, "TK-2611-01", PROCESSOR), held(session, "TOM-A3-2608", PROCESSOR)) == (
        Decimal("0"), Decimal("300"))
    assert (declaration.step, declaration.corrects_event_id, declaration.organization_id, declaration.actor_user_id,
            declaration.epcis_type, declaration.biz_step) == (
        "error_declaration", made.id, PROCESSOR, PROCESSOR, "TransformationEvent", made.biz_step)
    assert declaration.details == {"reason": "entered by mistake", "reason_code": "did_not_occur",
                                   "corrective_event_ids": ["urn:uuid:1"]}
    assert (declaration.event_time.isoformat()[:16], declaration.event_time_zone_offset) == ("2026-06-14T02:30", "+07:00")


def test_a_declaration_at_a_local_time_takes_the_services_zone(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    declaration = declare(session, PROCESSOR, made, time="2026-06-14T09:30")
    assert (declaration.event_time.isoformat()[:16], declaration.event_time_zone_offset) == ("2026-06-14T02:30", "+07:00")


def test_a_corrective_event_id_has_at_most_120_characters(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    assert refusal(session, PROCESSOR, made, corrective_event_id="u" * 121) == {
        "corrective_event_id": "At most 120 characters."}
    assert declare(session, PROCESSOR, made, corrective_event_id="u" * 120).details["corrective_event_ids"] == ["u" * 120]


def test_a_declaration_without_a_time_or_code_is_now_and_incorrect_data(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    declaration = declare(session, PROCESSOR, made)
    assert declaration.details == {"reason": "entered by mistake", "reason_code": "incorrect_data"}
    assert declaration.event_time_zone_offset == "+07:00"
    assert declaration.event_time is not None


def test_a_receipt_declared_erroneous_leaves_the_receiver_and_puts_the_shipment_back_in_transit(session):
    receipt = event_of(session, "receiving", "GAO-BH-2610A", SUPERMARKET)
    shipment_id = receipt.shipment_id
    shipping = session.exec(select(Event).where(Event.step == "shipping", Event.shipment_id == shipment_id)).one()
    assert refusal(session, COOPERATIVE, shipping) == {
        "event": "The shipment was received: its receipt must be declared erroneous first."}
    declaration = declare(session, SUPERMARKET, receipt)
    session.commit()
    copied = ("organization_id", "batch_id", "site_id", "epcis_type", "action", "biz_step", "disposition",
              "shipment_id")
    assert None not in (receipt.action, receipt.disposition, receipt.shipment_id)
    assert [getattr(declaration, name) for name in copied] == [getattr(receipt, name) for name in copied]
    assert held(session, "GAO-BH-2610A", SUPERMARKET) == Decimal("0")
    assert session.get(Shipment, shipment_id).status == "in_transit"
    others = {s.id: s.status for s in session.exec(select(Shipment).where(Shipment.id != shipment_id)).all()}
    assert set(others.values()) == {"received"}  # only this shipment went back in transit
    # The other shipment from the cooperative goes back in transit too, and stays so when this one is cancelled.
    other_receipt = event_of(session, "receiving", "GAO-BH-2610A", 7)
    declare(session, 7, other_receipt)
    session.commit()
    before = held(session, "GAO-BH-2610A", COOPERATIVE)
    declare(session, COOPERATIVE, shipping)
    session.commit()
    assert session.get(Shipment, shipment_id).status == "cancelled"
    assert session.get(Shipment, other_receipt.shipment_id).status == "in_transit"
    assert held(session, "GAO-BH-2610A", COOPERATIVE) == before + Decimal("1000")


def test_a_harvest_whose_lot_was_used_since_cannot_be_undone_and_the_message_names_the_lot(session):
    harvest = event_of(session, "harvest", "THOC-PL-2611", COOPERATIVE)
    assert refusal(session, COOPERATIVE, harvest) == {
        "event": "Lot THOC-PL-2611 has been used, shipped or destroyed since: declare those events erroneous first."}
    receipt = session.exec(select(Event).where(Event.step == "receiving", Event.organization_id == PROCESSOR)).one()
    # Both shrimp lots it received were processed since; the message names the first in lot order, on every database.
    assert refusal(session, PROCESSOR, receipt) == {
        "event": "Lot TOM-A7-2611 has been used, shipped or destroyed since: declare those events erroneous first."}
    assert held(session, "THOC-PL-2611", COOPERATIVE) == Decimal("0")


def test_an_event_that_made_a_labelled_lot_cannot_be_declared_erroneous(session):
    harvest = event_of(session, "harvest", "RMA-2611-01", 2)
    assert refusal(session, 2, harvest) == {
        "event": "Labels were issued for a lot this event made: cancel them or recall the lot instead."}
    assert held(session, "RMA-2611-01", 2) == Decimal("900")


def test_a_transformation_whose_output_is_labelled_and_a_harvest_milled_since_stay(session):
    harvest = event_of(session, "harvest", "THOC-KB-2611", COOPERATIVE)
    transformation = event_of(session, "transformation", "GAO-XAT-2611", COOPERATIVE)
    assert refusal(session, COOPERATIVE, transformation) == {
        "event": "Labels were issued for a lot this event made: cancel them or recall the lot instead."}
    assert refusal(session, COOPERATIVE, harvest)["event"].startswith("Lot THOC-KB-2611 has been used")


def test_only_the_events_owner_may_declare_it_and_only_once(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    with pytest.raises(NotFound):
        declare(session, COOPERATIVE, made)
    declaration = declare(session, PROCESSOR, made)
    session.commit()
    with pytest.raises(NotFound):
        declare(session, PROCESSOR, declaration)
    assert refusal(session, PROCESSOR, made) == {"event": "This event was already declared erroneous."}
    with pytest.raises(NotFound):
        record_one(session, PROCESSOR, PROCESSOR, ZONE, corrections.declare_error, "x", {"reason": "r"})


def test_a_declaration_needs_a_reason_and_a_known_reason_code(session):
    made = event_of(session, "transformation", "TK-2611-01", PROCESSOR)
    assert refusal(session, PROCESSOR, made, reason="") == {"reason": "Required."}
    errors = refusal(session, PROCESSOR, made, reason_code="typo", reason="x" * 501)
    assert errors == {"reason": "At most 500 characters.",
                      "reason_code": "Choose one of: incorrect_data, did_not_occur."}
    assert held(session, "TK-2611-01", PROCESSOR) == Decimal("60")


def test_a_destruction_declared_erroneous_gives_the_stock_back(session):
    greens = session.exec(select(Lot).where(Lot.code == "RMA-2611-01")).one()
    field = production_site(session, greens)
    destroyed = record_one(session, 2, 2, ZONE, record_destroying, greens.id,
                           {"reason": "wilted", "quantity": "100", "time": "2026-06-14T08:00:00+07:00",
                            "site_id": str(field.id)})
    session.commit()
    assert held(session, "RMA-2611-01", 2) == Decimal("800")
    declaration = declare(session, 2, session.get(Event, destroyed.id))
    session.commit()
    assert (declaration.batch_id, declaration.site_id) == (greens.batch_id, field.id)
    assert greens.batch_id is not None
    assert held(session, "RMA-2611-01", 2) == Decimal("900")
