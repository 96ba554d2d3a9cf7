"""A trace as the ward and the API read it: every event, shipment, receiver and link under its JSON key."""
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from trace.models import Event
from trace.services import lineage

from sqlmodel import select

from .conftest import lot_named

RICE_COOP = "HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên"
SUPERMARKET = "Siêu thị Nông sản sạch Thủy Nguyên"
TOURIST_OUTLET = "Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh"
RICE = {"gtin": "08936045000014", "lot": "GAO-BH-2610A"}


def _local(event: Event) -> str:
    """The demo ward records its events at +07:00."""
    return event.event_time.astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m-%dT%H:%M+07:00")


def test_a_forward_trace_names_each_event_its_shipment_and_what_each_receiver_got(session):
    rice = lot_named(session, "GAO-BH-2610A")
    result = lineage.trace_json(lineage.trace(session, rice, "forward"))
    events = {event.id: event for event in session.exec(select(Event)).all()}
    assert (result["direction"], result["links"]) == ("forward", [])
    assert result["root"] == result["lots"][0] == {
        **RICE, "product": "Gạo Bắc Hương Thủy Nguyên", "owner": RICE_COOP, "owner_id": rice.organization_id,
        "site": "Cánh đồng mẫu lớn Phục Lễ", "quantity": "18500", "unit": "kg", "depth": 0,
        "produced_on": rice.produced_on.isoformat(), "kind": "harvest"}
    assert [entry["step"] for entry in result["events"]] == [
        "planting", "input_application", "input_application", "harvest", "packing",
        "packing", "shipping", "receiving", "packing", "shipping", "receiving"]  # in the order they happened
    shipping = result["events"][6]
    event = events[shipping["id"]]
    assert shipping == {
        "eventID": event.hash_id, "id": event.id, "step": "shipping", "type": "ObjectEvent",
        "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping", "time": _local(event), "organization": RICE_COOP,
        "site": None, "lots": [{**RICE, "role": "observed", "quantity": "1000", "unit": "kg"}], "details": {},
        "reference": {"type": "desadv", "number": "PXK-2611-015", "from": RICE_COOP, "to": SUPERMARKET}}
    assert event.hash_id.startswith("ni:///sha-256;")
    harvest = result["events"][3]
    assert (harvest["site"], harvest["lots"], "reference" in harvest) == (
        "Cánh đồng mẫu lớn Phục Lễ", [{**RICE, "role": "output", "quantity": "18500", "unit": "kg"}], False)
    received = {entry["reference"]["number"]: _local(events[entry["id"]])
                for entry in result["events"] if entry["step"] == "receiving"}
    assert result["organizations"] == [
        {"id": rice.organization_id, "name": RICE_COOP, "kind": "cooperative",
         "address": "Tổ dân phố Phục Lễ, phường Thủy Nguyên, TP. Hải Phòng", "roles": ["owner", "recorded events"],
         "received": []},
        {"id": result["organizations"][1]["id"], "name": SUPERMARKET, "kind": "retailer",
         "address": "Đường Đà Nẵng, phường Thủy Nguyên, TP. Hải Phòng", "roles": ["receiver", "recorded events"],
         "received": [{**RICE, "product": "Gạo Bắc Hương Thủy Nguyên", "shipped": "1000", "quantity": "1000",
                       "unit": "kg", "status": "received", "time": received["PXK-2611-015"],
                       "reference": {"type": "desadv", "number": "PXK-2611-015"}}]},
        {"id": result["organizations"][2]["id"], "name": TOURIST_OUTLET, "kind": "tourist_outlet",
         "address": "Khu du lịch Tràng Kênh, phường Thủy Nguyên, TP. Hải Phòng", "roles": ["receiver", "recorded events"],
         "received": [{**RICE, "product": "Gạo Bắc Hương Thủy Nguyên", "shipped": "300", "quantity": "295",
                       "unit": "kg", "status": "received", "time": received["PXK-2611-016"],
                       "reference": {"type": "desadv", "number": "PXK-2611-016"}}]}]


