"""Movements at the service, as they are written: a shipment's site, transaction type, roles and recorder, and its
reference of at most 60 characters; what the user typed in another unit; who recorded a transformation; whether
storing was cooling; an unpacking at the very moment of its packing; an unpacking's site, batch and lots; an SSCC
typed wrong; whether a container is packed, by what happened to it last, for its own organization; a recalled lot
refused by name; a destruction's reason, and the flag it resolves only once none of the lot is left anywhere; a
receipt's site, recorder, lots and losses, each lot counted once to the gram, never more than was shipped, in the
lot's own unit; a shipment received once, even by two requests at once; a receipt's hash ID, as its export gives it;
a shipment's lines in the order of their lot codes; a storing's temperature under 100 degrees either side of zero, of
a lot its recorder holds, observed whole under its batch; a packing of one package, its size to the gram, its
packaging in both languages, each field within its limits; a packing sized otherwise taking all that is held, where
it is packed, under its batch, and never more than is held; a transformation's note of at most 300 characters, its
output products within their bounds, an output lot's code and quantity typed wrong refused with what is wrong, an
output lot listed twice refused where it comes again, and a lot it makes blocked at once by its input's flag; a
shipment without a receiver refused without a database warning."""
import warnings
from datetime import datetime, timedelta
from decimal import Decimal
from trace.models import Batch, Event, EventLot, Holding, Organization, Product, Shipment, Site, User
from trace.services import corrections, epcis, event_hash, movements, safety
from trace.services.errors import ValidationError
from trace.services.ledger import Ledger, record_one
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import SAWarning
from sqlmodel import Session, select

from .conftest import lot_named
from .test_services_safety import _user

ZONE = "Asia/Ho_Chi_Minh"


def _record(session, email, function, *args):
    user = _user(session, email)
    event = record_one(session, user.organization_id, user.id, ZONE, function, *args)
    return session.get(Event, event.id)


def _lines(session, event) -> list:
    return [(row.role, row.lot_id, row.quantity, row.unit)
            for row in session.exec(select(EventLot).where(EventLot.event_id == event.id))]


def _ago(hours: float) -> str:
    return (datetime.now(ZoneInfo(ZONE)) - timedelta(hours=hours)).isoformat(timespec="minutes")


def _site(session, name) -> int:
    return session.exec(select(Site.id).where(Site.name == name)).one()


def test_a_shipment_records_its_site_a_delivery_note_by_default_and_what_was_typed_in_another_unit(session):
    rice, market = lot_named(session, "GAO-BH-2610A"), _user(session, "sieuthi@demo.vn")
    mill = _site(session, "Xưởng xay xát HTX Phục Lễ")
    event = _record(session, "htx.lua@demo.vn", movements.record_shipping, {
        "to_organization_id": market.organization_id, "reference": "PXK-2612-009", "site_id": mill, "time": _ago(2),
        "lines": [{"lot_id": rice.id, "quantity": "2", "unit": "túi", "factor": "5"}]})
    shipment = session.get(Shipment, event.shipment_id)
    assert (event.step, event.site_id, event.details) == ("shipping", mill, {"entered": [
        {"entered_quantity": "2", "entered_unit": "túi", "factor": "5", "lot": "GAO-BH-2610A"}]})
    assert (shipment.reference_type, shipment.reference, shipment.to_organization_id) == (
        "desadv", "PXK-2612-009", market.organization_id)
    assert _lines(session, event) == [("observed", rice.id, Decimal("10.000"), "kg")]


