"""Flags and recalls at the service: an inspector clears a flag once, a flag's reason worded, what the ward sees
first, and who may read a recall's notice."""
from datetime import datetime, timedelta
from decimal import Decimal
from trace.models import Event, Lot, LotFlag, Recall, RecallLot, Shipment, User, utcnow
from trace.services import movements, safety
from trace.services.errors import NotFound, ValidationError
from trace.services.ledger import record_one
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from .conftest import lot_named


def _user(session, email) -> User:
    return session.exec(select(User).where(User.email == email)).one()


def _flag(session, code, days_ago=0, resolution=None) -> LotFlag:
    flag = safety.raise_flag(session, lot_named(session, code), safety.PRE_HARVEST_INTERVAL,
                             {"harvest": "20/11/2026", "input": "Hexaconazole 5SC", "end": "25/11/2026"})
    flag.raised_at, flag.resolution = utcnow() - timedelta(days=days_ago), resolution
    session.add(flag)
    session.flush()
    return flag


def test_a_flag_says_which_spraying_it_was_harvested_too_soon_after(session):
    assert safety.flag_reason(_flag(session, "GAO-BH-2610A")) == (
        "Harvested on 20/11/2026, inside the pre-harvest interval or withdrawal period of Hexaconazole 5SC "
        "(until 25/11/2026).")
    assert safety.flag_reason(LotFlag(lot_id=1, kind="other", reason="Mẫu nghi nhiễm", details={})) == "Mẫu nghi nhiễm"


def test_an_inspector_clears_a_flag_once_with_the_evidence(session):
    flag, inspector = _flag(session, "GAO-BH-2610A"), _user(session, "kiemtra@demo.vn")
    with pytest.raises(NotFound):
        safety.clear_flag(session, _user(session, "htx.lua@demo.vn"), flag.id, {"reason": "x", "reference": "y"})
    with pytest.raises(ValidationError) as long:
        safety.clear_flag(session, inspector, flag.id, {"reason": "Đạt", "reference": "K" * 121})
    assert long.value.errors == {"reference": "At most 120 characters."}
    cleared = safety.clear_flag(session, inspector, flag.id, {"reason": "Mẫu đạt MRL", "reference": "K" * 120})
    assert (cleared.resolution, cleared.resolution_reason, cleared.resolution_reference, cleared.resolved_by_user_id) == (
        "cleared", "Mẫu đạt MRL", "K" * 120, inspector.id)
    with pytest.raises(ValidationError) as again:
        safety.clear_flag(session, inspector, flag.id, {"reason": "Lần nữa", "reference": "KN-2"})
    assert again.value.errors == {"reason": "This flag was already resolved."}


def test_the_ward_sees_open_flags_and_standing_recalls_first_then_the_newest(session):
    old_open, new_open = _flag(session, "GAO-BH-2610A", days_ago=5), _flag(session, "TOM-A3-2608", days_ago=1)
    new_closed = _flag(session, "TND-2611-01", days_ago=0, resolution="cleared")
    rows = safety.latest_flags(session)
    assert [flag for flag, _lot, _product in rows][:3] == [new_open, old_open, new_closed]
    assert [(lot.code, product.gtin) for flag, lot, product in rows[:2]] == [
        ("TOM-A3-2608", "08936048000011"), ("GAO-BH-2610A", "08936045000014")]
    assert len(safety.latest_flags(session, limit=2)) == 2
    session.add_all([_flag(session, "GAO-BH-2610A", days_ago=10 + n) for n in range(50)])
    assert len(safety.latest_flags(session)) == 50
    recalls = []
    for code, days_ago, lifted in (("GAO-BH-2610A", 3, False), ("TOM-A3-2608", 1, True), ("TND-2611-01", 2, False)):
        recall = Recall(lot_id=lot_named(session, code).id, organization_id=1, reason=code,
                        recalled_at=utcnow() - timedelta(days=days_ago), lifted_at=utcnow() if lifted else None)
        session.add(recall)
        recalls.append(recall)
    session.flush()
    rows = safety.latest_recalls(session)
    assert [(recall.reason, lot.code, product.gtin) for recall, lot, product in rows] == [
        ("TND-2611-01", "TND-2611-01", "08936049000027"), ("GAO-BH-2610A", "GAO-BH-2610A", "08936045000014"),
        ("TOM-A3-2608", "TOM-A3-2608", "08936048000011")]
    session.add_all([Recall(lot_id=recalls[0].lot_id, organization_id=1, reason=str(n)) for n in range(50)])
    assert len(safety.latest_recalls(session)) == 50 and len(safety.latest_recalls(session, limit=1)) == 1