def test_a_back_trace_links_each_lot_it_was_made_from_with_what_went_in_and_came_out(session):
    frozen = lot_named(session, "TND-2611-01")
    result = lineage.trace_json(lineage.trace(session, frozen, "back"))
    shrimp = {"gtin": "08936048000011"}
    made = {"gtin": "08936049000027", "lot": "TND-2611-01"}
    assert result["links"] == [
        {"from": {**shrimp, "lot": "TOM-A7-2611"}, "to": made, "consumed": "1200", "unit": "kg", "produced": "980"},
        {"from": {**shrimp, "lot": "TOM-A3-2608"}, "to": made, "consumed": "500", "unit": "kg", "produced": "980"}]
    assert [(entry["lot"], entry["depth"], entry["kind"], entry["site"]) for entry in result["lots"]] == [
        ("TND-2611-01", 0, "processed", "Xưởng chế biến Minh Đức"),
        ("TOM-A3-2608", 1, "harvest", "Ao nuôi số 3 (bán thâm canh)"),
        ("TOM-A7-2611", 1, "harvest", "Ao lót bạt số 7 (thâm canh công nghệ cao)")]


def _relay(session):
    """The supermarket passes 100 kg of the rice it received on to the tourist outlet, which takes it in."""
    from trace.services import movements
    from trace.services.ledger import record_one

    from .test_services_safety import _user
    market, outlet = _user(session, "sieuthi@demo.vn"), _user(session, "dulich@demo.vn")
    rice = lot_named(session, "GAO-BH-2610A")
    moment = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="minutes")
    shipped = record_one(session, market.organization_id, market.id, "Asia/Ho_Chi_Minh", movements.record_shipping, {
        "to_organization_id": outlet.organization_id, "reference": "PXK-RELAY", "time": moment,
        "lines": [{"lot_id": rice.id, "quantity": "100"}]})
    record_one(session, outlet.organization_id, outlet.id, "Asia/Ho_Chi_Minh", movements.record_receiving,
               shipped.shipment_id, {"time": moment})
    return rice, market.organization_id, outlet.organization_id


def _references(result) -> tuple:
    json = lineage.trace_json(result)
    return (sorted({entry["reference"]["number"] for entry in json["events"] if "reference" in entry}),
            sorted(received["reference"]["number"] for entry in json["organizations"] for received in entry["received"]))


def test_a_shop_further_down_the_way_sees_each_hand_the_lot_passed_through_and_a_shop_on_the_way_what_went_on(session):
    rice, market, outlet = _relay(session)
    everything = ["PXK-2611-015", "PXK-2611-016", "PXK-RELAY"]  # to the market, to the outlet, market to outlet
    assert _references(lineage.trace(session, rice, "forward")) == (everything, everything)
    # The outlet got the rice from the cooperative and through the market: the way through the market is its own.
    assert _references(lineage.trace(session, rice, "forward", outlet)) == (everything, everything)
    assert _references(lineage.trace(session, rice, "back", outlet)) == (everything, [])
    # The market sees its purchase and what it passed on, not the cooperative's own sale to the outlet.
    assert _references(lineage.trace(session, rice, "forward", market)) == (
        ["PXK-2611-015", "PXK-RELAY"], ["PXK-2611-015", "PXK-RELAY"])
    assert _references(lineage.trace(session, rice, "back", market)) == (["PXK-2611-015"], [])


def test_a_processed_lot_traced_forward_starts_with_the_transformation_that_made_it(session):
    frozen = lot_named(session, "TND-2611-01")
    result = lineage.trace_json(lineage.trace(session, frozen, "forward"))
    made = next(entry for entry in result["events"] if entry["step"] == "transformation")
    assert [(line["lot"], line["role"]) for line in made["lots"]] == [
        ("TOM-A3-2608", "input"), ("TOM-A7-2611", "input"), ("TND-2611-01", "output")]
    assert result["events"][0] is made


def test_an_event_declared_erroneous_is_set_apart_from_the_chain(session):
    from .test_services_epcis import _declare
    rice = lot_named(session, "GAO-BH-2610A")
    spraying = session.exec(select(Event).where(Event.batch_id == rice.batch_id, Event.step == "input_application")
                            .order_by(Event.event_time)).first()
    _declare(session, spraying, {"reason": "Ghi nhầm lô ruộng"})
    result = lineage.trace(session, rice, "back")
    assert [event.id for event in result.withdrawn] == [spraying.id]
    assert spraying.id not in [event.id for event, *_ in result.events]
    assert len([event for event, *_ in result.events if event.step == "input_application"]) == 1  # the other stays