def test_a_shipment_records_who_recorded_it(session):
    """A shipment answers for the person who sent the goods, as every other event does."""
    event = _record(session, "htx.lua@demo.vn", movements.record_shipping, {
        "to_organization_id": _user(session, "sieuthi@demo.vn").organization_id, "reference": "PXK-2612-013",
        "time": _ago(2), "lines": [{"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "1"}]})
    assert event.actor_user_id == _user(session, "htx.lua@demo.vn").id


@pytest.mark.parametrize("length,errors", [(60, None), (61, {"reference": "At most 60 characters."})])
def test_a_shipments_reference_of_more_than_60_characters_is_refused(session, length, errors):
    """The delivery note's number is stored in 60 characters: a longer one is refused by name, not by the database."""
    data = {"to_organization_id": _user(session, "sieuthi@demo.vn").organization_id, "reference": "P" * length,
            "time": _ago(2), "lines": [{"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "1"}]}
    if errors is None:
        event = _record(session, "htx.lua@demo.vn", movements.record_shipping, data)
        assert session.get(Shipment, event.shipment_id).reference == "P" * 60
    else:
        with pytest.raises(ValidationError) as refused:
            _record(session, "htx.lua@demo.vn", movements.record_shipping, data)
        assert refused.value.errors == errors


def test_a_factor_given_with_the_lots_own_unit_is_not_recorded(session):
    rice, market = lot_named(session, "GAO-BH-2610A"), _user(session, "sieuthi@demo.vn")
    event = _record(session, "htx.lua@demo.vn", movements.record_shipping, {
        "to_organization_id": market.organization_id, "reference": "PXK-2612-010", "time": _ago(2),
        "lines": [{"lot_id": rice.id, "quantity": "2", "unit": "kg", "factor": "5"}]})
    assert (event.details, _lines(session, event)) == ({}, [("observed", rice.id, Decimal("2.000"), "kg")])


def test_a_transformation_records_who_made_it_and_the_quantities_typed_in_another_unit(session):
    dried, processor = lot_named(session, "TND-2611-01"), _user(session, "chebien@demo.vn")
    product = lot_named(session, "TK-2611-01").product_id
    event = _record(session, "chebien@demo.vn", movements.record_transformation, {
        "process": "drying", "time": _ago(3), "inputs": [{"lot_id": dried.id, "quantity": "0.5", "unit": "tạ"}],
        "outputs": [{"product_id": product, "lot": "TK-2612-01", "quantity": "15"}]})
    made = lot_named(session, "TK-2612-01")
    assert (event.actor_user_id, event.details) == (processor.id, {"process": "drying", "entered": [
        {"entered_quantity": "0.5", "entered_unit": "tạ", "lot": "TND-2611-01"}]})
    assert sorted(_lines(session, event)) == [("input", dried.id, Decimal("50.000"), "kg"),
                                              ("output", made.id, Decimal("15.000"), "kg")]


@pytest.mark.parametrize("cooling,recorded", [(None, False), ("on", True), ("no", False), ("1", True), ("YES", True)])
def test_storing_records_whether_it_was_cooling(session, cooling, recorded):
    shrimp = lot_named(session, "TOM-A7-2611")
    data = {"lot_id": shrimp.id, "site_id": _site(session, "Ao lót bạt số 7 (thâm canh công nghệ cao)"),
            "temperature_c": "2", "time": _ago(5)}
    if cooling is not None:
        data["cooling"] = cooling
    event = _record(session, "thuysan@demo.vn", movements.record_storing, data)
    assert event.details == {"temperature_c": "2", "cooling": recorded}


def _storing_refused(session, data) -> dict:
    data = dict(data, site_id=_site(session, "Ao lót bạt số 7 (thâm canh công nghệ cao)"), time=_ago(5))
    with pytest.raises(ValidationError) as refused:
        _record(session, "thuysan@demo.vn", movements.record_storing, data)
    return refused.value.errors


@pytest.mark.parametrize("temperature", ["100", "-100"])
def test_storing_at_a_hundred_degrees_above_or_below_zero_is_refused(session, temperature):
    """A typing slip (a missing decimal point, a reading in Fahrenheit) caught before it reaches a cold-chain
    report."""
    shrimp = lot_named(session, "TOM-A7-2611")
    assert _storing_refused(session, {"lot_id": shrimp.id, "temperature_c": temperature}) == {
        "temperature_c": "Must be less than 100."}


def test_storing_a_lot_the_organization_holds_none_of_is_refused_by_name(session):
    """Goods are stored only by whoever has them."""
    rice = lot_named(session, "GAO-BH-2610A")
    assert _storing_refused(session, {"lot_id": rice.id, "temperature_c": "2"}) == {
        "lot": "You hold none of lot GAO-BH-2610A."}


def test_storing_records_who_stored_the_lot_of_which_batch_and_all_that_is_held_of_it(session):
    """Cold storage moves nothing: the lot is observed, at the quantity its keeper holds, under its own batch."""
    shrimp, keeper = lot_named(session, "TOM-A7-2611"), _user(session, "thuysan@demo.vn")
    held = _holding(session, "TOM-A7-2611", "thuysan@demo.vn")
    event = _record(session, "thuysan@demo.vn", movements.record_storing, {
        "lot_id": shrimp.id, "site_id": _site(session, "Ao lót bạt số 7 (thâm canh công nghệ cao)"),
        "temperature_c": "-18", "time": _ago(5)})
    assert (event.step, event.actor_user_id, event.batch_id) == ("storing", keeper.id, shrimp.batch_id)
    assert _lines(session, event) == [("observed", shrimp.id, held, shrimp.unit)]
    assert _holding(session, "TOM-A7-2611", "thuysan@demo.vn") == held


@pytest.mark.parametrize("typed", ["089360450000000014", "0 8936045 000000001 4"])  # as printed under the barcode
def test_a_container_may_be_unpacked_at_the_moment_it_was_packed(session, typed):
    container = "https://id.gs1.org/00/089360450000000014"
    packing = session.exec(select(Event).where(Event.parent_id == container, Event.step == "packing")).one()
    at = packing.event_time.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(ZONE))
    owner = session.exec(select(User).where(User.organization_id == packing.organization_id)).first()
    event = _record(session, owner.email, movements.record_unpacking, {
        "sscc": typed, "time": at.isoformat(timespec="minutes")})
    assert (event.step, event.parent_id, event.event_time.replace(tzinfo=None)) == (
        "unpacking", container, packing.event_time.replace(tzinfo=None))


def test_a_recalled_lot_is_not_shipped_and_the_refusal_gives_the_recall(session):
    rice, market = lot_named(session, "GAO-BH-2610A"), _user(session, "sieuthi@demo.vn")
    safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    with pytest.raises(ValidationError) as refused:
        _record(session, "htx.lua@demo.vn", movements.record_shipping, {
            "to_organization_id": market.organization_id, "reference": "PXK-2612-011", "time": _ago(1),
            "lines": [{"lot_id": rice.id, "quantity": "1"}]})
    assert refused.value.errors == {"lines.0.lot": "The lot has been recalled: Nghi nhiễm nấm mốc"}


def test_destroying_all_the_farm_holds_leaves_the_flag_open_while_a_shop_holds_some(session):
    """The supermarket and the outlet still hold rice of the lot: the farm's destruction resolves nothing."""
    rice = lot_named(session, "GAO-BH-2610A")
    flag = safety.raise_flag(session, rice, safety.PRE_HARVEST_INTERVAL,
                             {"harvest": "20/10/2026", "input": "Hexaconazole 5SC", "end": "25/10/2026"})
    session.flush()
    _record(session, "htx.lua@demo.vn", movements.record_destroying, rice.id, {"reason": "Tiêu hủy", "time": _ago(1)})
    session.refresh(flag)
    assert (flag.resolution, flag.resolved_at, flag.resolved_by_user_id) == (None, None, None)


def test_an_output_product_id_that_is_not_a_number_is_refused_without_a_database_warning(session):
    """SQLAlchemy warns (and says it may one day raise) when asked for a row by a null key: none is asked for."""
    dried = lot_named(session, "TND-2611-01")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        with pytest.raises(ValidationError) as refused:
            _record(session, "chebien@demo.vn", movements.record_transformation, {
                "process": "drying", "time": _ago(3), "inputs": [{"lot_id": dried.id, "quantity": "1"}],
                "outputs": [{"product_id": "Tôm khô", "lot": "TK-2612-02", "quantity": "1"}]})
    assert refused.value.errors == {"outputs.0.product_id": "Must be a whole number."}


def test_goods_can_be_shipped_to_any_producer_shop_or_outlet_but_the_sender_itself_in_name_order(session):
    """The ward's office buys nothing: it is not offered as a receiver."""
    coop = _user(session, "htx.lua@demo.vn").organization_id
    names = [organization.name for organization in movements.shipping_partners(session, coop)]
    assert names[:4] == ["Công ty CP Chế biến Thực phẩm Minh Đức", "Công ty TNHH Thủy sản nước lợ Bạch Đằng",
                         "Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh", "Siêu thị Nông sản sạch Thủy Nguyên"]
    # "Tổ" and "Trang" come in either order by the database's collation (code points or Vietnamese).
    assert sorted(names[4:]) == ["Trang trại Na dai Lưu Kiếm", "Tổ hợp tác Rau hữu cơ Hoa Động"]


@pytest.mark.parametrize("receiver,errors", [
    (None, {"to_organization_id": "Required."}),
    ("Siêu thị", {"to_organization_id": "Must be a whole number."}),
    ("0", {"to_organization_id": "Must be between 1 and 2147483647."})], ids=["missing", "not a number", "zero"])
def test_a_shipment_without_a_receiver_is_refused_without_a_database_warning(session, receiver, errors):
    """SQLAlchemy warns (and says it may one day raise) when asked for a row by a null key: none is asked for."""
    data = {"reference": "PXK-2612-012", "time": _ago(2),
            "lines": [{"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "1"}]}
    if receiver is not None:
        data["to_organization_id"] = receiver
    with warnings.catch_warnings():
        warnings.simplefilter("error", SAWarning)
        with pytest.raises(ValidationError) as refused:
            _record(session, "htx.lua@demo.vn", movements.record_shipping, data)
    assert refused.value.errors == errors


def _holding(session, code, email) -> Decimal:
    return session.exec(select(Holding.quantity).where(Holding.lot_id == lot_named(session, code).id,
                                                       Holding.organization_id == _user(session, email).organization_id)
                        ).one()


@pytest.mark.parametrize("site", ["Xưởng xay xát HTX Phục Lễ", None])
def test_an_unpacking_records_who_its_site_or_the_packings_and_the_batch_and_lots_of_the_container(session, site):
    """The rice packed in the field is unpacked at the mill, or where it was packed when no site is given."""
    container = "https://id.gs1.org/00/089360450000000021"
    packing = session.exec(select(Event).where(Event.parent_id == container, Event.step == "packing")).one()
    farmer, data = _user(session, "htx.lua@demo.vn"), {"sscc": "089360450000000021", "time": _ago(1)}
    if site:
        data["site_id"] = _site(session, site)
    event = _record(session, "htx.lua@demo.vn", movements.record_unpacking, data)
    assert (event.step, event.actor_user_id, event.batch_id, event.site_id, event.details, event.parent_id) == (
        "unpacking", farmer.id, packing.batch_id, data.get("site_id", packing.site_id), {}, container)
    assert _lines(session, event) == [("observed", lot_id, quantity, unit) for _, lot_id, quantity, unit in
                                      _lines(session, packing)]


@pytest.mark.parametrize("typed,message", [
    ("089360450000000015", "The SSCC check digit is wrong: it should be 4."),
    ("08936045000000001", "An SSCC has 18 digits.")])
def test_an_sscc_typed_wrong_is_refused_with_what_is_wrong(session, typed, message):
    with pytest.raises(ValidationError) as refused:
        _record(session, "htx.lua@demo.vn", movements.record_unpacking, {"sscc": typed, "time": _ago(1)})
    assert refused.value.errors == {"sscc": message}


@pytest.mark.parametrize("length,errors", [(300, None), (301, {"reason": "At most 300 characters."})])
def test_a_destruction_gives_its_reason_in_at_most_300_characters(session, length, errors):
    greens, reason = lot_named(session, "RHC-2611-03"), ("Dập nát do mưa đá, " * 20)[:length - 1] + "."
    data = {"reason": reason, "quantity": "40", "time": _ago(1)}
    if errors:
        with pytest.raises(ValidationError) as refused:
            _record(session, "rau.huuco@demo.vn", movements.record_destroying, greens.id, data)
        assert refused.value.errors == errors
    else:
        event = _record(session, "rau.huuco@demo.vn", movements.record_destroying, greens.id, data)
        assert event.details == {"reason": reason}


def test_destroying_part_of_a_flagged_lot_leaves_its_flag_open(session):
    greens = lot_named(session, "RHC-2611-03")
    flag = safety.raise_flag(session, greens, safety.PRE_HARVEST_INTERVAL,
                             {"harvest": "20/11/2026", "input": "Hexaconazole 5SC", "end": "25/11/2026"})
    _record(session, "rau.huuco@demo.vn", movements.record_destroying, greens.id,
            {"reason": "Tiêu hủy", "quantity": "40", "time": _ago(1)})
    session.refresh(flag)
    assert (_holding(session, "RHC-2611-03", "rau.huuco@demo.vn"), flag.resolution) == (Decimal("600.000"), None)


def test_destroying_all_of_a_flagged_lot_resolves_its_flag_by_who_destroyed_it_whatever_else_is_on_the_road(session):
    """Rice on its way to the supermarket is another lot: none of the greens is left anywhere."""
    greens, rice, market = lot_named(session, "RHC-2611-03"), lot_named(session, "GAO-BH-2610A"), _user(
        session, "sieuthi@demo.vn")
    _record(session, "htx.lua@demo.vn", movements.record_shipping, {
        "to_organization_id": market.organization_id, "reference": "PXK-2612-012", "time": _ago(2),
        "lines": [{"lot_id": rice.id, "quantity": "100"}]})
    flag = safety.raise_flag(session, greens, safety.PRE_HARVEST_INTERVAL,
                             {"harvest": "20/11/2026", "input": "Hexaconazole 5SC", "end": "25/11/2026"})
    grower = _user(session, "rau.huuco@demo.vn")
    event = _record(session, "rau.huuco@demo.vn", movements.record_destroying, greens.id,
                    {"reason": "Tiêu hủy theo yêu cầu", "time": _ago(1)})
    assert (event.step, event.actor_user_id, event.details) == ("destroying", grower.id,
                                                                {"reason": "Tiêu hủy theo yêu cầu"})
    assert _lines(session, event) == [("observed", greens.id, Decimal("640.000"), "kg")]
    session.refresh(flag)
    assert (flag.resolution, flag.resolution_reason, flag.resolved_by_user_id) == (
        "destroyed", "Tiêu hủy theo yêu cầu", grower.id)


def test_a_flag_stays_open_while_another_organization_holds_even_half_a_kilo_of_the_lot(session):
    """The outlet, then the supermarket (all but half a kilo), then the cooperative destroy their rice: the flag
    is resolved only when the supermarket destroys its last half kilo."""
    rice = lot_named(session, "GAO-BH-2610A")
    flag = safety.raise_flag(session, rice, safety.PRE_HARVEST_INTERVAL,
                             {"harvest": "20/10/2026", "input": "Hexaconazole 5SC", "end": "25/10/2026"})
    for email, quantity in [("dulich@demo.vn", None), ("sieuthi@demo.vn", "999.5"), ("htx.lua@demo.vn", None)]:
        data = {"reason": "Tiêu hủy", "time": _ago(1)}
        if quantity:
            data["quantity"] = quantity
        _record(session, email, movements.record_destroying, rice.id, data)
        session.refresh(flag)
        assert flag.resolution is None, email
    assert _holding(session, "GAO-BH-2610A", "sieuthi@demo.vn") == Decimal("0.5")
    _record(session, "sieuthi@demo.vn", movements.record_destroying, rice.id, {"reason": "Tiêu hủy", "time": _ago(0.5)})
    session.refresh(flag)
    assert (_holding(session, "GAO-BH-2610A", "sieuthi@demo.vn"), flag.resolution, flag.resolved_by_user_id) == (
        Decimal("0"), "destroyed", _user(session, "sieuthi@demo.vn").id)


def _packing_of(session, container) -> Event:
    return session.exec(select(Event).where(Event.parent_id == container, Event.step == "packing")).one()


def _unpacking_refused(session, email, typed) -> dict:
    with pytest.raises(ValidationError) as refused:
        _record(session, email, movements.record_unpacking, {"sscc": typed, "time": _ago(0.5)})
    return refused.value.errors


def _pack_rice(session, typed, time) -> Event:
    return _record(session, "htx.lua@demo.vn", movements.record_packing, lot_named(session, "GAO-BH-2610A").id, {
        "package_count": "5", "package_size": "20", "package_unit": "kg", "sscc": typed, "time": time})


def test_a_container_unpacked_at_the_moment_it_was_packed_is_empty_and_may_be_packed_again(session):
    """Of two events at the same moment, the one recorded last happened last."""
    packing = _packing_of(session, "https://id.gs1.org/00/089360450000000021")
    at = packing.event_time.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(ZONE)).isoformat(timespec="minutes")
    _record(session, "htx.lua@demo.vn", movements.record_unpacking, {"sscc": "089360450000000021", "time": at})
    assert _unpacking_refused(session, "htx.lua@demo.vn", "089360450000000021") == {
        "sscc": "No packed container of yours has this SSCC."}
    assert _pack_rice(session, "089360450000000021", _ago(1)).parent_id == "https://id.gs1.org/00/089360450000000021"


def test_a_packing_recorded_late_does_not_fill_again_a_container_unpacked_after_it(session):
    """Whether a container is packed is read from what happened to it last, by the time it happened, not by the
    order the events were recorded in."""
    _record(session, "htx.lua@demo.vn", movements.record_unpacking, {"sscc": "089360450000000021", "time": _ago(1)})
    _pack_rice(session, "089360450000000021", _ago(2))
    assert _unpacking_refused(session, "htx.lua@demo.vn", "089360450000000021") == {
        "sscc": "No packed container of yours has this SSCC."}


def test_a_container_is_unpacked_only_by_the_organization_that_packed_it(session):
    """The vegetable cooperative may not unpack the rice cooperative's carton, nor record its lots as its own."""
    assert _unpacking_refused(session, "rau.huuco@demo.vn", "089360450000000021") == {
        "sscc": "No packed container of yours has this SSCC."}


def test_a_container_whose_packing_was_declared_erroneous_is_not_packed(session):
    """It may not be unpacked, and may be packed again."""
    packing, farmer = _packing_of(session, "https://id.gs1.org/00/089360450000000021"), _user(session, "htx.lua@demo.vn")
    record_one(session, farmer.organization_id, farmer.id, ZONE, corrections.declare_error, packing.id,
               {"reason": "Nhầm mã SSCC"})
    assert _unpacking_refused(session, "htx.lua@demo.vn", "089360450000000021") == {
        "sscc": "No packed container of yours has this SSCC."}
    assert _pack_rice(session, "089360450000000021", _ago(1)).parent_id == "https://id.gs1.org/00/089360450000000021"


def test_a_packing_records_one_package_its_size_to_the_gram_and_its_packaging_in_both_languages(session):
    """Packed by the package: one package of 0.125 kg is 0.125 kg of the lot."""
    rice = lot_named(session, "GAO-BH-2610A")
    event = _record(session, "htx.lua@demo.vn", movements.record_packing, rice.id, {
        "package_count": "1", "package_size": "0.125", "package_unit": "kg", "packaging": "Túi hút chân không",
        "packaging_en": "Vacuum bag", "time": _ago(1)})
    assert event.details == {"package_count": 1, "package_size": "0.125", "package_unit": "kg",
                             "packaging": "Túi hút chân không", "packaging_en": "Vacuum bag"}
    assert _lines(session, event) == [("observed", rice.id, Decimal("0.125"), "kg")]


@pytest.mark.parametrize("packages", [{"package_count": "4"},
                                      {"package_count": "4", "package_size": "25", "package_unit": "lb"}])
@pytest.mark.parametrize("site", ["Xưởng xay xát HTX Phục Lễ", None])
def test_a_packing_without_a_size_in_the_lots_unit_observes_all_that_is_held_where_it_is_packed_under_its_batch(
        session, packages, site):
    """Packages sized in another unit, or not at all, cannot say how much of the lot they hold: all of it is packed.
    The packing happens where the user says, or else at the lot's own batch area, and stays in the batch's story."""
    rice = lot_named(session, "GAO-BH-2610A")
    data = {**packages, "time": _ago(1)}
    if site:
        data["site_id"] = _site(session, site)
    held = _holding(session, "GAO-BH-2610A", "htx.lua@demo.vn")
    event = _record(session, "htx.lua@demo.vn", movements.record_packing, rice.id, data)
    batch_site = session.exec(select(Batch.site_id).where(Batch.id == rice.batch_id)).one()
    assert (event.step, event.batch_id, event.site_id) == ("packing", rice.batch_id, data.get("site_id", batch_site))
    assert _lines(session, event) == [("observed", rice.id, held, "kg")]


@pytest.mark.parametrize("email,destroyed,errors", [
    ("sieuthi@demo.vn", "999.5", {"quantity": "Only 0.5 kg of lot GAO-BH-2610A is left; you cannot pack 1."}),
    ("rau.huuco@demo.vn", None, {"lot": "You hold none of lot GAO-BH-2610A."})])
def test_a_packing_of_more_than_is_held_is_refused_by_what_is_left_or_that_none_is(session, email, destroyed, errors):
    """Half a kilo cannot fill a package of one; an organization holding none of the lot is told only that."""
    if destroyed:
        _record(session, email, movements.record_destroying, lot_named(session, "GAO-BH-2610A").id,
                {"reason": "Tiêu hủy", "quantity": destroyed, "time": _ago(2)})
    data = {"package_count": "1", "package_size": "1", "package_unit": "kg", "time": _ago(1)}
    with pytest.raises(ValidationError) as refused:
        _record(session, email, movements.record_packing, lot_named(session, "GAO-BH-2610A").id, data)
    assert refused.value.errors == errors


@pytest.mark.parametrize("field,typed,message", [
    ("package_count", "0", "Must be between 1 and 10000000."),
    ("package_count", "10000001", "Must be between 1 and 10000000."),
    ("package_size", "0.0005", "At most 3 decimal places."),
    ("package_unit", "x" * 21, "At most 20 characters."),
    ("packaging", "x" * 121, "At most 120 characters."),
    ("packaging_en", "x" * 121, "At most 120 characters."),
    ("sscc", "0" * 41, "At most 40 characters.")])
def test_a_packing_beyond_the_limits_of_a_field_is_refused_with_them(session, field, typed, message):
    """What is printed on a label fits on it, and quantities are kept to the gram."""
    data = {"package_count": "5", "package_size": "20", "package_unit": "kg", "time": _ago(1), field: typed}
    with pytest.raises(ValidationError) as refused:
        _record(session, "htx.lua@demo.vn", movements.record_packing, lot_named(session, "GAO-BH-2610A").id, data)
    assert refused.value.errors == {field: message}


def _ship(session, email, to_email, lines) -> int:
    receiver = _user(session, to_email)
    return _record(session, email, movements.record_shipping, {
        "to_organization_id": receiver.organization_id, "reference": "PXK-2612-020", "time": _ago(2),
        "lines": lines}).shipment_id


def _rice_to_the_processor(session) -> int:
    """100 kg of lot GAO-BH-2610A and 50 kg of lot GAO-XAT-2611 on their way to the processor."""
    return _ship(session, "htx.lua@demo.vn", "chebien@demo.vn", [
        {"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "100"},
        {"lot_id": lot_named(session, "GAO-XAT-2611").id, "quantity": "50"}])


def _receipt_refused(session, email, shipment_id, lines) -> dict:
    with pytest.raises(ValidationError) as refused:
        _record(session, email, movements.record_receiving, shipment_id, {"time": _ago(1), "lines": lines})
    return refused.value.errors


def test_a_receipt_records_its_site_each_lot_received_and_a_lot_of_which_nothing_arrived(session):
    """A lot left out arrived whole; a lot counted at zero is recorded, and its loss is given in the details."""
    shipment_id = _rice_to_the_processor(session)
    factory, whole, lost = (_site(session, "Xưởng chế biến Minh Đức"), lot_named(session, "GAO-BH-2610A"),
                            lot_named(session, "GAO-XAT-2611"))
    event = _record(session, "chebien@demo.vn", movements.record_receiving, shipment_id, {
        "site_id": factory, "time": _ago(1), "lines": [{"lot_id": lost.id, "quantity": "0"}]})
    assert (event.step, event.site_id, event.actor_user_id, event.details) == (
        "receiving", factory, _user(session, "chebien@demo.vn").id, {"differences": [
            {"lot": "GAO-XAT-2611", "shipped": "50", "received": "0"}]})
    assert sorted(_lines(session, event)) == [("observed", whole.id, Decimal("100.000"), "kg"),
                                              ("observed", lost.id, Decimal("0.000"), "kg")]


def test_a_shipment_received_by_another_request_meanwhile_is_not_received_twice(session):
    """Two workers record the same delivery at once, each with their own count: both find the shipment in transit,
    and only the first may take its lots into stock."""
    shipment_id = _rice_to_the_processor(session)
    session.commit()
    shipment = session.get(Shipment, shipment_id)  # the second request reads it before the first one is written
    with Session(session.get_bind()) as other:
        processor = _user(other, "chebien@demo.vn")
        record_one(other, processor.organization_id, processor.id, ZONE, movements.record_receiving, shipment_id,
                   {"time": _ago(1)})
        other.commit()
    assert shipment.status == "in_transit"
    assert _receipt_refused(session, "chebien@demo.vn", shipment_id, [
        {"lot_id": lot_named(session, "GAO-XAT-2611").id, "quantity": "49"}]) == {
        "shipment": "This shipment was already received or cancelled."}


@pytest.mark.parametrize("lines", [None, "", []])
def test_a_receipt_without_lines_takes_in_all_that_was_shipped(session, lines):
    """A form or a document may send the field empty rather than leave it out."""
    shipment_id = _rice_to_the_processor(session)
    event = _record(session, "chebien@demo.vn", movements.record_receiving, shipment_id,
                    {"time": _ago(1), "lines": lines})
    assert (event.details, sorted(_lines(session, event))) == ({}, [
        ("observed", lot_named(session, "GAO-BH-2610A").id, Decimal("100.000"), "kg"),
        ("observed", lot_named(session, "GAO-XAT-2611").id, Decimal("50.000"), "kg")])


@pytest.mark.parametrize("lines,errors", [
    ([{"gtin": "08936045000014", "lot": "GAO-XAT-2611", "quantity": "20"},
      {"gtin": "08936045000014", "lot": "GAO-XAT-2611", "quantity": "30"}], {"lines.1.lot": "This lot is listed twice."}),
    ([{"gtin": "08936045000014", "lot": "GAO-XAT-2611", "quantity": "49.9995"}],
     {"lines.0.quantity": "At most 3 decimal places."}),
], ids=["listed twice", "four decimals"])
def test_a_receipt_counts_each_lot_once_to_the_gram(session, lines, errors):
    """Quantities are kept to three decimals, the gram of a kilogram."""
    assert _receipt_refused(session, "chebien@demo.vn", _rice_to_the_processor(session), lines) == errors


def test_receiving_more_than_was_shipped_is_refused_in_the_lots_own_unit(session):
    """The processor grades dried shrimp into boxes, though the product is counted in kilograms elsewhere."""
    product = lot_named(session, "TK-2611-01").product_id
    _record(session, "chebien@demo.vn", movements.record_transformation, {
        "process": "grading", "time": _ago(3),
        "inputs": [{"lot_id": lot_named(session, "TND-2611-01").id, "quantity": "1"}],
        "outputs": [{"product_id": product, "lot": "TK-2612-05", "quantity": "10", "unit": "hộp"}]})
    boxes = lot_named(session, "TK-2612-05")
    shipment_id = _ship(session, "chebien@demo.vn", "sieuthi@demo.vn", [{"lot_id": boxes.id, "quantity": "10"}])
    assert _receipt_refused(session, "sieuthi@demo.vn", shipment_id, [{"lot_id": boxes.id, "quantity": "11"}]) == {
        "lines.0.quantity": "More than was shipped (10 hộp)."}


def test_a_receipts_hash_id_is_that_of_the_event_it_exports_naming_the_delivery_note(session):
    """Whoever is sent the receipt in an EPCIS document computes its hash ID from what the document says, the
    sender's delivery note and both parties included, and must find the one it carries."""
    shipment_id = _rice_to_the_processor(session)
    event = _record(session, "chebien@demo.vn", movements.record_receiving, shipment_id, {"time": _ago(1)})
    exported = epcis.export_events(session, [event])
    coop, processor = (session.get(Organization, _user(session, email).organization_id)
                       for email in ("htx.lua@demo.vn", "chebien@demo.vn"))
    assert (exported[0]["bizTransactionList"], exported[0]["sourceList"], exported[0]["destinationList"]) == (
        [{"type": "desadv", "bizTransaction": epcis.transaction_uri(coop.id, "PXK-2612-020")}],
        [{"type": "owning_party", "source": epcis.organization_uri(coop)}],
        [{"type": "owning_party", "destination": epcis.organization_uri(processor)}])
    assert event_hash.document_hash_ids(epcis.document(exported)) == [event.hash_id]


def test_a_shipments_lines_come_in_the_order_of_their_lot_codes_whatever_order_they_were_recorded_in(session):
    """The receipt form and the shipment's page list them so, the same for sender and receiver."""
    pond_7, pond_3 = lot_named(session, "TOM-A7-2611"), lot_named(session, "TOM-A3-2608")
    assert pond_7.id < pond_3.id  # by id, they would come the other way round
    shipment_id = _ship(session, "thuysan@demo.vn", "chebien@demo.vn", [
        {"lot_id": pond_7.id, "quantity": "70"}, {"lot_id": pond_3.id, "quantity": "30"}])
    _, rows = movements.shipped_lines(session, session.get(Shipment, shipment_id))
    assert [(lot.code, line.quantity) for line, lot, _ in rows] == [
        ("TOM-A3-2608", Decimal("30.000")), ("TOM-A7-2611", Decimal("70.000"))]


def _transformation_refused(session, outputs) -> dict:
    dried = lot_named(session, "TND-2611-01")
    with pytest.raises(ValidationError) as refused:
        _record(session, "chebien@demo.vn", movements.record_transformation, {
            "process": "drying", "time": _ago(3), "inputs": [{"lot_id": dried.id, "quantity": "1"}],
            "outputs": outputs})
    return refused.value.errors


@pytest.mark.parametrize("length,errors", [(300, None), (301, {"note": "At most 300 characters."})])
def test_a_transformation_records_its_note_of_at_most_300_characters(session, length, errors):
    dried, product = lot_named(session, "TND-2611-01"), lot_named(session, "TK-2611-01").product_id
    note = ("Sấy ở 60 độ trong 8 giờ, " * 20)[:length - 1] + "."
    data = {"process": "drying", "time": _ago(3), "note": note,
            "inputs": [{"lot_id": dried.id, "quantity": "1"}],
            "outputs": [{"product_id": product, "lot": "TK-2612-03", "quantity": "0.3"}]}
    if errors:
        with pytest.raises(ValidationError) as refused:
            _record(session, "chebien@demo.vn", movements.record_transformation, data)
        assert refused.value.errors == errors
    else:
        event = _record(session, "chebien@demo.vn", movements.record_transformation, data)
        assert event.details == {"process": "drying", "note": note}


@pytest.mark.parametrize("output,errors", [
    ({"product_id": "0"}, {"outputs.0.product_id": "Must be between 1 and 2147483647."}),
    ({"product_id": "-5"}, {"outputs.0.product_id": "Must be between 1 and 2147483647."}),
    ({"gtin": "0" * 21}, {"outputs.0.gtin": "At most 20 characters.",
                          "outputs.0.product_id": "Choose one of your products."})])
def test_an_output_product_out_of_bounds_is_refused_with_the_bounds(session, output, errors):
    assert _transformation_refused(session, [dict(output, lot="TK-2612-04", quantity="0.3")]) == errors


@pytest.mark.parametrize("output,errors", [
    ({"lot": "TK 2612-08"}, {"outputs.0.lot": "Spaces are not allowed."}),
    ({"lot": ".."}, {"outputs.0.lot": "A code cannot be only dots."}),
    ({"lot": "TÔM-2612"}, {"outputs.0.lot": "“Ô” cannot be used: letters A–Z, a–z, digits and - . _ / only "
                                            "(GS1 character set 82; no accents). E.g. Đ → D, ư → u."}),
    ({"quantity": "0.3005"}, {"outputs.0.quantity": "At most 3 decimal places."})],
    ids=["space", "only dots", "accent", "four decimals"])
def test_an_output_lot_code_or_quantity_typed_wrong_is_refused_with_what_is_wrong(session, output, errors):
    """A lot's code goes into its GS1 Digital Link and barcode, and quantities are kept to the gram."""
    product = lot_named(session, "TK-2611-01").product_id
    assert _transformation_refused(session, [dict({"product_id": product, "lot": "TK-2612-08", "quantity": "0.3"},
                                                  **output)]) == errors


def test_an_output_lot_listed_twice_is_refused_where_it_comes_again_even_after_a_refused_line(session):
    """Every line's mistakes are shown at once, so that one request can correct them all."""
    product = lot_named(session, "TK-2611-01").product_id
    outputs = [{"product_id": "999999", "lot": "TK-2612-05", "quantity": "0.1"},
               {"product_id": product, "lot": "TK-2612-05", "quantity": "0.1"},
               {"product_id": product, "lot": "TK-2612-06", "quantity": "0.1"},
               {"product_id": product, "lot": "TK-2612-05", "quantity": "0.1"}]
    assert _transformation_refused(session, outputs) == {"outputs.0.product_id": "Choose one of your products.",
                                                         "outputs.3.lot": "This lot is listed twice."}


def test_a_lot_made_from_a_flagged_lot_is_not_shipped_in_the_same_document(session):
    """A captured document may make a lot and ship it at once: the new lot is blocked by its input's flag already."""
    dried = lot_named(session, "TND-2611-01")
    product = session.get(Product, lot_named(session, "TK-2611-01").product_id)
    safety.raise_flag(session, dried, safety.PRE_HARVEST_INTERVAL,
                      {"harvest": "20/11/2026", "input": "Hexaconazole 5SC", "end": "25/11/2026"})
    processor, market = _user(session, "chebien@demo.vn"), _user(session, "sieuthi@demo.vn")
    ledger = Ledger(session, processor.organization_id, processor.id, ZONE)
    movements.record_transformation(ledger, {
        "process": "drying", "time": _ago(3), "inputs": [{"lot_id": dried.id, "quantity": "1"}],
        "outputs": [{"product_id": product.id, "lot": "TK-2612-07", "quantity": "0.3"}]})
    with pytest.raises(ValidationError) as refused:
        movements.record_shipping(ledger, {"to_organization_id": market.organization_id, "reference": "PXK-2612-011",
                                           "time": _ago(2), "lines": [{"gtin": product.gtin, "lot": "TK-2612-07",
                                                                       "quantity": "0.3"}]})
    assert refused.value.errors == {"lines.0.lot": (
        "The lot, or a lot it was made from, is flagged: Harvested on 20/11/2026, inside the pre-harvest interval or "
        "withdrawal period of Hexaconazole 5SC (until 25/11/2026).")}


def test_the_last_half_kilo_of_a_lot_may_still_be_shipped(session):
    """Holding less than one unit of a lot is still holding some of it."""
    rice = lot_named(session, "GAO-BH-2610A")
    _record(session, "sieuthi@demo.vn", movements.record_destroying, rice.id,
            {"reason": "Tiêu hủy", "quantity": "999.5", "time": _ago(3)})
    _ship(session, "sieuthi@demo.vn", "dulich@demo.vn", [{"lot_id": rice.id, "quantity": "0.5"}])
    assert _holding(session, "GAO-BH-2610A", "sieuthi@demo.vn") == Decimal("0")


def test_a_lot_listed_twice_after_a_refused_line_is_refused_too(session):
    """Every line's mistakes are shown at once, so that one request can correct them all."""
    rice = lot_named(session, "GAO-BH-2610A")
    with pytest.raises(ValidationError) as refused:
        _ship(session, "htx.lua@demo.vn", "chebien@demo.vn", [
            {"lot_id": rice.id, "quantity": "abc"}, {"lot_id": rice.id, "quantity": "1"},
            {"lot_id": rice.id, "quantity": "2"}])
    assert refused.value.errors == {"lines.0.quantity": "Must be a number.", "lines.2.lot": "This lot is listed twice."}


def test_shipments_come_newest_shipped_first_once_each_with_their_shipping_whether_sent_or_received(session):
    """The lists of shipments to receive and sent: by the time they were shipped, not the order they were recorded
    in (the latest recorded first at the same time), a shipment already received listed once, with its shipping
    event."""
    farm, processor = _user(session, "htx.lua@demo.vn"), _user(session, "chebien@demo.vn")
    rice = lot_named(session, "GAO-BH-2610A")
    same_time = _ago(3)
    shipped = {}
    for name, time in [("late", _ago(1)), ("early", _ago(5)), ("first", same_time), ("second", same_time)]:
        shipped[name] = _record(session, "htx.lua@demo.vn", movements.record_shipping, {
            "to_organization_id": processor.organization_id, "reference": f"TEST-{name}", "time": time,
            "lines": [{"lot_id": rice.id, "quantity": "1"}]})
    _record(session, "chebien@demo.vn", movements.record_receiving, shipped["early"].shipment_id, {"time": _ago(0.5)})
    expected = [(shipped[name].shipment_id, shipped[name].id) for name in ("late", "second", "first", "early")]
    for organization_id, incoming in [(processor.organization_id, True), (farm.organization_id, False)]:
        rows = movements.shipments_for(session, organization_id, incoming=incoming)
        assert [(shipment.id, event.id) for shipment, event in rows if shipment.reference.startswith("TEST-")] == expected
