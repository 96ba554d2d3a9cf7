"""Every rule of recording (trace/services/recording.py, ledger.py, movements.py) refuses with its exact message
and writes nothing: each case runs the service as a request would, then commits, and every row of every table must
be as it was. Conflicts found only when writing (another request took the code meanwhile) are the same clear
refusal, and leave the caller's earlier work in its transaction."""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from trace.clock import today
from trace.db import get_session
from trace.models import Batch, Certificate, Event, Lot, Product, Shipment, Site, User
from trace.services import movements, recording
from trace.services.errors import ValidationError
from trace.services.ledger import Ledger, record_one
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from .conftest import field_errors, login, post_form, table_rows
from .test_api import token_for

ZONE = "Asia/Ho_Chi_Minh"
RICE, SHRIMP, PROCESSOR, MARKET = "htx.lua@demo.vn", "thuysan@demo.vn", "chebien@demo.vn", "sieuthi@demo.vn"


def dmy(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def at(days_ago: int, hour: int = 9) -> str:
    """Local time in the service's zone, days before today, as a form sends it."""
    return f"{(today() - timedelta(days=days_ago)).isoformat()}T{hour:02d}:00"


@dataclass
class Ward:
    """Ids of the demo ward's rows the cases use."""
    users: dict  # e-mail -> (organization id, user id)
    lots: dict  # code -> Lot
    batches: dict  # code -> Batch
    sites: dict  # name -> id
    products: dict  # name -> id

    def record(self, session, email, function, *args):
        organization_id, user_id = self.users[email]
        return record_one(session, organization_id, user_id, ZONE, function, *args)

    def org(self, email) -> int:
        return self.users[email][0]


@pytest.fixture
def ward(demo_app) -> Ward:
    with demo_app.app_context():
        session = get_session()
        return Ward(users={u.email: (u.organization_id, u.id) for u in session.exec(select(User))},
                    lots={lot.code: lot for lot in session.exec(select(Lot))},
                    batches={batch.code: batch for batch in session.exec(select(Batch))},
                    sites={site.name: site.id for site in session.exec(select(Site))},
                    products={product.name_vi: product.id for product in session.exec(select(Product))})


def refusal(app, call) -> dict:
    """The errors `call(session)` refuses with. The session is committed after the refusal, as a careless caller
    would: nothing may have been written even so."""
    before = table_rows(app)
    with app.app_context():
        session = get_session()
        with pytest.raises(ValidationError) as refused:
            call(session)
        session.commit()
    assert table_rows(app) == before
    return refused.value.errors


# --- areas, products, certificates, batches (recording.py) ---

CASES = {
    "duplicate GTIN": (
        lambda w, s: recording.create_product(s, w.org(RICE), {"name_vi": "Gạo mới", "unit": "kg",
                                                                "gtin": "8936048000011"}),
        lambda w: {"gtin": "This GTIN is already registered."}),
    "OCOP rating ending before it is issued": (
        lambda w, s: recording.add_ocop_rating(s, w.org(RICE), w.products["Gạo Bắc Hương Thủy Nguyên"], {
            "stars": "4", "decision_number": "1/QĐ", "issued_on": "2026-03-01", "valid_until": "2026-03-01",
            "issuing_level": "city"}),
        lambda w: {"valid_until": "Must be after the date of issue."}),
    "certificate ending before it starts": (
        lambda w, s: recording.create_certificate(s, w.org(RICE), {
            "scheme": "organic", "certifier": "Vinacert", "number": "HC-1", "valid_from": "2026-06-01",
            "valid_to": "2026-05-31", "site_ids": [w.sites["Cánh đồng mẫu lớn Phục Lễ"]]}),
        lambda w: {"valid_to": "Must not be before the start of validity."}),
    "certificate registered twice": (
        lambda w, s: recording.create_certificate(s, w.org(RICE), {
            "scheme": "vietgap", "certifier": "Trung tâm Chứng nhận phù hợp (QUACERT)", "number": "VietGAP-TT-24-08-0231",
            "valid_from": "2026-01-01", "valid_to": "2026-12-31", "site_ids": [w.sites["Cánh đồng Phả Lễ"]]}),
        lambda w: {"number": "This certificate is already registered."}),
    "certificate scope with another organization's product": (
        lambda w, s: recording.create_certificate(s, w.org(RICE), {
            "scheme": "organic", "certifier": "Vinacert", "number": "HC-2", "valid_from": "2026-01-01",
            "valid_to": "2026-12-31", "product_ids": [w.products["Tôm thẻ chân trắng Bạch Đằng"]]}),
        lambda w: {"scope": "The scope names an area or product that is not yours."}),
    "batch on a site that grows nothing": (
        lambda w, s: w.record(s, RICE, recording.start_batch, {
            "site_id": w.sites["Xưởng xay xát HTX Phục Lễ"], "product_id": w.products["Thóc Bắc Hương tươi"],
            "code": "XAY-1", "time": at(3)}),
        lambda w: {"site_id": "Choose a production area (field, orchard, pond…)."}),
    "batch code used twice": (
        lambda w, s: w.record(s, RICE, recording.start_batch, {
            "site_id": w.sites["Cánh đồng Phả Lễ"], "product_id": w.products["Thóc Bắc Hương tươi"],
            "code": "LUA-VU-MUA-2026", "time": at(3)}),
        lambda w: {"code": "You already have a batch with this code."}),
    "batch of another organization's product": (
        lambda w, s: w.record(s, RICE, recording.start_batch, {
            "site_id": w.sites["Cánh đồng Phả Lễ"], "product_id": w.products["Na dai Lưu Kiếm"], "code": "NA-1",
            "time": at(3)}),
        lambda w: {"product_id": "No such item in your organization."}),
    "fertiliser before the batch started": (
        lambda w, s: w.record(s, RICE, recording.record_input, w.batches["LUA-VU-MUA-2026"].id, {
            "category": "fertiliser", "input_name": "Phân NPK", "dose": "25", "dose_unit": "kg/sào",
            "time": at(151)}),
        lambda w: {"time": f"Before the batch started ({dmy(w.batches['LUA-VU-MUA-2026'].started_on)})."}),
    "pesticide before the batch started": (
        lambda w, s: w.record(s, RICE, recording.record_input, w.batches["LUA-VU-MUA-2026"].id, {
            "category": "pesticide", "input_name": "Validamycin", "dose": "1", "dose_unit": "l/ha",
            "withholding_days": "14", "time": at(200)}),
        lambda w: {"time": f"Before the batch started ({dmy(w.batches['LUA-VU-MUA-2026'].started_on)})."}),
    "pesticide without a withholding period": (
        lambda w, s: w.record(s, RICE, recording.record_input, w.batches["LUA-VU-MUA-2026"].id, {
            "category": "pesticide", "input_name": "Validamycin", "dose": "1", "dose_unit": "l/ha", "time": at(3)}),
        lambda w: {"withholding_days": "Required."}),
    "veterinary drug with a year-long withdrawal period": (
        lambda w, s: w.record(s, SHRIMP, recording.record_input, w.batches["AO7-V2-2026"].id, {
            "category": "veterinary_drug", "input_name": "Oxytetracycline", "dose": "4", "dose_unit": "g/kg",
            "withholding_days": "366", "time": at(3)}),
        lambda w: {"withholding_days": "Must be between 0 and 365."}),
    "harvest before the batch started": (
        lambda w, s: w.record(s, RICE, recording.record_harvest, w.batches["LUA-VU-MUA-2026"].id, {
            "lot_code": "SOM-1", "quantity": "10", "unit": "kg", "time": at(151, 23)}),
        lambda w: {"time": f"Before the batch started ({dmy(w.batches['LUA-VU-MUA-2026'].started_on)})."}),
    "harvest under a lot code the product has": (
        lambda w, s: w.record(s, RICE, recording.record_harvest, w.batches["LUA-VU-MUA-2026"].id, {
            "lot_code": "GAO-BH-2610A", "quantity": "10", "unit": "kg", "time": at(3)}),
        lambda w: {"lot_code": "This product already has a lot with this code."}),
    "harvest quantity finer than a gram": (
        lambda w, s: w.record(s, RICE, recording.record_harvest, w.batches["LUA-VU-MUA-2026"].id, {
            "lot_code": "GAO-NEW", "quantity": "10.0005", "unit": "kg", "time": at(3)}),
        lambda w: {"quantity": "At most 3 decimal places."}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recording_rules_refuse_with_their_message_and_write_nothing(demo_app, ward, case):
    call, expected = CASES[case]
    assert refusal(demo_app, lambda session: call(ward, session)) == expected(ward)


# --- lots after harvest (movements.py, through the ledger) ---

def shipping(w, email, lines, to=MARKET):
    return lambda s: w.record(s, email, movements.record_shipping, {
        "to_organization_id": w.org(to), "reference": "PXK-TEST", "time": at(0, 0), "lines": lines})


MOVEMENT_CASES = {
    "a site of another organization": (
        lambda w: lambda s: w.record(s, RICE, movements.record_storing, {
            "lot_id": w.lots["GAO-BH-2610A"].id, "site_id": w.sites["Xưởng chế biến Minh Đức"], "time": at(1)}),
        lambda w: {"site_id": "No such item in your organization."}),
    "no lot of that GTIN and code": (
        lambda w: shipping(w, RICE, [{"gtin": "08936045000014", "lot": "NO-SUCH-LOT", "quantity": "1"}]),
        lambda w: {"lines.0.lot": "No such lot (GTIN and lot code)."}),
    "no lines": (
        lambda w: shipping(w, RICE, []),
        lambda w: {"lines": "Add at least one line."}),
    "lines that are not a list": (
        lambda w: shipping(w, RICE, "GAO-BH-2610A"),
        lambda w: {"lines": "Must be a list of lines."}),
    "more than 100 lines": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["GAO-BH-2610A"].id, "quantity": "1"}] * 101),
        lambda w: {"lines": "At most 100 lines."}),
    "a GTIN longer than 20 characters": (
        lambda w: shipping(w, RICE, [{"gtin": "0" * 7 + "08936045000014", "lot": "GAO-BH-2610A", "quantity": "1"}]),
        lambda w: {"lines.0.gtin": "At most 20 characters."}),
    "a GTIN with a wrong check digit": (
        lambda w: shipping(w, RICE, [{"gtin": "08936045000015", "lot": "GAO-BH-2610A", "quantity": "1"}]),
        lambda w: {"lines.0.lot": "No such lot (GTIN and lot code)."}),
    "a lot id that is not a number": (
        lambda w: shipping(w, RICE, [{"lot_id": "GAO-BH-2610A", "quantity": "1"}]),
        lambda w: {"lines.0.lot_id": "Must be a whole number."}),
    "a conversion factor finer than a millionth": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["GAO-BH-2610A"].id, "quantity": "1", "unit": "túi",
                                      "factor": "2.5000001"}]),
        lambda w: {"lines.0.factor": "At most 6 decimal places.",
                   "lines.0.unit": "The lot is counted in kg, not túi: give the quantity in kg, or a conversion factor "
                                   "(how many kg in one túi)."}),
    "a lot the shipper holds none of": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["TOM-A7-2611"].id, "quantity": "1"}]),
        lambda w: {"lines.0.lot": "You hold none of lot TOM-A7-2611."}),
    "shipping to oneself": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["GAO-BH-2610A"].id, "quantity": "1"}], to=RICE),
        lambda w: {"to_organization_id": "Choose another organization to ship to."}),
    "a quantity finer than a gram": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["GAO-BH-2610A"].id, "quantity": "0.0001"}]),
        lambda w: {"lines.0.quantity": "At most 3 decimal places."}),
    "a factor that makes a quantity finer than a gram": (
        lambda w: shipping(w, RICE, [{"lot_id": w.lots["GAO-BH-2610A"].id, "quantity": "1", "unit": "túi",
                                      "factor": "0.3333"}]),
        lambda w: {"lines.0.unit": "1 túi is 0.3333 kg: more than three decimals."}),
    "consuming a lot before it was made": (
        lambda w: lambda s: w.record(s, PROCESSOR, movements.record_transformation, {
            "process": "drying", "time": at(5, 6),
            "inputs": [{"lot_id": w.lots["TND-2611-01"].id, "quantity": "1"}],
            "outputs": [{"product_id": w.products["Tôm khô Minh Đức"], "lot": "TK-NEW", "quantity": "1"}]}),
        lambda w: {"time": f"Before lot TND-2611-01 was made ({dmy(w.lots['TND-2611-01'].produced_on)})."}),
    "an output of another organization's product": (
        lambda w: lambda s: w.record(s, PROCESSOR, movements.record_transformation, {
            "process": "drying", "time": at(1),
            "inputs": [{"lot_id": w.lots["TND-2611-01"].id, "quantity": "1"}],
            "outputs": [{"product_id": w.products["Tôm thẻ chân trắng Bạch Đằng"], "lot": "TK-NEW", "quantity": "1"}]}),
        lambda w: {"outputs.0.product_id": "Choose one of your products."}),
    "an output under a lot code the product has": (
        lambda w: lambda s: w.record(s, PROCESSOR, movements.record_transformation, {
            "process": "drying", "time": at(1),
            "inputs": [{"lot_id": w.lots["TND-2611-01"].id, "quantity": "1"}],
            "outputs": [{"product_id": w.products["Tôm khô Minh Đức"], "lot": "TK-2611-01", "quantity": "1"}]}),
        lambda w: {"outputs.0.lot": "This product already has a lot with this code."}),
    "the same output listed twice": (
        lambda w: lambda s: w.record(s, PROCESSOR, movements.record_transformation, {
            "process": "drying", "time": at(1),
            "inputs": [{"lot_id": w.lots["TND-2611-01"].id, "quantity": "1"}],
            "outputs": [{"product_id": w.products["Tôm khô Minh Đức"], "lot": "TK-NEW", "quantity": "1"},
                        {"product_id": w.products["Tôm khô Minh Đức"], "lot": "TK-NEW", "quantity": "2"}]}),
        lambda w: {"outputs.1.lot": "This lot is listed twice."}),
    "an output lot code longer than 20 characters": (
        lambda w: lambda s: w.record(s, PROCESSOR, movements.record_transformation, {
            "process": "drying", "time": at(1),
            "inputs": [{"lot_id": w.lots["TND-2611-01"].id, "quantity": "1"}],
            "outputs": [{"product_id": w.products["Tôm khô Minh Đức"], "lot": "TK" * 20 + "1", "quantity": "1"}]}),
        lambda w: {"outputs.0.lot": "At most 20 characters (this has 41)."}),
    "packing a quantity that is not a number": (
        lambda w: lambda s: w.record(s, RICE, movements.record_packing, w.lots["GAO-BH-2610A"].id, {
            "package_count": "10", "quantity": "mười", "time": at(1)}),
        lambda w: {"quantity": "Must be a number."}),
    "an SSCC longer than 40 characters": (
        lambda w: lambda s: w.record(s, RICE, movements.record_unpacking, {
            "sscc": "089360450000000014" * 2 + "00000", "time": at(1)}),
        lambda w: {"sscc": "At most 40 characters."}),
    "packing before the harvest": (
        lambda w: lambda s: w.record(s, RICE, movements.record_packing, w.lots["GAO-BH-2610A"].id, {
            "package_count": "10", "time": at(41)}),
        lambda w: {"time": f"Before the harvest ({dmy(w.lots['GAO-BH-2610A'].produced_on)})."}),
    "an SSCC that is not 18 digits": (
        lambda w: lambda s: w.record(s, RICE, movements.record_packing, w.lots["GAO-BH-2610A"].id, {
            "package_count": "10", "quantity": "10", "sscc": "08936045000001", "time": at(1)}),
        lambda w: {"sscc": "An SSCC has 18 digits."}),
    "packing more than is held": (
        lambda w: lambda s: w.record(s, RICE, movements.record_packing, w.lots["GAO-BH-2610A"].id, {
            "package_count": "10", "quantity": "1000000", "time": at(1)}),
        lambda w: {"quantity": "Only 17200 kg of lot GAO-BH-2610A is left; you cannot pack 1000000."}),
    "unpacking before the container was packed": (
        lambda w: lambda s: w.record(s, RICE, movements.record_unpacking, {
            "sscc": "089360450000000014", "time": at(10)}),
        lambda w: {"time": "Before the container was packed."}),
    "cooling before the harvest": (
        lambda w: lambda s: w.record(s, SHRIMP, movements.record_storing, {
            "lot_id": w.lots["TOM-A7-2611"].id, "site_id": w.sites["Ao lót bạt số 7 (thâm canh công nghệ cao)"],
            "temperature_c": "2", "time": at(7)}),
        lambda w: {"time": f"Before the harvest ({dmy(w.lots['TOM-A7-2611'].produced_on)})."}),
    "a temperature finer than a tenth of a degree": (
        lambda w: lambda s: w.record(s, SHRIMP, movements.record_storing, {
            "lot_id": w.lots["TOM-A7-2611"].id, "site_id": w.sites["Ao lót bạt số 7 (thâm canh công nghệ cao)"],
            "temperature_c": "2.25", "time": at(1)}),
        lambda w: {"temperature_c": "At most 1 decimal place."}),
    "destroying more than is held": (
        lambda w: lambda s: w.record(s, SHRIMP, movements.record_destroying, w.lots["TOM-A3-2608"].id, {
            "reason": "Hỏng", "quantity": "7000.5", "time": at(1)}),
        lambda w: {"quantity": "Only 7000 kg of lot TOM-A3-2608 is left; you cannot destroy 7000.5."}),
    "destroying part of a lot one holds none of": (
        lambda w: lambda s: w.record(s, RICE, movements.record_destroying, w.lots["TOM-A7-2611"].id, {
            "reason": "Hỏng", "quantity": "5", "time": at(1)}),
        lambda w: {"lot": "You hold none of lot TOM-A7-2611."}),
}