def test_a_lot_made_at_no_site_is_drawn_without_one(session):
    from trace.services import movements
    from trace.services.ledger import record_one

    from .test_services_safety import _user
    worker = _user(session, "chebien@demo.vn")
    record_one(session, worker.organization_id, worker.id, "Asia/Ho_Chi_Minh", movements.record_transformation, {
        "time": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "process": "other",
        "inputs": [{"gtin": "08936049000027", "lot": "TND-2611-01", "quantity": "10"}],
        "outputs": [{"gtin": "08936049000027", "lot": "TND-NOSITE", "quantity": "8"}]})
    made = lot_named(session, "TND-NOSITE")
    assert lineage.trace_tree(lineage.trace(session, made, "back"))[0] == (
        f"Tôm thẻ nõn đông lạnh Minh Đức [08936049000027 / TND-NOSITE] 8 kg, {made.produced_on.isoformat()} – "
        "Công ty CP Chế biến Thực phẩm Minh Đức")


def test_a_lots_shipments_come_in_the_order_they_left_not_the_order_they_were_recorded(session):
    from trace.services import movements
    from trace.services.ledger import record_one

    from .test_services_safety import _user
    farmer, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    rice = lot_named(session, "GAO-BH-2610A")
    now = datetime.now(UTC)
    for reference, hours_ago in (("PXK-LATER", 2), ("PXK-EARLIER", 5)):  # the earlier delivery recorded last
        record_one(session, farmer.organization_id, farmer.id, "Asia/Ho_Chi_Minh", movements.record_shipping, {
            "to_organization_id": market.organization_id, "reference": reference,
            "time": (now - timedelta(hours=hours_ago)).isoformat(timespec="minutes"),
            "lines": [{"lot_id": rice.id, "quantity": "10"}]})
    references = [shipment.reference for shipment, *_ in lineage.shipments_of(session, {rice.id})]
    assert references == ["PXK-2611-015", "PXK-2611-016", "PXK-EARLIER", "PXK-LATER"]


def test_goods_on_their_way_are_listed_in_transit_with_no_time_or_quantity_received(session):
    from trace.services import movements
    from trace.services.ledger import record_one

    from .test_services_safety import _user
    farmer, outlet = _user(session, "htx.lua@demo.vn"), _user(session, "dulich@demo.vn")
    rice = lot_named(session, "GAO-BH-2610A")
    record_one(session, farmer.organization_id, farmer.id, "Asia/Ho_Chi_Minh", movements.record_shipping, {
        "to_organization_id": outlet.organization_id, "reference": "PXK-ON-THE-WAY",
        "time": (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="minutes"),
        "lines": [{"lot_id": rice.id, "quantity": "40"}]})
    result = lineage.trace_json(lineage.trace(session, rice, "forward"))
    (outlet_entry,) = [entry for entry in result["organizations"] if entry["id"] == outlet.organization_id]
    assert outlet_entry["received"][-1] == {
        **RICE, "product": "Gạo Bắc Hương Thủy Nguyên", "shipped": "40", "quantity": None, "unit": "kg",
        "status": "in_transit", "time": None, "reference": {"type": "desadv", "number": "PXK-ON-THE-WAY"}}


def _made_from_itself(session):
    """Bad data written straight into the database: the frozen shrimp recorded as an input of the transformation
    that made it."""
    from trace.models import EventLot
    frozen = lot_named(session, "TND-2611-01")
    made = session.exec(select(EventLot).where(EventLot.lot_id == frozen.id, EventLot.role == "output")).one()
    session.add(EventLot(event_id=made.event_id, lot_id=frozen.id, role="input", quantity=1, unit="kg"))
    session.flush()
    return frozen