def test_a_recall_notice_is_read_by_inspectors_and_the_organizations_it_names(session):
    recall = safety.recall_lot(session, lot_named(session, "GAO-BH-2610A"), {"reason": "Nghi nhiễm nấm mốc"})
    for email in ("kiemtra@demo.vn", "htx.lua@demo.vn", "sieuthi@demo.vn", "dulich@demo.vn"):
        found, rows = safety.visible_recall(session, _user(session, email), recall.id)
        assert found is recall and len(rows) == 3, email
    for email in ("thuysan@demo.vn", "chebien@demo.vn", "quantri@demo.vn"):
        with pytest.raises(NotFound):
            safety.visible_recall(session, _user(session, email), recall.id)


def test_a_flag_is_worded_from_its_details_only_for_a_pre_harvest_interval(session):
    details = {"harvest": "20/11/2026", "input": "Hexaconazole 5SC", "end": "25/11/2026"}
    assert safety.flag_reason(LotFlag(lot_id=1, kind="other", reason="Mẫu nghi nhiễm", details=details)) == "Mẫu nghi nhiễm"
    assert safety.flag_reason(LotFlag(lot_id=1, kind=safety.PRE_HARVEST_INTERVAL, reason="Cách ly", details={})) == "Cách ly"


def test_a_lots_flags_come_in_the_order_they_were_raised(session):
    later, earlier = _flag(session, "GAO-BH-2610A", days_ago=1), _flag(session, "GAO-BH-2610A", days_ago=5)
    assert safety.flags_of(session, lot_named(session, "GAO-BH-2610A").id) == [earlier, later]


def _recalled(session, recall) -> dict:
    return {code: depth for code, depth in session.exec(
        select(Lot.code, RecallLot.depth).join(RecallLot, RecallLot.lot_id == Lot.id)
        .where(RecallLot.recall_id == recall.id))}


def test_a_recall_reaches_every_lot_made_from_it_each_at_its_number_of_steps(session):
    farmer = _user(session, "thuysan@demo.vn")
    recall = safety.recall_lot(session, lot_named(session, "TOM-A3-2608"), {"reason": "Dư lượng kháng sinh"}, farmer)
    assert (recall.organization_id, recall.user_id, recall.reason) == (
        farmer.organization_id, farmer.id, "Dư lượng kháng sinh")
    assert _recalled(session, recall) == {"TOM-A3-2608": 0, "TND-2611-01": 1, "TK-2611-01": 1}


def test_an_inspector_recalls_in_the_wards_name_and_the_command_line_in_the_owners(session):
    inspector, rice = _user(session, "kiemtra@demo.vn"), lot_named(session, "GAO-BH-2610A")
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"}, inspector)
    assert (recall.organization_id, recall.user_id) == (inspector.organization_id, inspector.id)
    assert inspector.organization_id != rice.organization_id
    shrimp = lot_named(session, "TOM-A7-2611")
    by_operator = safety.recall_lot(session, shrimp, {"reason": "Thu hồi"})
    assert (by_operator.organization_id, by_operator.user_id) == (shrimp.organization_id, None)


def test_a_lot_is_recalled_once_with_a_reason_of_at_most_500_characters(session):
    rice = lot_named(session, "GAO-BH-2610A")
    with pytest.raises(ValidationError) as long:
        safety.recall_lot(session, rice, {"reason": "x" * 501})
    assert long.value.errors == {"reason": "At most 500 characters."}
    assert safety.recall_lot(session, rice, {"reason": "x" * 500}).reason == "x" * 500
    with pytest.raises(ValidationError) as again:
        safety.recall_lot(session, rice, {"reason": "Lần nữa"})
    assert again.value.errors == {"reason": "This lot is already recalled."}
    assert len(session.exec(select(Recall).where(Recall.lot_id == rice.id)).all()) == 1


