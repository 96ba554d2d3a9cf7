"""Flags and recalls at the service: an inspector clears a flag once, a flag's reason worded, what the ward sees
first, and who may read a recall's notice."""
from datetime import timedelta
from trace.models import LotFlag, Recall, User, utcnow
from trace.services import safety
from trace.services.errors import NotFound, ValidationError

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