def test_a_lot_met_again_on_its_own_path_is_marked_and_the_lots_beside_it_are_still_drawn(session):
    """A cycle in bad data must neither loop nor hide the rest of the chain."""
    frozen = _made_from_itself(session)
    a3, a7 = lot_named(session, "TOM-A3-2608"), lot_named(session, "TOM-A7-2611")
    result = lineage.trace(session, frozen, "back")
    made = (f"Tôm thẻ nõn đông lạnh Minh Đức [08936049000027 / TND-2611-01] 980 kg, {frozen.produced_on.isoformat()} – "
            "Công ty CP Chế biến Thực phẩm Minh Đức @ Xưởng chế biến Minh Đức")
    shrimp = "Tôm thẻ chân trắng Bạch Đằng [08936048000011 / {}] {} kg, {} – Công ty TNHH Thủy sản nước lợ Bạch Đằng @ {}"
    assert lineage.trace_tree(result) == [
        made,
        f"└─ (used, 1 kg) {made} … already on this path",
        "└─ (used, 500 kg) " + shrimp.format("TOM-A3-2608", "7800", a3.produced_on.isoformat(), "Ao nuôi số 3 (bán thâm canh)"),
        "└─ (used, 1200 kg) " + shrimp.format("TOM-A7-2611", "5400", a7.produced_on.isoformat(),
                                              "Ao lót bạt số 7 (thâm canh công nghệ cao)")]
    root = lineage.tree(result)
    assert (root.item.lot.code, root.repeated) == ("TND-2611-01", False)
    assert [(node.item.lot.code, node.repeated, node.amount, node.children) for node in root.children] == [
        ("TND-2611-01", True, Decimal("1.000"), []), ("TOM-A3-2608", False, Decimal("500.000"), []),
        ("TOM-A7-2611", False, Decimal("1200.000"), [])]


def test_a_drawn_harvest_lot_carries_the_inputs_applied_to_its_batch_and_its_shipments(session):
    rice = lot_named(session, "GAO-BH-2610A")
    applied = session.exec(select(Event.id).where(Event.batch_id == rice.batch_id, Event.step == "input_application")
                           .order_by(Event.event_time)).all()
    root = lineage.tree(lineage.trace(session, rice, "forward"))
    assert len(applied) == 2 and [event.id for event in root.applications] == applied
    assert [(shipment.reference, received.step, line.quantity, received_line.quantity)
            for shipment, received, line, received_line in root.shipments] == [
        ("PXK-2611-015", "receiving", Decimal("1000.000"), Decimal("1000.000")),
        ("PXK-2611-016", "receiving", Decimal("300.000"), Decimal("295.000"))]


def _record(session, email, function, *args):
    from trace.services.ledger import record_one

    from .test_services_safety import _user
    user = _user(session, email)
    return record_one(session, user.organization_id, user.id, "Asia/Ho_Chi_Minh", function, *args)


def _an_hour_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="minutes")


def _pass_on(session, sender: str, receiver: str, reference: str, lot_code: str = "GAO-BH-2610A", quantity="50"):
    """The sender ships some of a lot it holds to the receiver, which takes it in."""
    from trace.services import movements

    from .test_services_safety import _user
    shipped = _record(session, sender, movements.record_shipping, {
        "to_organization_id": _user(session, receiver).organization_id, "reference": reference,
        "time": _an_hour_ago(), "lines": [{"lot_id": lot_named(session, lot_code).id, "quantity": quantity}]})
    _record(session, receiver, movements.record_receiving, shipped.shipment_id, {"time": _an_hour_ago()})


def _viewer(session, email) -> int:
    from .test_services_safety import _user
    return _user(session, email).organization_id


def test_a_lot_passed_on_a_second_time_is_followed_to_its_last_hand_but_not_shown_to_a_shop_off_that_way(session):
    """The outlet got its rice from the cooperative, not from the market: the market has no part in what went
    there and on from there."""
    _pass_on(session, "dulich@demo.vn", "chebien@demo.vn", "PXK-ONWARD")
    rice = lot_named(session, "GAO-BH-2610A")
    everything = ["PXK-2611-015", "PXK-2611-016", "PXK-ONWARD"]
    assert _references(lineage.trace(session, rice, "forward")) == (everything, everything)
    market = _viewer(session, "sieuthi@demo.vn")
    assert _references(lineage.trace(session, rice, "forward", market)) == (["PXK-2611-015"], ["PXK-2611-015"])
    assert _references(lineage.trace(session, rice, "back", market)) == (["PXK-2611-015"], [])