def _notice(rows) -> list:
    return [(row.organization.name, row.role, row.lot.code, row.quantity, row.unit, row.when, row.reference, row.status)
            for row in rows]


def test_a_recall_notice_lists_the_makers_first_then_each_receiver(session):
    """Makers first even when a receiver's name comes first in the alphabet: the processor received the shrimp."""
    recall = safety.recall_lot(session, lot_named(session, "TOM-A3-2608"), {"reason": "Dư lượng kháng sinh"})
    processor, farm = "Công ty CP Chế biến Thực phẩm Minh Đức", "Công ty TNHH Thủy sản nước lợ Bạch Đằng"
    received = session.exec(select(Event.event_time).join(Shipment, Shipment.id == Event.shipment_id)
                            .where(Shipment.reference == "HĐ-0004521", Event.step == "receiving")).one()
    assert _notice(safety.recall_notice(session, recall)) == [
        (processor, "maker", "TK-2611-01", Decimal("60"), "kg", None, "", "made"),
        (processor, "maker", "TND-2611-01", Decimal("980"), "kg", None, "", "made"),
        (farm, "maker", "TOM-A3-2608", Decimal("7800"), "kg", None, "", "made"),
        (processor, "receiver", "TOM-A3-2608", Decimal("800"), "kg", received, "inv HĐ-0004521", "received")]


def test_a_recall_notice_names_goods_still_on_their_way_with_their_delivery_note(session):
    rice, market = lot_named(session, "GAO-BH-2610A"), _user(session, "sieuthi@demo.vn")
    farmer = _user(session, "htx.lua@demo.vn")
    record_one(session, farmer.organization_id, farmer.id, "Asia/Ho_Chi_Minh", movements.record_shipping, {
        "to_organization_id": market.organization_id, "reference_type": "inv", "reference": "HĐ-2612-001",
        "time": (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=2)).isoformat(timespec="minutes"),
        "lines": [{"lot_id": rice.id, "quantity": "100"}]})
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    rows = [row for row in _notice(safety.recall_notice(session, recall)) if row[7] != "received"]
    assert rows == [
        ("HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên", "maker", "GAO-BH-2610A", Decimal("18500"), "kg", None, "",
         "made"),
        ("Siêu thị Nông sản sạch Thủy Nguyên", "receiver", "GAO-BH-2610A", Decimal("100"), "kg", None, "inv HĐ-2612-001",
         "in_transit")]


def test_a_lot_made_from_a_flagged_or_recalled_lot_may_not_be_labelled_and_says_why(session):
    shrimp, frozen, rice = (lot_named(session, code) for code in ("TOM-A3-2608", "TND-2611-01", "GAO-BH-2610A"))
    assert safety.lot_status(session, frozen).blocking_reason() is None
    safety.ensure_labellable(session, frozen)  # nothing against it
    flag = _flag(session, "TOM-A3-2608")
    reason = ("The lot, or a lot it was made from, is flagged: Harvested on 20/11/2026, inside the pre-harvest "
              "interval or withdrawal period of Hexaconazole 5SC (until 25/11/2026).")
    found = safety.statuses(session, [shrimp.id, frozen.id, rice.id])
    assert {lot_id: (status.recalled, status.flags) for lot_id, status in found.items()} == {
        shrimp.id: (False, [flag]), frozen.id: (False, [flag]), rice.id: (False, [])}
    with pytest.raises(ValidationError) as flagged:
        safety.ensure_labellable(session, frozen)
    assert flagged.value.errors == {"count": reason}
    flag.resolution = "destroyed"  # destroying the shrimp does not clear what was made from it
    assert safety.lot_status(session, frozen).blocking_reason() == reason
    flag.resolution = "cleared"
    assert safety.lot_status(session, frozen).blocking_reason() is None
    first = safety.recall_lot(session, frozen, {"reason": "Nhiệt độ kho"})
    first.recalled_at = utcnow() - timedelta(days=1)
    safety.recall_lot(session, shrimp, {"reason": "Dư lượng kháng sinh"})  # reaches the frozen shrimp too
    status = safety.lot_status(session, frozen)
    assert (status.recalled, status.recall) == (True, first)  # the first recall that reached it
    assert status.blocking_reason() == "The lot has been recalled: Nhiệt độ kho"
    assert safety.statuses(session, []) == {}


