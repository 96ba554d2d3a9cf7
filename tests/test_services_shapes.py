"""The JSON shapes, whole: every key a client reads, with its value in the form the API promises (ISO dates,
quantities as plain decimal text, null where nothing was given)."""
from datetime import date, timedelta, timezone
from trace.models import Batch, Certificate, Event, LabelRun, LotFlag, OcopRating, Product, Shipment, Site, utcnow
from trace.services import claims, labels, reports, safety, shapes

from sqlmodel import select

from .conftest import lot_named

DAY = date(2026, 12, 1)
HANOI = timezone(timedelta(hours=7))


def _one(session, model, **where):
    return session.exec(select(model).filter_by(**where)).one()


def test_a_site_with_its_map_link_and_one_without_a_location(session):
    field = _one(session, Site, name="Cánh đồng Phả Lễ")
    assert shapes.site_json(field) == {
        "id": field.id, "name": "Cánh đồng Phả Lễ", "kind": "rice_field", "crop": "Lúa Bắc Hương", "area_ha": "5.1000",
        "farming_method": None, "address": "Xứ đồng Phả Lễ, phường Thủy Nguyên, TP. Hải Phòng",
        "location": {"type": "Point", "coordinates": [106.6623, 20.9402]},
        "map": "https://www.openstreetmap.org/?mlat=20.94020&mlon=106.66230#map=16/20.94020/106.66230"}
    field.location, field.area_ha = None, None
    assert {key: shapes.site_json(field)[key] for key in ("area_ha", "location", "map")} == {
        "area_ha": None, "location": None, "map": None}


def test_an_ocop_rating_and_the_product_it_rates(session):
    rating = _one(session, OcopRating, decision_number="1502/QĐ-UBND")
    rated = {"id": rating.id, "product_id": rating.product_id, "stars": 4, "decision_number": "1502/QĐ-UBND",
             "issued_on": rating.issued_on.isoformat(), "valid_until": rating.valid_until.isoformat(),
             "issuing_level": "city"}
    assert shapes.ocop_json(rating) == rated and shapes.ocop_json(None) is None
    rice = session.get(Product, rating.product_id)
    assert shapes.product_json(session, rice, DAY) == {
        "id": rice.id, "gtin": "08936045000014", "name_vi": "Gạo Bắc Hương Thủy Nguyên",
        "name_en": "Thuy Nguyen Bac Huong rice", "category": "Gạo", "unit": "kg", "shelf_life_days": 365,
        "ocop": rated}
    assert shapes.product_json(session, rice, rating.valid_until.replace(year=rating.valid_until.year + 1))["ocop"] is None


def test_a_certificate_with_its_status_that_day_and_what_it_covers(session):
    lapsed = _one(session, Certificate, number="VietGAP-TT-24-11-0098")
    site, product = _one(session, Site, name="Vùng rau an toàn Hoa Động"), _one(session, Product,
                                                                                 name_vi="Rau muống an toàn Hoa Động")
    expected = {"id": lapsed.id, "scheme": "vietgap", "standard": "TCVN 11892-1:2017",
                "certifier": "Chi cục Trồng trọt và BVTV Hải Phòng", "certifier_en": None,
                "number": "VietGAP-TT-24-11-0098", "valid_from": lapsed.valid_from.isoformat(),
                "valid_until": lapsed.valid_to.isoformat(), "status_today": "expired", "valid_today": False,
                "site_ids": [site.id], "product_ids": [product.id], "sites": ["Vùng rau an toàn Hoa Động"],
                "products": ["Rau muống an toàn Hoa Động"]}
    assert shapes.certificate_json(session, lapsed, lapsed.valid_to.replace(year=lapsed.valid_to.year + 1)) == expected
    assert shapes.certificate_json(session, lapsed, lapsed.valid_to) == {
        **expected, "status_today": "active", "valid_today": True}
    assert shapes.certificate_json(session, lapsed, lapsed.valid_to, status="suspended") == {
        **expected, "status_today": "suspended", "valid_today": False}  # as the caller computed it
    lapsed.certifier_en = "Hai Phong Sub-Department of Plant Protection"
    assert shapes.certificate_json(session, lapsed, DAY)["certifier_en"] == lapsed.certifier_en


def test_a_lot_and_a_label_run(session):
    rice = lot_named(session, "GAO-BH-2610A")
    assert shapes.lot_json(session, rice, session.get(Product, rice.product_id)) == {
        "id": rice.id, "gtin": "08936045000014", "code": "GAO-BH-2610A", "product": "Gạo Bắc Hương Thủy Nguyên",
        "quantity": "18500.000", "unit": "kg", "produced_on": rice.produced_on.isoformat(), "batch_id": rice.batch_id,
        "recalled": False}
    safety.recall_lot(session, rice, {"reason": "Thử"})
    assert shapes.lot_json(session, rice, session.get(Product, rice.product_id))["recalled"] is True
    run = session.exec(select(LabelRun).where(LabelRun.lot_id == rice.id).order_by(LabelRun.id)).first()
    issued = {"run_id": run.id, "first_serial": run.first_serial, "last_serial": run.last_serial, "count": run.count,
              "status": "issued", "issued_at": run.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "over_issue_reason": None,
              "cancelled_at": None, "cancel_reason": None}
    assert shapes.run_json(run) == issued and run.count == run.last_serial - run.first_serial + 1
    labels.cancel_run(session, run, "In lệch khổ giấy")
    assert shapes.run_json(run) == {**issued, "status": "cancelled", "cancel_reason": "In lệch khổ giấy",
                                    "cancelled_at": run.cancelled_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_a_shipment_and_its_shipping_event(session):
    shipment = _one(session, Shipment, reference="PXK-2611-015")
    shipping = _one(session, Event, shipment_id=shipment.id, step="shipping")
    assert shapes.shipment_json(session, shipment, shipping) == {
        "id": shipment.id, "status": "received", "from_organization_id": shipment.from_organization_id,
        "to_organization_id": shipment.to_organization_id, "reference_type": "desadv", "reference": "PXK-2611-015",
        "shipped": f"{shipping.event_time.astimezone(HANOI).date().isoformat()}T07:00+07:00",  # at its own offset
        "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "product": "Gạo Bắc Hương Thủy Nguyên",
                   "quantity": "1000", "unit": "kg"}]}
    recorded = shapes.recorded_event_json(session, shipping)
    assert recorded == {
        "id": shipping.id, "step": "shipping", "epcis_type": "ObjectEvent", "action": "OBSERVE",
        "biz_step": "https://ref.gs1.org/cbv/BizStep-shipping", "time": recorded["time"], "site": None, "details": {},
        "eventID": shipping.hash_id, "shipment_id": shipment.id,
        "lots": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "role": "observed", "quantity": "1000",
                  "unit": "kg"}]}
    assert recorded["time"] == shapes.shipment_json(session, shipment, shipping)["shipped"]