def test_the_last_hand_of_a_lot_sees_every_hand_it_passed_through_on_its_way(session):
    """Cooperative to market, market to outlet (besides the cooperative's own sale to it), outlet to processor."""
    rice, _market, _outlet = _relay(session)
    _pass_on(session, "dulich@demo.vn", "chebien@demo.vn", "PXK-ONWARD")
    everything = ["PXK-2611-015", "PXK-2611-016", "PXK-ONWARD", "PXK-RELAY"]
    processor = _viewer(session, "chebien@demo.vn")
    assert _references(lineage.trace(session, rice, "back", processor)) == (everything, [])
    assert _references(lineage.trace(session, rice, "forward", processor)) == (everything, everything)


def _regraded(session):
    """The cooperative grades 100 kg of its rice into a lot of its own."""
    from trace.services import movements
    _record(session, "htx.lua@demo.vn", movements.record_transformation, {
        "time": _an_hour_ago(), "process": "grading",
        "inputs": [{"gtin": RICE["gtin"], "lot": RICE["lot"], "quantity": "100"}],
        "outputs": [{"gtin": RICE["gtin"], "lot": "GAO-BH-LOAI1", "quantity": "95"}]})
    return lot_named(session, "GAO-BH-LOAI1")


def test_a_shops_forward_trace_leaves_out_what_the_maker_made_of_the_rest_of_the_lot(session):
    """The cooperative's own grading of rice it kept is not on the way the market's rice went."""
    graded = _regraded(session)
    rice = lot_named(session, "GAO-BH-2610A")
    everyone = lineage.trace(session, rice, "forward")
    assert [item.lot.code for item in everyone.lots] == ["GAO-BH-2610A", "GAO-BH-LOAI1"]
    assert [event.step for event, *_ in everyone.events].count("transformation") == 1
    market = lineage.trace(session, rice, "forward", _viewer(session, "sieuthi@demo.vn"))
    assert ([item.lot.code for item in market.lots], market.links) == (["GAO-BH-2610A"], [])
    assert "transformation" not in [event.step for event, *_ in market.events]
    assert graded.id not in market.lot_ids


def test_a_forward_trace_follows_what_was_made_of_what_was_made_whoever_made_it(session):
    """The processor never held the cooperative's rice, only the graded rice made of it: its shrimp cakes made
    of that still come from the rice."""
    from trace.models import Product
    from trace.services import movements
    graded = _regraded(session)
    _pass_on(session, "htx.lua@demo.vn", "chebien@demo.vn", "PXK-GRADED", graded.code, "40")
    cake = session.exec(select(Product).where(Product.name_vi == "Chả tôm Minh Đức")).one()
    _record(session, "chebien@demo.vn", movements.record_transformation, {
        "time": _an_hour_ago(), "process": "cooking",
        "inputs": [{"gtin": RICE["gtin"], "lot": graded.code, "quantity": "40"}],
        "outputs": [{"product_id": cake.id, "lot": "CHA-2612-01", "quantity": "200"}]})
    result = lineage.trace(session, lot_named(session, "GAO-BH-2610A"), "forward")
    assert [(item.lot.code, item.depth) for item in result.lots] == [
        ("GAO-BH-2610A", 0), ("GAO-BH-LOAI1", 1), ("CHA-2612-01", 2)]
    assert [(link.consumed, link.produced) for link in result.links] == [
        (Decimal("100.000"), Decimal("95.000")), (Decimal("40.000"), Decimal("200.000"))]


def test_the_owner_of_a_lot_whose_making_was_declared_erroneous_still_has_a_part_in_its_trace(session):
    """The trace pages and the API show a chain only to its parties: the owner must still see the withdrawn
    event that made its lot, though no event of the chain is left in force."""
    from .test_services_epcis import _declare
    graded = _regraded(session)
    from trace.models import EventLot
    making = session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id)
                          .where(EventLot.lot_id == graded.id, EventLot.role == "output")).one()
    _declare(session, making, {"reason": "Ghi nhầm"})
    result = lineage.trace(session, graded, "back", graded.organization_id)
    assert ([event.id for event in result.withdrawn], result.events) == ([making.id], [])
    assert result.parties() == {graded.organization_id}