def test_a_lots_recall_history_keeps_lifted_recalls_newest_first(session):
    shrimp, frozen = lot_named(session, "TOM-A3-2608"), lot_named(session, "TND-2611-01")
    inspector = _user(session, "kiemtra@demo.vn")
    upstream = safety.recall_lot(session, shrimp, {"reason": "Dư lượng kháng sinh"})
    upstream.recalled_at = utcnow() - timedelta(days=2)
    lifted = safety.lift_recall(session, inspector, upstream.id, {"reason": "Mẫu lại đạt"})
    assert (lifted.lifted_by_user_id, lifted.lift_reason) == (inspector.id, "Mẫu lại đạt")
    assert safety.active_recall(session, frozen.id) is None
    own = safety.recall_lot(session, frozen, {"reason": "Nhiệt độ kho"})
    assert safety.recalls_of_lot(session, frozen.id) == [own, upstream]
    assert safety.recalls_of_lot(session, shrimp.id) == [upstream]
    assert safety.recalls_of_lot(session, lot_named(session, "TOM-A7-2611").id) == []


def test_a_recall_concerns_who_made_holds_or_was_shipped_the_lot_while_it_stands(session):
    rice, inspector = lot_named(session, "GAO-BH-2610A"), _user(session, "kiemtra@demo.vn")
    older = safety.recall_lot(session, lot_named(session, "TOM-A7-2611"), {"reason": "Tôm"})
    older.recalled_at = utcnow() - timedelta(days=1)
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    affected = {email: safety.recalls_affecting(session, _user(session, email).organization_id) for email in (
        "htx.lua@demo.vn", "sieuthi@demo.vn", "dulich@demo.vn", "thuysan@demo.vn", "chebien@demo.vn",
        "rau.huuco@demo.vn")}
    assert affected == {"htx.lua@demo.vn": [recall], "sieuthi@demo.vn": [recall], "dulich@demo.vn": [recall],
                        "thuysan@demo.vn": [older], "chebien@demo.vn": [older], "rau.huuco@demo.vn": []}
    safety.lift_recall(session, inspector, recall.id, {"reason": "Mẫu đạt"})
    assert safety.recalls_affecting(session, _user(session, "sieuthi@demo.vn").organization_id) == []


def test_a_recall_concerns_a_buyer_whose_goods_are_still_on_their_way(session):
    """The buyer must not sell what arrives: it is told before it receives, and holds, the lot."""
    rice, buyer, farmer = lot_named(session, "GAO-BH-2610A"), _user(session, "rau.huuco@demo.vn"), _user(
        session, "htx.lua@demo.vn")
    record_one(session, farmer.organization_id, farmer.id, "Asia/Ho_Chi_Minh", movements.record_shipping, {
        "to_organization_id": buyer.organization_id, "reference_type": "inv", "reference": "HĐ-2612-002",
        "time": (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=2)).isoformat(timespec="minutes"),
        "lines": [{"lot_id": rice.id, "quantity": "100"}]})
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    assert safety.recalls_affecting(session, buyer.organization_id) == [recall]


def test_the_recalls_concerning_an_organization_come_newest_first(session):
    farmer = _user(session, "htx.lua@demo.vn")
    first = safety.recall_lot(session, lot_named(session, "GAO-BH-2610A"), {"reason": "Nghi nhiễm nấm mốc"})
    rice_lots = session.exec(select(Lot).where(Lot.organization_id == farmer.organization_id,
                                               Lot.id != first.lot_id).order_by(Lot.id)).all()
    second = safety.recall_lot(session, rice_lots[0], {"reason": "Ẩm mốc"})
    assert second.recalled_at > first.recalled_at
    assert safety.recalls_affecting(session, farmer.organization_id) == [second, first]
