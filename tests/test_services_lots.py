"""Finding lots, and the facts a label and a scan show about them, on the demo ward."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from trace.models import Batch, Event, EventLot, Holding, Lot, Product
from trace.services import lots
from trace.services.errors import NotFound, ValidationError

import pytest
from sqlmodel import select

from .conftest import lot_named as lot

RICE = "08936045000014"  # Gạo Bắc Hương: lot GAO-BH-2610A (the cooperative's, packed three times) and GAO-XAT-2611
PADDY = "08936045000021"


def test_find_lot_by_gtin_and_code_and_only_within_an_organization_when_given(session):
    found = lots.find_lot(session, RICE, "GAO-BH-2610A")
    assert (found.code, found.organization_id) == ("GAO-BH-2610A", 1)
    assert lots.find_lot(session, RICE, "GAO-BH-2610A", organization_id=1).id == found.id
    assert lots.find_lot(session, RICE, "GAO-BH-2610A", organization_id=6) is None
    assert lots.find_lot(session, PADDY, "GAO-BH-2610A") is None
    assert lots.find_lot(session, RICE, "gao-bh-2610a") is None


def test_find_lot_named_by_a_label_url_or_by_gtin_and_code(session):
    by_url = lots.find_lot_named(session, f"https://x.test/01/{RICE}/10/GAO-BH-2610A/21/7?8030=AAAA")
    assert by_url.code == "GAO-BH-2610A"
    assert lots.find_lot_named(session, " 8936045000014 ", "GAO-XAT-2611").code == "GAO-XAT-2611"
    assert lots.find_lot_named(session, f"https://x.test/01/{RICE}/10/GAO-XAT-2611").code == "GAO-XAT-2611"


def test_find_lot_named_says_what_is_wrong_with_what_was_given(session):
    with pytest.raises(ValidationError) as refused:
        lots.find_lot_named(session, "GAO-BH-2610A")
    assert refused.value.errors == {"lot": "Give GTIN and lot code, or a label URL (not an http(s) URL with a host)."}
    with pytest.raises(ValidationError) as refused:
        lots.find_lot_named(session, f"https://x.test/01/{RICE}")
    assert refused.value.errors == {"lot": "The URL names no lot (10)."}
    with pytest.raises(ValidationError) as refused:
        lots.find_lot_named(session, "8936045000015", "GAO-BH-2610A")
    assert refused.value.errors == {"gtin": "The GTIN check digit is wrong: it should be 4."}
    with pytest.raises(NotFound) as missing:
        lots.find_lot_named(session, RICE, "NO-SUCH")
    assert str(missing.value) == f"No lot 'NO-SUCH' of GTIN {RICE}."


def test_list_lots_newest_first_with_their_products_and_by_organization(session):
    everything = lots.list_lots(session)
    assert len(everything) == session.exec(select(Lot)).all().__len__()
    keys = [(lot.produced_on, lot.id) for lot, _product in everything]
    assert keys == sorted(keys, reverse=True)
    assert all(product.id == lot.product_id for lot, product in everything)
    mine = lots.list_lots(session, organization_id=1)
    assert [lot.code for lot, _ in mine] == ["GAO-XAT-2611", "THOC-KB-2611", "THOC-PA-2611", "THOC-PL-2611",
                                             "GAO-BH-2610A"]


def test_held_lots_and_quantity_held_count_only_what_is_held(session):
    held = lots.held_lots(session, 1)  # the cooperative milled all its paddy: those lots are held at zero
    assert [(lot.code, product.gtin, str(quantity)) for lot, product, quantity in held] == [
        ("GAO-XAT-2611", RICE, "14300.000"), ("GAO-BH-2610A", RICE, "17200.000")]
    rice = lot(session, "GAO-BH-2610A")
    assert str(lots.quantity_held(session, rice.id, 6)) == "1000.000"
    assert str(lots.quantity_held(session, lot(session, "THOC-PL-2611").id, 1)) == "0.000"
    assert lots.quantity_held(session, rice.id, 8) is None


def test_lot_events_are_its_batch_and_its_own_in_time_order_without_corrected_ones(session):
    rice = lot(session, "GAO-BH-2610A")
    steps = [event.step for event, _site in lots.lot_events(session, rice)]
    assert steps == ["planting", "input_application", "input_application", "harvest", "packing", "packing",
                     "shipping", "receiving", "packing", "shipping", "receiving"]
    pairs = lots.lot_events(session, rice)
    assert [(e.event_time, e.id) for e, _ in pairs] == sorted((e.event_time, e.id) for e, _ in pairs)
    assert pairs[0][1].id == pairs[0][0].site_id  # each event with its site
    milled = lot(session, "TK-2611-01")  # made by processing, no batch of its own
    assert [event.step for event, _ in lots.lot_events(session, milled)] == ["transformation"]


def test_packing_date_is_the_first_packing_in_force_and_shelf_life_counts_from_it(session):
    rice = lot(session, "GAO-BH-2610A")
    product = session.get(Product, rice.product_id)
    packed = lots.packing_date(session, rice)
    assert packed - rice.produced_on == timedelta(days=10)
    assert lots.best_before(session, rice, product) == packed + timedelta(days=365)
    unpacked = lot(session, "RMA-2611-01")  # harvested, never packed: from harvest
    assert lots.packing_date(session, unpacked) is None
    assert lots.best_before(session, unpacked, session.get(Product, unpacked.product_id)) == (
        unpacked.produced_on + timedelta(days=3))
    product.shelf_life_days = None
    assert lots.best_before(session, rice, product) is None
    product.shelf_life_days = 0
    assert lots.best_before(session, rice, product) is None


def test_a_packing_declared_erroneous_no_longer_sets_the_packing_date(session):
    rice = lot(session, "GAO-BH-2610A")
    first = min((event for event, _ in lots.lot_events(session, rice) if event.step == "packing"),
                key=lambda event: event.event_time)
    second = lots.packing_date(session, rice)
    session.add(Event(organization_id=first.organization_id, step="error_declaration", epcis_type=first.epcis_type,
                      biz_step=first.biz_step, event_time=first.event_time, event_time_zone_offset="+07:00",
                      details={"reason": "wrong day"}, corrects_event_id=first.id))
    session.flush()
    later = lots.packing_date(session, rice)
    assert later > second


def test_production_site_and_producer(session):
    rice = lot(session, "GAO-BH-2610A")
    site = lots.production_site(session, rice)
    assert site.organization_id == 1
    harvest = next(event for event, _ in lots.lot_events(session, rice) if event.step == "harvest")
    assert site.id == harvest.site_id
    assert lots.production_site(session, lot(session, "TK-2611-01")) is None
    assert lots.producer(session, rice).name == "HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên"


def test_lots_are_listed_newest_produced_first_then_newest_entered(session):
    """Two lots entered after the demo: one produced long ago, one on the day GAO-BH-2610A was."""
    rice = lot(session, "GAO-BH-2610A")
    old = Lot(organization_id=1, product_id=rice.product_id, code="OLD-1", quantity=Decimal(5), unit="kg",
              produced_on=date(2020, 1, 1))
    twin = Lot(organization_id=1, product_id=rice.product_id, code="TWIN-1", quantity=Decimal(5), unit="kg",
               produced_on=rice.produced_on)
    session.add_all([old, twin])
    session.flush()
    session.add_all([Holding(lot_id=old.id, organization_id=1, quantity=Decimal(5)),
                     Holding(lot_id=twin.id, organization_id=1, quantity=Decimal("0.5"))])
    session.flush()
    assert [lot.code for lot, _ in lots.list_lots(session, organization_id=1)] == [
        "GAO-XAT-2611", "THOC-KB-2611", "THOC-PA-2611", "THOC-PL-2611", "TWIN-1", "GAO-BH-2610A", "OLD-1"]
    assert [lot.code for lot, _product, _quantity in lots.held_lots(session, 1)] == [
        "GAO-XAT-2611", "TWIN-1", "GAO-BH-2610A", "OLD-1"]


def test_the_corrected_history_leaves_out_voided_events_and_the_owners_view_keeps_them(session):
    rice = lot(session, "GAO-BH-2610A")
    before = [event.id for event, _ in lots.lot_events(session, rice)]
    harvest = next(event for event, _ in lots.lot_events(session, rice) if event.step == "harvest")
    declaration = Event(organization_id=harvest.organization_id, step="error_declaration",
                        epcis_type=harvest.epcis_type, biz_step=harvest.biz_step, event_time=harvest.event_time,
                        event_time_zone_offset="+07:00", details={"reason": "typo"}, corrects_event_id=harvest.id,
                        batch_id=harvest.batch_id)
    session.add(declaration)
    session.flush()
    assert [event.id for event, _ in lots.lot_events(session, rice)] == [i for i in before if i != harvest.id]
    assert [event.id for event, _ in lots.lot_events(session, rice, with_corrected=True)] == before


def test_events_are_in_time_order_then_in_the_order_entered(session):
    """An input entered late, dated before everything, comes first; one dated with the planting comes after it."""
    rice = lot(session, "GAO-BH-2610A")
    planting = lots.lot_events(session, rice)[0][0]
    common = dict(organization_id=1, step="input_application", epcis_type="ObjectEvent", action="OBSERVE",
                  biz_step="urn:thuynguyen-trace:bizstep:input_application", event_time_zone_offset="+07:00",
                  batch_id=rice.batch_id, details={})
    earliest = Event(event_time=planting.event_time - timedelta(days=1), **common)
    same_time = Event(event_time=planting.event_time, **common)
    session.add_all([same_time, earliest])
    session.flush()
    assert [event.id for event, _ in lots.lot_events(session, rice)][:3] == [earliest.id, planting.id, same_time.id]


def test_the_packing_day_is_local_to_where_it_was_packed_and_the_first_packing_counts(session):
    greens = lot(session, "RMA-2611-01")  # never packed in the demo
    common = dict(organization_id=2, step="packing", epcis_type="AggregationEvent", action="ADD",
                  biz_step="https://ref.gs1.org/cbv/BizStep-packing", details={"package_count": 10})
    later = Event(event_time=datetime(2026, 6, 20, 3, 0, tzinfo=UTC), event_time_zone_offset="+07:00", **common)
    first = Event(event_time=datetime(2026, 6, 14, 3, 0, tzinfo=UTC), event_time_zone_offset="-05:00", **common)
    session.add_all([later, first])
    session.flush()
    session.add_all([EventLot(event_id=later.id, lot_id=greens.id, role="observed", quantity=Decimal(1), unit="kg"),
                     EventLot(event_id=first.id, lot_id=greens.id, role="observed", quantity=Decimal(1), unit="kg")])
    session.flush()
    assert lots.packing_date(session, greens) == date(2026, 6, 13)  # 03:00 UTC is the evening before at -05:00


def test_a_batchs_lots_are_the_ones_its_harvests_made_first_harvest_first(session):
    """The batch page lists its pickings' lots, and no other batch's."""
    custard_apples = session.exec(select(Batch).where(Batch.code == "NA-MUA-2026")).one()
    assert [item.code for item in lots.lots_of_batch(session, custard_apples.id)] == ["NA-2611-01", "NA-2611-02"]
    rice = lot(session, "GAO-BH-2610A")
    assert [item.code for item in lots.lots_of_batch(session, rice.batch_id)] == ["GAO-BH-2610A"]
    unharvested = Batch(organization_id=rice.organization_id, site_id=session.get(Batch, rice.batch_id).site_id,
                        product_id=rice.product_id, code="LUA-VU-DONG-2026", started_on=date(2026, 12, 1))
    session.add(unharvested)
    session.flush()
    assert lots.lots_of_batch(session, unharvested.id) == []