def test_a_traces_events_come_in_the_order_they_happened_not_the_order_they_were_recorded(session):
    """A delivery entered late, after a later one, still shows before it in the chain."""
    from trace.services import movements
    market = _viewer(session, "sieuthi@demo.vn")
    now = datetime.now(UTC)
    for reference, hours_ago in (("PXK-LATER", 2), ("PXK-EARLIER", 5)):  # the earlier delivery recorded last
        _record(session, "htx.lua@demo.vn", movements.record_shipping, {
            "to_organization_id": market, "reference": reference,
            "time": (now - timedelta(hours=hours_ago)).isoformat(timespec="minutes"),
            "lines": [{"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "10"}]})
    result = lineage.trace(session, lot_named(session, "GAO-BH-2610A"), "forward")
    assert [shipment.reference for event, _site, _lines, shipment in result.events if event.step == "shipping"] == [
        "PXK-2611-015", "PXK-2611-016", "PXK-EARLIER", "PXK-LATER"]


def test_the_declaration_that_an_event_was_erroneous_is_not_itself_an_event_of_the_chain(session):
    """The declaration belongs to the batch of the event it withdraws, but it is a correction of the record,
    not something done to the rice."""
    from .test_services_epcis import _declare
    rice = lot_named(session, "GAO-BH-2610A")
    spraying = session.exec(select(Event).where(Event.batch_id == rice.batch_id, Event.step == "input_application")
                            .order_by(Event.event_time)).first()
    _declare(session, spraying, {"reason": "Ghi nhầm lô ruộng"})
    result = lineage.trace(session, rice, "forward")
    assert [event.step for event, *_ in result.events] == [
        "planting", "input_application", "harvest", "packing",
        "packing", "shipping", "receiving", "packing", "shipping", "receiving"]
    assert [event.id for event in result.withdrawn] == [spraying.id]


def test_shipments_that_left_the_same_minute_come_in_the_order_they_were_recorded(session):
    """Two lots on two delivery notes at the same minute: the order does not depend on which lot is which."""
    from trace.services import movements
    graded = _regraded(session)
    market, when = _viewer(session, "sieuthi@demo.vn"), _an_hour_ago()
    for reference, lot in (("PXK-GRADED", graded), ("PXK-PLAIN", lot_named(session, "GAO-BH-2610A"))):
        _record(session, "htx.lua@demo.vn", movements.record_shipping, {
            "to_organization_id": market, "reference": reference, "time": when,
            "lines": [{"lot_id": lot.id, "quantity": "10"}]})
    shipments = lineage.shipments_of(session, {graded.id, lot_named(session, "GAO-BH-2610A").id})
    assert [(shipment.reference, lot_.code) for shipment, _received, _line, lot_, *_ in shipments][-2:] == [
        ("PXK-GRADED", "GAO-BH-LOAI1"), ("PXK-PLAIN", "GAO-BH-2610A")]


def test_a_shipment_whose_receipt_was_declared_erroneous_is_listed_as_not_received(session):
    from .test_services_epcis import _declare
    rice = lot_named(session, "GAO-BH-2610A")
    (shipment_id,) = [shipment.id for shipment, *_ in lineage.shipments_of(session, {rice.id})
                      if shipment.reference == "PXK-2611-015"]
    receipt = session.exec(select(Event).where(Event.shipment_id == shipment_id, Event.step == "receiving")).one()
    _declare(session, receipt, {"reason": "Nhận nhầm"})
    assert [(shipment.reference, shipment.status, received and received.step, received_line and received_line.quantity)
            for shipment, received, _line, _lot, _product, received_line in lineage.shipments_of(session, {rice.id})] == [
        ("PXK-2611-015", "in_transit", None, None), ("PXK-2611-016", "received", "receiving", Decimal("295.000"))]