def test_a_batch_with_its_timeline(session):
    pond = session.get(Batch, lot_named(session, "TOM-A3-2608").batch_id)
    plain = {"id": pond.id, "code": "AO3-V1-2026", "site_id": pond.site_id, "product_id": pond.product_id,
             "started_on": pond.started_on.isoformat()}
    assert shapes.batch_json(session, pond, pond.organization_id) == plain
    timeline = shapes.batch_json(session, pond, pond.organization_id, with_timeline=True)["timeline"]
    stocking = _one(session, Event, batch_id=pond.id, step="stocking")
    assert timeline[0] == {
        "id": stocking.id, "step": "stocking", "epcis_type": "ObjectEvent", "action": "OBSERVE",
        "biz_step": "urn:thuynguyen-trace:bizstep:stocking", "time": f"{pond.started_on.isoformat()}T07:00+07:00",
        "site": "Ao nuôi số 3 (bán thâm canh)",
        "details": {"species": "Tôm thẻ chân trắng", "quantity": "600000", "unit": "con"}, "lots": []}
    assert [entry["lots"] for entry in timeline if entry["step"] == "harvest"] == [["TOM-A3-2608"]]


def test_what_a_lot_may_claim_and_a_cleared_flag(session):
    assert shapes.claims_json(claims.derive(session, lot_named(session, "TND-2611-01"))) == {
        "standards": ["halal", "vietgap"],
        "schemes": {"globalgap": {"holds": False, "missing": [
            "Tôm thẻ chân trắng Bạch Đằng · TOM-A3-2608, harvested on "
            f"{lot_named(session, 'TOM-A3-2608').produced_on.strftime('%d/%m/%Y')} at Ao nuôi số 3 (bán thâm canh) "
            "(Công ty TNHH Thủy sản nước lợ Bạch Đằng): no GlobalG.A.P. certificate in force that day."]},
            "halal": {"holds": True, "missing": []}, "vietgap": {"holds": True, "missing": []}}}
    (flag,) = session.exec(select(LotFlag)).all()
    assert shapes.flag_json(flag) == {
        "id": flag.id, "lot_id": flag.lot_id, "kind": "pre_harvest_interval", "reason": "", "resolution": "cleared",
        "resolution_reason": "Mẫu quả kiểm nghiệm dư lượng Abamectin dưới giới hạn tối đa (MRL 0,01 mg/kg).",
        "resolution_reference": "Phiếu KN-2611-047, Trung tâm Kiểm nghiệm Hải Phòng"}


def test_a_recall_with_its_notice_and_once_lifted(session):
    rice = lot_named(session, "GAO-BH-2610A")
    recall = safety.recall_lot(session, rice, {"reason": "Nghi nhiễm nấm mốc"})
    shaped = shapes.recall_json(session, recall)
    assert {key: value for key, value in shaped.items() if key != "notice"} == {
        "id": recall.id, "reason": "Nghi nhiễm nấm mốc", "recalled_at": recall.recalled_at.isoformat(),
        "lifted_at": None, "lift_reason": None}
    assert shaped["notice"] == [reports.notice_row_json(row) for row in safety.recall_notice(session, recall)] != []
    assert shapes.recall_json(session, recall, rows=[])["notice"] == []  # the rows the caller already has
    recall.lifted_at, recall.lift_reason = utcnow(), "Kiểm nghiệm lại đạt"
    lifted = shapes.recall_json(session, recall, rows=[])
    assert (lifted["lifted_at"], lifted["lift_reason"]) == (recall.lifted_at.isoformat(), "Kiểm nghiệm lại đạt")


def test_a_declaration_that_an_event_was_wrong(session):
    from trace.models import User
    from trace.services import corrections
    from trace.services.ledger import record_one
    storing = session.exec(select(Event).where(Event.step == "storing")).first()
    keeper = session.exec(select(User).where(User.organization_id == storing.organization_id)).first()
    declared = record_one(session, storing.organization_id, keeper.id, "Asia/Ho_Chi_Minh", corrections.declare_error,
                          storing.id, {"reason": "Ghi nhầm số lượng", "reason_code": "incorrect_data"})
    assert shapes.declaration_json(declared) == {"id": declared.id, "corrects_event_id": storing.id,
                                                 "reason": "Ghi nhầm số lượng", "reason_code": "incorrect_data"}