@pytest.mark.parametrize("case", list(MOVEMENT_CASES))
def test_movement_rules_refuse_with_their_message_and_write_nothing(demo_app, ward, case):
    call, expected = MOVEMENT_CASES[case]
    assert refusal(demo_app, call(ward)) == expected(ward)


@pytest.fixture
def in_transit(demo_app, ward):
    """100 kg of rice on its way to the supermarket, shipped two hours ago: (shipment id, local shipping time)."""
    shipped = (datetime.now(ZoneInfo(ZONE)) - timedelta(hours=2)).replace(second=0, microsecond=0)
    with demo_app.app_context():
        session = get_session()
        event = ward.record(session, RICE, movements.record_shipping, {
            "to_organization_id": ward.org(MARKET), "reference": "PXK-2612-001",
            "time": shipped.isoformat(timespec="minutes"),
            "lines": [{"lot_id": ward.lots["GAO-BH-2610A"].id, "quantity": "100"}]})
        session.commit()
        return event.shipment.id, shipped


def minutes(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


@pytest.mark.parametrize("data,expected", [
    (lambda shipped: {"time": minutes(shipped - timedelta(minutes=1))},
     lambda shipped: {"time": f"Before the goods were shipped ({shipped:%d/%m/%Y %H:%M})."}),
    (lambda shipped: {"lines": "all of it"}, lambda shipped: {"lines": "Must be a list of lines."}),
    (lambda shipped: {"lines": [{"gtin": "08936048000011", "lot": "TOM-A7-2611", "quantity": "1"}]},
     lambda shipped: {"lines.0.lot": "This lot is not in the shipment."}),
    (lambda shipped: {"lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "100.5"}]},
     lambda shipped: {"lines.0.quantity": "More than was shipped (100 kg)."}),
], ids=["before shipping", "lines not a list", "a lot not shipped", "more than shipped"])
def test_receiving_rules_refuse_with_their_message_and_write_nothing(demo_app, ward, in_transit, data, expected):
    shipment_id, shipped = in_transit
    form = {"time": minutes(shipped + timedelta(hours=1)), **data(shipped)}
    assert refusal(demo_app, lambda s: ward.record(s, MARKET, movements.record_receiving, shipment_id, form)) == \
        expected(shipped)


def test_the_same_event_twice_in_one_document_is_refused(demo_app, ward):
    storing = {"lot_id": ward.lots["TOM-A7-2611"].id, "site_id": ward.sites["Ao lót bạt số 7 (thâm canh công nghệ cao)"],
               "temperature_c": "2", "time": at(1)}

    def twice(session):
        ledger = Ledger(session, ward.org(SHRIMP), ward.users[SHRIMP][1], ZONE)
        movements.record_storing(ledger, storing)
        movements.record_storing(ledger, dict(storing))
        ledger.flush()

    assert refusal(demo_app, twice) == {"event": "The same event is given twice."}


def test_a_form_sent_twice_records_its_event_once(demo_app, ward):
    """A double submit: the second, identical event is the one already recorded."""
    storing = {"lot_id": ward.lots["TOM-A7-2611"].id, "site_id": ward.sites["Ao lót bạt số 7 (thâm canh công nghệ cao)"],
               "temperature_c": "2", "time": at(1)}
    with demo_app.app_context():
        session = get_session()
        ward.record(session, SHRIMP, movements.record_storing, storing)
        session.commit()
    assert refusal(demo_app, lambda s: ward.record(s, SHRIMP, movements.record_storing, dict(storing))) == {
        "event": "This event is already recorded."}


# --- conflicts found when writing ---

def rows_named(app, model, **where) -> list:
    with app.app_context():
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return get_session().exec(query).all()


def test_a_harvest_whose_lot_code_was_taken_meanwhile_leaves_the_callers_earlier_work(demo_app, ward):
    """Two harvests written together (as an EPCIS document writes them) whose second lot code another recording in
    the same transaction took first: neither harvest is written, and what the caller did before stays."""
    batch = ward.batches["THOC-PA-V2"].id
    harvest = {"quantity": "100", "unit": "kg"}
    before = len(rows_named(demo_app, Event))
    with demo_app.app_context():
        session = get_session()
        earlier = recording.create_site(session, ward.org(RICE), {"name": "Ruộng Kiền Bái 2", "kind": "rice_field",
                                                                   "crop": "Lúa", "area_ha": "1.5"})
        document = Ledger(session, ward.org(RICE), ward.users[RICE][1], ZONE)
        recording.record_harvest(document, batch, {"lot_code": "THOC-PA-2612A", "time": at(1, 6), **harvest})
        recording.record_harvest(document, batch, {"lot_code": "THOC-PA-2612B", "time": at(1, 7), **harvest})
        ward.record(session, RICE, recording.record_harvest, batch, {"lot_code": "THOC-PA-2612B", "time": at(1, 8),
                                                                     **harvest})
        with pytest.raises(ValidationError) as refused:
            document.flush()
        assert refused.value.errors == {"lot_code": "This product already has a lot with this code."}
        session.commit()
        earlier_id = earlier.id
    assert [site.name for site in rows_named(demo_app, Site, id=earlier_id)] == ["Ruộng Kiền Bái 2"]
    assert rows_named(demo_app, Lot, code="THOC-PA-2612A") == []
    (taken,) = rows_named(demo_app, Lot, code="THOC-PA-2612B")
    assert str(taken.quantity) == "100.000"
    assert len(rows_named(demo_app, Event)) == before + 1


def test_stock_taken_meanwhile_refuses_the_whole_recording(demo_app, ward):
    """Two shipments of the same 17,200 kg in one transaction: the second to be written finds the stock gone, and
    nothing of it is left (its event, its shipment), while the first stays."""
    lot = ward.lots["GAO-BH-2610A"].id
    ship = {"to_organization_id": ward.org(MARKET), "time": at(0, 0), "lines": [{"lot_id": lot, "quantity": "17200"}]}
    with demo_app.app_context():
        session = get_session()
        late = Ledger(session, ward.org(RICE), ward.users[RICE][1], ZONE)
        movements.record_shipping(late, {**ship, "reference": "PXK-LATE"})
        ward.record(session, RICE, movements.record_shipping, {**ship, "reference": "PXK-FIRST"})
        with pytest.raises(ValidationError) as refused:
            late.flush()
        assert refused.value.errors == {"quantity": "The stock of a lot changed while this was being saved, and is no "
                                                    "longer enough. Nothing was saved; try again."}
        session.commit()
    assert [s.reference for s in rows_named(demo_app, Shipment, status="in_transit")] == ["PXK-FIRST"]


def test_what_was_written_through_a_savepoint_is_undone_when_the_caller_rolls_back(demo_app, ward):
    """A registration or recording that is its transaction's first write is still part of that transaction: the
    caller's rollback undoes it (on SQLite the savepoint must not open, and so commit, a transaction of its own)."""
    before = table_rows(demo_app)
    with demo_app.app_context():
        session = get_session()
        recording.create_product(session, ward.org(RICE), {"name_vi": "Gạo lứt", "unit": "kg"})
        session.rollback()
        ward.record(session, RICE, recording.record_harvest, ward.batches["THOC-PA-V2"].id, {
            "lot_code": "THOC-PA-2612C", "quantity": "100", "unit": "kg", "time": at(1, 6)})
        session.rollback()
    assert table_rows(demo_app) == before


def another_request_registers(app, row_of):
    """A listener that, just before the session writes, commits a competing row from another connection: another
    request that passed the same check at the same moment."""
    def register(session, _context, _instances):
        with Session(app.extensions["trace.engine"]) as other:
            other.add(row_of(other))
            other.commit()
    return register


RACES = {
    "product": (
        lambda w: lambda other: Product(organization_id=w.org(RICE), gtin="08936045000991", name_vi="Gạo nếp",
                                        unit="kg"),  # another member of the cooperative, at the same moment
        lambda w, s: recording.create_product(s, w.org(RICE), {"name_vi": "Gạo lứt", "unit": "kg",
                                                                "gtin": "8936045000991"}),
        {"gtin": "This GTIN is already registered."}),
    "certificate": (
        lambda w: lambda other: Certificate(organization_id=w.org(SHRIMP), scheme="organic", certifier="Vinacert",
                                            number="HC-9", valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31)),
        lambda w, s: recording.create_certificate(s, w.org(RICE), {
            "scheme": "organic", "certifier": "Vinacert", "number": "HC-9", "valid_from": "2026-01-01",
            "valid_to": "2026-12-31", "site_ids": [w.sites["Cánh đồng Phả Lễ"]]}),
        {"number": "This certificate is already registered."}),
    "batch": (
        lambda w: lambda other: Batch(organization_id=w.org(RICE), site_id=w.sites["Cánh đồng Phả Lễ"],
                                      product_id=w.products["Thóc Bắc Hương tươi"], code="PA-V3",
                                      started_on=today()),
        lambda w, s: w.record(s, RICE, recording.start_batch, {
            "site_id": w.sites["Cánh đồng Phả Lễ"], "product_id": w.products["Thóc Bắc Hương tươi"], "code": "PA-V3",
            "time": at(0, 0)}),
        {"code": "You already have a batch with this code."}),
}


@pytest.mark.parametrize("kind", list(RACES))
def test_a_key_taken_by_another_request_meanwhile_is_a_field_error_and_the_transaction_goes_on(demo_app, ward, kind):
    """The check passed, then another request committed the same GTIN, certificate or batch code before this one
    wrote: the same message as when the check finds it (never a failed request), and the caller's transaction
    stays usable."""
    competitor, call, expected = RACES[kind]
    model = {"product": Product, "certificate": Certificate, "batch": Batch}[kind]
    before = len(rows_named(demo_app, model))
    with demo_app.app_context():
        session = get_session()
        sa_event.listen(session, "before_flush", another_request_registers(demo_app, competitor(ward)), once=True)
        with pytest.raises(ValidationError) as refused:
            call(ward, session)
        assert refused.value.errors == expected
        later = recording.create_site(session, ward.org(RICE), {"name": "Ruộng sau", "kind": "rice_field",
                                                                 "crop": "Lúa", "area_ha": "1"})
        session.commit()
        later_id = later.id
    assert len(rows_named(demo_app, model)) == before + 1  # the competitor's only
    assert [site.name for site in rows_named(demo_app, Site, id=later_id)] == ["Ruộng sau"]


# --- the same refusals in pages and the API ---

def test_a_duplicate_gtin_is_a_form_error_in_the_page(demo_client, demo_app):
    demo_client.set_cookie("lang", "en")
    login(demo_client, RICE)
    before = table_rows(demo_app, but=("loginsession",))
    r = post_form(demo_client, "/producer/products", {"name_vi": "Gạo mới", "unit": "kg", "gtin": "8936048000011"})
    assert r.status_code == 422
    assert field_errors(r.get_data(as_text=True)) == {"gtin": "This GTIN is already registered."}
    assert table_rows(demo_app, but=("loginsession",)) == before


def test_a_duplicate_gtin_is_a_422_problem_in_the_api(demo_client, demo_app):
    headers = token_for(demo_app, RICE)
    before = table_rows(demo_app, but=("apitoken",))
    r = demo_client.post("/api/v1/products", headers=headers, json={"name_vi": "Gạo mới", "unit": "kg",
                                                                    "gtin": "08936048000011"})
    assert (r.status_code, r.mimetype) == (422, "application/problem+json")
    assert r.get_json()["errors"] == {"gtin": "This GTIN is already registered."}
    assert table_rows(demo_app, but=("apitoken",)) == before


def test_a_duplicate_batch_code_and_an_input_before_the_batch_are_form_errors(demo_client, demo_app, ward):
    demo_client.set_cookie("lang", "en")
    login(demo_client, RICE)
    before = table_rows(demo_app, but=("loginsession",))
    r = post_form(demo_client, "/producer/batches", {"site_id": ward.sites["Cánh đồng Phả Lễ"],
                                                     "product_id": ward.products["Thóc Bắc Hương tươi"],
                                                     "code": "LUA-VU-MUA-2026", "time": at(3)})
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (
        422, {"code": "You already have a batch with this code."})
    batch = ward.batches["LUA-VU-MUA-2026"]
    r = post_form(demo_client, f"/producer/batches/{batch.id}", {
        "form": "input", "category": "fertiliser", "input_name": "Phân NPK", "dose": "25", "dose_unit": "kg/sào",
        "time": at(151)})
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (
        422, {"time": f"Before the batch started ({dmy(batch.started_on)})."})
    assert table_rows(demo_app, but=("loginsession",)) == before


def test_packing_before_the_harvest_is_a_422_problem_in_the_api(demo_client, demo_app, ward):
    headers = token_for(demo_app, RICE)
    before = table_rows(demo_app, but=("apitoken",))
    r = demo_client.post("/api/v1/lots/08936045000014/GAO-BH-2610A/packings", headers=headers,
                         json={"package_count": 10, "time": at(41) + "+07:00"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"time": f"Before the harvest ({dmy(ward.lots['GAO-BH-2610A'].produced_on)})."}
    assert table_rows(demo_app, but=("apitoken",)) == before
