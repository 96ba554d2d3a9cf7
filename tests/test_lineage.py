"""Processing, shipping and receiving, trace back and forward, recall, pre-harvest flags, derived claims, corrections.

Everything through the JSON API a cooperative's system would use, on the demo ward, checked against the
database afterwards: a refusal must leave every table as it was.
"""
import threading
from decimal import Decimal
from trace.db import get_session
from trace.models import Event, EventLot, Holding, LabelRun, Lot, LotFlag, Recall, Shipment, User

import pytest
from sqlmodel import func, select

from .conftest import BASE_URL, element_texts
from .test_api import ago, token_for

TABLES = (Event, EventLot, Lot, Holding, Shipment, Recall, LotFlag, LabelRun)
RICE, SHRIMP = "htx.lua@demo.vn", "thuysan@demo.vn"


def snapshot(app) -> dict:
    """Row counts, and every holding's quantity: what a refused request must leave untouched."""
    with app.app_context():
        session = get_session()
        counts = {m.__name__: session.exec(select(func.count()).select_from(m)).one() for m in TABLES}
        counts["holdings"] = sorted((h.lot_id, h.organization_id, str(h.quantity)) for h in session.exec(select(Holding)))
        return counts


def held(app, code: str, email: str) -> Decimal:
    with app.app_context():
        session = get_session()
        org = session.exec(select(User).where(User.email == email)).one().organization_id
        lot = session.exec(select(Lot).where(Lot.code == code)).one()
        row = session.get(Holding, (lot.id, org))
        return row.quantity if row else Decimal(0)


def org_id(app, email: str) -> int:
    with app.app_context():
        return get_session().exec(select(User).where(User.email == email)).one().organization_id


def ids(client, token, what: str) -> dict:
    return {item.get("name") or item.get("name_vi"): item["id"] for item in client.get(f"/api/v1/{what}", headers=token).get_json()}


@pytest.fixture
def rice(demo_app):
    return token_for(demo_app, RICE)


def harvest_lot(client, token, code: str, quantity="1000", product="Thóc Bắc Hương tươi", site="Cánh đồng Phả Lễ",
                days_ago=2.0) -> dict:
    """A fresh paddy lot of the rice cooperative, harvested through the API."""
    r = client.post("/api/v1/batches", headers=token, json={
        "site_id": ids(client, token, "sites")[site], "product_id": ids(client, token, "products")[product],
        "code": f"B-{code}", "time": ago(days_ago + 60)})
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/batches/{r.get_json()['id']}/harvests", headers=token, json={
        "lot_code": code, "quantity": quantity, "unit": "kg", "time": ago(days_ago)})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def mill(client, token, inputs, output_code, quantity, product="Gạo Bắc Hương Thủy Nguyên", days_ago=1.0):
    return client.post("/api/v1/transformations", headers=token, json={
        "process": "milling", "time": ago(days_ago),
        "inputs": [{"gtin": gtin, "lot": code, "quantity": q, **extra} for gtin, code, q, *rest in inputs
                   for extra in [rest[0] if rest else {}]],
        "outputs": [{"product_id": ids(client, token, "products")[product], "lot": output_code, "quantity": quantity}]})


# --- transformation and stock ---

def test_transformation_consumes_inputs_and_makes_an_output_lot(demo_client, demo_app, rice):
    paddy = harvest_lot(demo_client, rice, "P-1")
    r = mill(demo_client, rice, [(paddy["gtin"], "P-1", "600")], "R-1", "390")
    assert r.status_code == 201, r.get_json()
    event = r.get_json()
    assert event["step"] == "transformation" and event["eventID"].startswith("ni:///sha-256;")
    assert sorted((line["lot"], line["role"], line["quantity"]) for line in event["lots"]) == [
        ("P-1", "input", "600"), ("R-1", "output", "390")]
    assert held(demo_app, "P-1", RICE) == Decimal("400") and held(demo_app, "R-1", RICE) == Decimal("390")


def test_consuming_more_than_remains_is_refused_and_writes_nothing(demo_client, demo_app, rice):
    paddy = harvest_lot(demo_client, rice, "P-2")
    assert mill(demo_client, rice, [(paddy["gtin"], "P-2", "600")], "R-2", "390").status_code == 201
    before = snapshot(demo_app)
    r = mill(demo_client, rice, [(paddy["gtin"], "P-2", "400.001")], "R-3", "260")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.get_json()["errors"]["inputs.0.quantity"] == (
        "Only 400 kg of lot P-2 is left; you cannot consume 400.001.")
    assert snapshot(demo_app) == before
    # The same paddy twice in one transformation is refused as well.
    r = mill(demo_client, rice, [(paddy["gtin"], "P-2", "200"), (paddy["gtin"], "P-2", "200")], "R-3", "260")
    assert r.status_code == 422 and r.get_json()["errors"]["inputs.1.lot"] == "This lot is listed twice."
    assert snapshot(demo_app) == before


def test_units_must_agree_or_be_converted_explicitly(demo_client, demo_app, rice):
    paddy = harvest_lot(demo_client, rice, "P-3", quantity="2000")
    before = snapshot(demo_app)
    r = mill(demo_client, rice, [(paddy["gtin"], "P-3", "10", {"unit": "túi"})], "R-4", "30")
    assert r.status_code == 422
    assert "give the quantity in kg, or a conversion factor" in r.get_json()["errors"]["inputs.0.unit"]
    assert snapshot(demo_app) == before
    # Tonnes convert to kilograms by themselves; bags of 50 kg need the factor said aloud.
    assert mill(demo_client, rice, [(paddy["gtin"], "P-3", "0.5", {"unit": "tấn"})], "R-4", "320").status_code == 201
    assert held(demo_app, "P-3", RICE) == Decimal("1500")
    r = mill(demo_client, rice, [(paddy["gtin"], "P-3", "10", {"unit": "túi", "factor": "50"})], "R-5", "320")
    assert r.status_code == 201
    assert held(demo_app, "P-3", RICE) == Decimal("1000")
    # A factor beside units the law converts is a slip (1 tấn at "1" would be 1 kg): refused.
    before = snapshot(demo_app)
    r = mill(demo_client, rice, [(paddy["gtin"], "P-3", "1", {"unit": "tấn", "factor": "1"})], "R-6", "600")
    assert r.status_code == 422
    assert r.get_json()["errors"]["inputs.0.unit"] == "tấn converts to kg by law; leave the conversion factor out."
    assert snapshot(demo_app) == before


def test_many_transformations_at_once_never_consume_more_than_the_lot(demo_app, demo_client, rice):
    paddy = harvest_lot(demo_client, rice, "P-4", quantity="1000")
    attempts, results = 14, []

    def consume(i):
        client = demo_app.test_client()
        results.append(mill(client, rice, [(paddy["gtin"], "P-4", "100")], f"RC-{i}", "65").status_code)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] * 10 + [422] * 4
    assert held(demo_app, "P-4", RICE) == Decimal("0")
    with demo_app.app_context():
        made = get_session().exec(select(func.count()).select_from(Lot).where(Lot.code.like("RC-%"))).one()
    assert made == 10


# --- shipping and receiving ---

def test_shipping_and_receiving_move_stock_between_organizations(demo_client, demo_app, rice):
    market = token_for(demo_app, "sieuthi@demo.vn")
    r = demo_client.post("/api/v1/shipments", headers=rice, json={
        "to_organization_id": org_id(demo_app, "sieuthi@demo.vn"), "reference": "PXK-TEST-1", "time": ago(1),
        "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "300"}]})
    assert r.status_code == 201, r.get_json()
    shipment_id = r.get_json()["shipment_id"]
    assert held(demo_app, "GAO-BH-2610A", RICE) == Decimal("18500") - 1300 - 300
    incoming = demo_client.get("/api/v1/shipments?status=in_transit", headers=market).get_json()
    assert [(s["id"], s["reference"], s["lines"][0]["quantity"]) for s in incoming] == [(shipment_id, "PXK-TEST-1", "300")]
    before = snapshot(demo_app)
    r = demo_client.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=market, json={
        "time": ago(0.5), "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "300.5"}]})
    assert r.status_code == 422 and r.get_json()["errors"]["lines.0.quantity"] == "More than was shipped (300 kg)."
    assert snapshot(demo_app) == before
    twice = {"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "100"}
    r = demo_client.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=market, json={
        "time": ago(0.5), "lines": [twice, {**twice, "quantity": "290"}]})
    assert r.status_code == 422 and r.get_json()["errors"] == {"lines.1.lot": "This lot is listed twice."}
    assert snapshot(demo_app) == before
    assert demo_client.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=rice,
                            json={"time": ago(0.5)}).status_code == 404  # not addressed to the shipper
    r = demo_client.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=market, json={
        "time": ago(0.5), "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "290"}]})
    assert r.status_code == 201, r.get_json()
    assert held(demo_app, "GAO-BH-2610A", "sieuthi@demo.vn") == Decimal("1000") + 290
    r = demo_client.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=market, json={"time": ago(0.4)})
    assert r.status_code == 422 and r.get_json()["errors"]["shipment"] == "This shipment was already received or cancelled."


def test_shipping_more_than_is_held_is_refused(demo_client, demo_app):
    market = token_for(demo_app, "sieuthi@demo.vn")
    before = snapshot(demo_app)
    r = demo_client.post("/api/v1/shipments", headers=market, json={
        "to_organization_id": org_id(demo_app, "dulich@demo.vn"), "reference": "PX-1", "time": ago(1),
        "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "1000.5"}]})
    assert r.status_code == 422
    assert r.get_json()["errors"]["lines.0.quantity"] == "Only 1000 kg of lot GAO-BH-2610A is left; you cannot ship 1000.5."
    assert snapshot(demo_app) == before


# --- trace back and forward ---

def test_trace_back_reaches_every_source_field_and_input_application(demo_client, demo_app, rice):
    r = demo_client.get("/api/v1/lots/08936045000014/GAO-XAT-2611/trace?direction=back", headers=rice)
    assert r.status_code == 200
    trace = r.get_json()
    assert trace["root"]["lot"] == "GAO-XAT-2611" and trace["root"]["depth"] == 0
    assert sorted((lot["lot"], lot["depth"], lot["site"], lot["quantity"], lot["unit"]) for lot in trace["lots"]) == [
        ("GAO-XAT-2611", 0, "Xưởng xay xát HTX Phục Lễ", "14300", "kg"),
        ("THOC-KB-2611", 1, "Ruộng hộ thành viên Kiền Bái", "6000", "kg"),
        ("THOC-PA-2611", 1, "Cánh đồng Phả Lễ", "7000", "kg"),
        ("THOC-PL-2611", 1, "Cánh đồng mẫu lớn Phục Lễ", "9000", "kg")]
    assert set(trace["lots"][0]) >= {"gtin", "lot", "product", "owner", "site", "quantity", "unit", "depth"}
    assert {(link["from"]["lot"], link["consumed"]) for link in trace["links"]} == {
        ("THOC-KB-2611", "6000"), ("THOC-PA-2611", "7000"), ("THOC-PL-2611", "9000")}
    steps = [event["step"] for event in trace["events"]]
    assert steps.count("harvest") == 3 and steps.count("transformation") == 1 and steps.count("planting") == 3
    assert [o["name"] for o in trace["organizations"]] == ["HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên"]


def test_trace_forward_names_every_receiver_with_quantities(demo_client, demo_app):
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    trace = demo_client.get("/api/v1/lots/08936048000011/TOM-A3-2608/trace?direction=forward",
                            headers=inspector).get_json()
    assert sorted((lot["lot"], lot["depth"]) for lot in trace["lots"]) == [
        ("TK-2611-01", 1), ("TND-2611-01", 1), ("TOM-A3-2608", 0)]
    receivers = {o["name"]: o["received"] for o in trace["organizations"] if "receiver" in o["roles"]}
    assert list(receivers) == ["Công ty CP Chế biến Thực phẩm Minh Đức"]
    (received,) = receivers["Công ty CP Chế biến Thực phẩm Minh Đức"]
    assert (received["lot"], received["shipped"], received["quantity"], received["status"],
            received["reference"]["number"]) == ("TOM-A3-2608", "800", "800", "received", "HĐ-0004521")
    rice_forward = demo_client.get("/api/v1/lots/08936045000014/GAO-BH-2610A/trace?direction=forward",
                                   headers=inspector).get_json()
    assert sorted((o["name"], r["quantity"]) for o in rice_forward["organizations"] for r in o["received"]) == [
        ("Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh", "295"), ("Siêu thị Nông sản sạch Thủy Nguyên", "1000")]


def test_trace_is_refused_to_an_organization_outside_the_chain(demo_client, demo_app):
    path = "/api/v1/lots/08936045000014/GAO-BH-2610A/trace?direction=forward"
    veg = token_for(demo_app, "rau.huuco@demo.vn")
    r = demo_client.get(path, headers=veg)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert demo_client.get(path, headers=token_for(demo_app, "sieuthi@demo.vn")).status_code == 200  # a receiver
    assert demo_client.get(path, headers=token_for(demo_app, "kiemtra@demo.vn")).status_code == 200
    assert demo_client.get("/api/v1/lots/08936048000011/TOM-A3-2608/trace", headers=veg).status_code == 403
    assert demo_client.get(path.replace("forward", "sideways"), headers=veg).status_code == 422
    assert demo_client.get("/api/v1/lots/08936045000014/NO-SUCH/trace", headers=veg).status_code == 404


def test_a_chain_shows_the_way_the_goods_went_and_no_other_buyer(demo_client, demo_app, rice):
    """The cooperative sells some paddy to the outlet, mills the rest and ships the rice to two shops (none of
    it received yet): each shop's trace shows its own delivery, never the other's nor the paddy sale."""
    market, outlet = token_for(demo_app, "sieuthi@demo.vn"), token_for(demo_app, "dulich@demo.vn")
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    paddy = harvest_lot(demo_client, rice, "P-SIDE", days_ago=3)

    def ship(gtin, code, quantity, to, reference):
        r = demo_client.post("/api/v1/shipments", headers=rice, json={
            "to_organization_id": org_id(demo_app, to), "reference": reference, "time": ago(0.5),
            "lines": [{"gtin": gtin, "lot": code, "quantity": quantity}]})
        assert r.status_code == 201, r.get_json()

    ship(paddy["gtin"], "P-SIDE", "100", "dulich@demo.vn", "SECRET-INV-77")
    assert mill(demo_client, rice, [(paddy["gtin"], "P-SIDE", "900")], "R-SIDE", "600").status_code == 201
    ship("08936045000014", "R-SIDE", "200", "sieuthi@demo.vn", "PXK-SIDE-1")
    ship("08936045000014", "R-SIDE", "100", "dulich@demo.vn", "PXK-SIDE-2")
    path = "/api/v1/lots/08936045000014/R-SIDE/trace?direction="

    def seen(token, direction):
        r = demo_client.get(path + direction, headers=token)
        assert r.status_code == 200, r.get_json()
        trace = r.get_json()
        references = sorted(e["reference"]["number"] for e in trace["events"] if "reference" in e)
        receipts = sorted(r["reference"]["number"] for o in trace["organizations"] for r in o["received"])
        return references, receipts

    assert seen(rice, "back") == (["PXK-SIDE-1", "PXK-SIDE-2"], [])
    assert seen(inspector, "back") == (["PXK-SIDE-1", "PXK-SIDE-2"], [])
    assert seen(market, "back") == (["PXK-SIDE-1"], [])
    assert seen(outlet, "back") == (["PXK-SIDE-2"], [])
    assert seen(market, "forward") == (["PXK-SIDE-1"], ["PXK-SIDE-1"])
    assert seen(rice, "forward") == (["PXK-SIDE-1", "PXK-SIDE-2"], ["PXK-SIDE-1", "PXK-SIDE-2"])
    document = demo_client.get("/api/v1/epcis/events?gtin=08936045000014&lot=R-SIDE", headers=market).get_json()
    shipping = [e for e in document["epcisBody"]["eventList"] if e["bizStep"] == "shipping"]
    assert [[t["bizTransaction"].rsplit(":", 1)[1] for t in e["bizTransactionList"]] for e in shipping] == [["PXK-SIDE-1"]]
    assert "SECRET-INV-77" not in str(document) and "PXK-SIDE-2" not in str(document)
    # Trace forward from the paddy: the cooperative sees the sale, the milling and the rice's deliveries; the
    # outlet, which bought 100 kg of it, sees its own purchase only, not the rice or the supermarket.
    assert seen_paddy(demo_client, rice, paddy["gtin"]) == (["PXK-SIDE-1", "PXK-SIDE-2", "SECRET-INV-77"],
                                                           ["P-SIDE", "R-SIDE"])
    assert seen_paddy(demo_client, outlet, paddy["gtin"]) == (["SECRET-INV-77"], ["P-SIDE"])


def seen_paddy(client, token, gtin):
    r = client.get(f"/api/v1/lots/{gtin}/P-SIDE/trace?direction=forward", headers=token)
    assert r.status_code == 200, r.get_json()
    trace = r.get_json()
    return (sorted(r["reference"]["number"] for o in trace["organizations"] for r in o["received"]),
            sorted(lot["lot"] for lot in trace["lots"]))


def test_a_cycle_in_bad_data_ends_the_trace(demo_app, demo_client):
    """Two lots each recorded as made from the other, written straight into the database."""
    with demo_app.app_context():
        session = get_session()
        a = session.exec(select(Lot).where(Lot.code == "THOC-PL-2611")).one()
        b = session.exec(select(Lot).where(Lot.code == "GAO-XAT-2611")).one()
        loop = Event(organization_id=a.organization_id, step="transformation", epcis_type="TransformationEvent",
                     biz_step="https://ref.gs1.org/cbv/BizStep-commissioning", event_time=a.created_at,
                     event_time_zone_offset="+07:00", details={})
        session.add(loop)
        session.flush()
        session.add_all([EventLot(event_id=loop.id, lot_id=b.id, role="input", quantity=1, unit="kg"),
                         EventLot(event_id=loop.id, lot_id=a.id, role="output", quantity=1, unit="kg")])
        session.commit()
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    for direction in ("back", "forward"):
        trace = demo_client.get(f"/api/v1/lots/08936045000014/GAO-XAT-2611/trace?direction={direction}",
                                headers=inspector).get_json()
        codes = sorted(lot["lot"] for lot in trace["lots"])
        assert "GAO-XAT-2611" in codes and "THOC-PL-2611" in codes and len(codes) == len(set(codes))
    result = demo_app.test_cli_runner().invoke(args=["trace", "08936045000014", "GAO-XAT-2611", "--direction", "back"])
    assert result.exit_code == 0 and "already on this path" in result.output


# --- recall ---

def test_a_recall_three_levels_up_reaches_a_labels_scan(demo_client, demo_app, rice):
    paddy = harvest_lot(demo_client, rice, "P-5")
    assert mill(demo_client, rice, [(paddy["gtin"], "P-5", "500")], "R-51", "320").status_code == 201
    rice_gtin = "08936045000014"
    assert mill(demo_client, rice, [(rice_gtin, "R-51", "300")], "R-52", "295").status_code == 201
    assert mill(demo_client, rice, [(rice_gtin, "R-52", "295")], "R-53", "290").status_code == 201
    label = demo_client.post(f"/api/v1/lots/{rice_gtin}/R-53/labels", headers=rice, json={"count": 1}).get_json()
    url = label["labels"][0]["url"].replace(BASE_URL, "")
    assert demo_client.get(url, headers={"Accept": "application/json"}).get_json()["lot"]["recalled"] is False
    r = demo_client.post(f"/api/v1/lots/{paddy['gtin']}/P-5/recall", headers=rice,
                         json={"reason": "Dư lượng thuốc BVTV vượt ngưỡng"})
    assert r.status_code == 201, r.get_json()
    recall = r.get_json()
    assert {row["lot"] for row in recall["notice"]} == {"P-5", "R-51", "R-52", "R-53"}
    facts = demo_client.get(url, headers={"Accept": "application/json"}).get_json()
    assert facts["verification"]["status"] == "genuine"  # the label is still ours; the lot is what changed
    assert (facts["lot"]["recalled"], facts["lot"]["recall_reason"]) == (True, "Dư lượng thuốc BVTV vượt ngưỡng")
    page = demo_client.get(url).get_data(as_text=True)
    verdict = [text for _, text in element_texts(page.split('<div class="verdict bad" role="alert">', 1)[1], "strong")]
    assert verdict[0] == "Đã thu hồi: không dùng, không bán sản phẩm này"  # the recall is the verdict's headline
    r = demo_client.post(f"/api/v1/lots/{rice_gtin}/R-53/labels", headers=rice, json={"count": 1})
    assert r.status_code == 422 and r.get_json()["errors"]["count"] == (
        "The lot has been recalled: Dư lượng thuốc BVTV vượt ngưỡng")
    # Only an inspector lifts it, with a reason, and the history keeps both.
    assert demo_client.post(f"/api/v1/recalls/{recall['id']}/lift", headers=rice,
                            json={"reason": "x"}).status_code == 404
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    r = demo_client.post(f"/api/v1/recalls/{recall['id']}/lift", headers=inspector,
                         json={"reason": "Kết quả kiểm nghiệm lại đạt"})
    assert r.status_code == 200 and r.get_json()["lift_reason"] == "Kết quả kiểm nghiệm lại đạt"
    assert demo_client.get(url, headers={"Accept": "application/json"}).get_json()["lot"]["recalled"] is False
    before = snapshot(demo_app)
    r = demo_client.post(f"/api/v1/recalls/{recall['id']}/lift", headers=inspector, json={"reason": "Lần nữa"})
    assert r.status_code == 422 and r.get_json()["errors"] == {"reason": "This recall was already lifted."}
    assert snapshot(demo_app) == before


def test_only_the_owner_or_an_inspector_recalls(demo_client, demo_app):
    before = snapshot(demo_app)
    r = demo_client.post("/api/v1/lots/08936045000014/GAO-BH-2610A/recall",
                         headers=token_for(demo_app, "sieuthi@demo.vn"), json={"reason": "x"})
    assert r.status_code == 404 and snapshot(demo_app) == before
    r = demo_client.post("/api/v1/lots/08936045000014/GAO-BH-2610A/recall",
                         headers=token_for(demo_app, "kiemtra@demo.vn"), json={})
    assert r.status_code == 422 and r.get_json()["errors"]["reason"] == "Required."
    assert snapshot(demo_app) == before


def test_a_recall_notice_lists_who_received_what(demo_client, demo_app):
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    recall = demo_client.post("/api/v1/lots/08936045000014/GAO-BH-2610A/recall", headers=inspector,
                              json={"reason": "Nghi nhiễm nấm mốc"}).get_json()
    received = sorted((row["organization"], row["quantity"], row["reference"], row["status"])
                      for row in recall["notice"] if row["role"] == "receiver")
    assert received == [("Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh", "295", "desadv PXK-2611-016", "received"),
                        ("Siêu thị Nông sản sạch Thủy Nguyên", "1000", "desadv PXK-2611-015", "received")]
    market = token_for(demo_app, "sieuthi@demo.vn")
    r = demo_client.get(f"/api/v1/recalls/{recall['id']}/notice.csv", headers=market)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Tổ chức / Organization,Vai trò / Role")
    assert any(line.startswith("Siêu thị Nông sản sạch Thủy Nguyên,receiver,Gạo Bắc Hương Thủy Nguyên,08936045000014,"
                               "GAO-BH-2610A,1000,kg,") for line in lines)
    assert demo_client.get(f"/api/v1/recalls/{recall['id']}", headers=token_for(demo_app, "rau.huuco@demo.vn")
                           ).status_code == 404


# --- pre-harvest interval ---

def test_a_harvest_inside_a_pre_harvest_interval_blocks_labels_of_everything_made_from_it(demo_client, demo_app, rice):
    r = demo_client.post("/api/v1/batches", headers=rice, json={
        "site_id": ids(demo_client, rice, "sites")["Cánh đồng Phả Lễ"],
        "product_id": ids(demo_client, rice, "products")["Thóc Bắc Hương tươi"], "code": "B-PHI", "time": ago(60)})
    batch = r.get_json()["id"]
    assert demo_client.post(f"/api/v1/batches/{batch}/inputs", headers=rice, json={
        "category": "pesticide", "input_name": "Hexaconazole 5SC", "dose": "1", "dose_unit": "lít/ha",
        "withholding_days": 14, "time": ago(5)}).status_code == 201
    r = demo_client.post(f"/api/v1/batches/{batch}/harvests", headers=rice, json={
        "lot_code": "P-PHI", "quantity": "800", "unit": "kg", "time": ago(1)})
    assert r.status_code == 201  # what happened in the field is recorded
    gtin = r.get_json()["gtin"]
    assert mill(demo_client, rice, [(gtin, "P-PHI", "800")], "R-PHI", "520", days_ago=0.5).status_code == 201
    for code in ("P-PHI", "R-PHI"):
        r = demo_client.post(f"/api/v1/lots/{gtin if code == 'P-PHI' else '08936045000014'}/{code}/labels",
                             headers=rice, json={"count": 1})
        assert r.status_code == 422
        assert r.get_json()["errors"]["count"].startswith("The lot, or a lot it was made from, is flagged: Harvested on")
        assert "Hexaconazole 5SC" in r.get_json()["errors"]["count"]
    with demo_app.app_context():
        flag = get_session().exec(select(LotFlag).join(Lot, Lot.id == LotFlag.lot_id).where(Lot.code == "P-PHI")).one()
    assert demo_client.post(f"/api/v1/flags/{flag.id}/clear", headers=rice,
                            json={"reason": "ok", "reference": "x"}).status_code == 404
    inspector = token_for(demo_app, "kiemtra@demo.vn")
    r = demo_client.post(f"/api/v1/flags/{flag.id}/clear", headers=inspector, json={"reason": "Đạt"})
    assert r.status_code == 422 and r.get_json()["errors"]["reference"] == "Required."
    r = demo_client.post(f"/api/v1/flags/{flag.id}/clear", headers=inspector, json={
        "reason": "Kiểm nghiệm dư lượng đạt", "reference": "KN-2611-099"})
    assert r.status_code == 200 and r.get_json()["resolution"] == "cleared"
    assert demo_client.post("/api/v1/lots/08936045000014/R-PHI/labels", headers=rice,
                            json={"count": 1}).status_code == 201


def test_only_an_interval_running_at_the_harvest_flags_it(demo_client, demo_app, rice):
    """A crop picked more than once: a spray after one picking, or one whose interval has run out, says
    nothing of that picking."""
    r = demo_client.post("/api/v1/batches", headers=rice, json={
        "site_id": ids(demo_client, rice, "sites")["Cánh đồng Phả Lễ"],
        "product_id": ids(demo_client, rice, "products")["Thóc Bắc Hương tươi"], "code": "B-PICKS", "time": ago(90)})
    batch = r.get_json()["id"]

    def spray(name, days_ago, withholding):
        assert demo_client.post(f"/api/v1/batches/{batch}/inputs", headers=rice, json={
            "category": "pesticide", "input_name": name, "dose": "1", "dose_unit": "lít/ha",
            "withholding_days": withholding, "time": ago(days_ago)}).status_code == 201

    def pick(code, days_ago):
        assert demo_client.post(f"/api/v1/batches/{batch}/harvests", headers=rice, json={
            "lot_code": code, "quantity": "100", "unit": "kg", "time": ago(days_ago)}).status_code == 201

    spray("Early spray", 60, 7)  # runs out 53 days ago
    spray("Late spray", 10, 14)  # runs until 4 days from now
    pick("PICK-40", 40)  # between the two: neither runs then
    pick("PICK-5", 5)  # inside the late spray's interval
    spray("Long spray", 50, 47)  # entered last, runs from 50 to 3 days ago: takes in both pickings
    with demo_app.app_context():
        flags = sorted((code, details["input"]) for code, details in get_session().exec(
            select(Lot.code, LotFlag.details).join(LotFlag, LotFlag.lot_id == Lot.id)
            .where(Lot.code.in_(["PICK-40", "PICK-5"]))).all())
    assert flags == [("PICK-40", "Long spray"), ("PICK-5", "Late spray")]


def test_a_late_entered_pesticide_flags_a_labelled_lot_and_its_scan_says_so(demo_client, demo_app, rice):
    """The paddy's own label, and the label of rice already milled from it, both say so."""
    paddy = harvest_lot(demo_client, rice, "P-LATE", days_ago=2)
    assert mill(demo_client, rice, [(paddy["gtin"], "P-LATE", "500")], "R-LATE", "320").status_code == 201
    urls = []
    for gtin, code in ((paddy["gtin"], "P-LATE"), ("08936045000014", "R-LATE")):
        label = demo_client.post(f"/api/v1/lots/{gtin}/{code}/labels", headers=rice, json={"count": 1}).get_json()
        urls.append(label["labels"][0]["url"].replace(BASE_URL, ""))
    for url in urls:
        assert demo_client.get(url, headers={"Accept": "application/json"}).get_json()["lot"]["flagged"] is False
    assert demo_client.post(f"/api/v1/batches/{paddy['batch_id']}/inputs", headers=rice, json={
        "category": "pesticide", "input_name": "Fipronil 5SC", "dose": "1", "dose_unit": "lít/ha",
        "withholding_days": 7, "time": ago(4)}).status_code == 201
    for url in urls:
        facts = demo_client.get(url, headers={"Accept": "application/json"}).get_json()
        assert facts["lot"]["flagged"] is True and "Fipronil 5SC" in facts["lot"]["flag_reason"]
        page = demo_client.get(url).get_data(as_text=True)
        headline, reason = page.split('<div class="verdict bad" role="alert"><strong>', 1)[1].split("</strong>", 1)
        assert headline == "Đang tạm giữ chờ kiểm tra an toàn: chưa dùng, chưa bán"
        assert "Fipronil 5SC" in reason.split("</div>", 1)[0]


# --- derived claims ---

def test_rice_milled_with_one_uncertified_field_claims_no_vietgap(demo_client, demo_app, rice):
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == "GAO-XAT-2611")).one()
        run = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).first()
        from trace import key_store
        from trace.services import labels
        url = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run, range(1, 2))[0].url
    facts = demo_client.get(url.replace(BASE_URL, ""), headers={"Accept": "application/json"}).get_json()
    assert facts["standards"] == [] and facts["certifications"] == []
    assert sorted(o["lot"] for o in facts["origins"]) == ["THOC-KB-2611", "THOC-PA-2611", "THOC-PL-2611"]
    page = demo_client.get(url.replace(BASE_URL, "")).get_data(as_text=True)
    assert "VietGAP" not in page
    claims = demo_client.get("/api/v1/lots/08936045000014/GAO-XAT-2611/claims", headers=rice).get_json()
    assert claims["schemes"]["vietgap"]["holds"] is False
    (missing,) = claims["schemes"]["vietgap"]["missing"]
    assert "THOC-KB-2611" in missing and "Ruộng hộ thành viên Kiền Bái" in missing
    assert demo_client.get("/api/v1/lots/08936045000014/GAO-XAT-2611/claims",
                           headers=token_for(demo_app, "sieuthi@demo.vn")).status_code == 403
    # Certify the last field on its harvest date, and the same rice becomes VietGAP.
    r = demo_client.post("/api/v1/certificates", headers=rice, json={
        "scheme": "vietgap", "certifier": "QUACERT", "number": "VG-KB-1", "valid_from": ago(200)[:10],
        "valid_to": ago(-200)[:10], "site_ids": [ids(demo_client, rice, "sites")["Ruộng hộ thành viên Kiền Bái"]]})
    assert r.status_code == 201
    facts = demo_client.get(url.replace(BASE_URL, ""), headers={"Accept": "application/json"}).get_json()
    assert facts["standards"] == ["vietgap"]
    assert sorted(c["number"] for c in facts["certifications"]) == [
        "VG-KB-1", "VietGAP-TT-24-08-0231", "VietGAP-TT-25-02-0117"]


def test_halal_comes_from_the_processor_and_globalgap_is_lost_in_the_mix(demo_client, demo_app):
    processor = token_for(demo_app, "chebien@demo.vn")
    claims = demo_client.get("/api/v1/lots/08936049000027/TND-2611-01/claims", headers=processor).get_json()
    assert claims["standards"] == ["halal", "vietgap"]
    assert claims["schemes"]["globalgap"]["holds"] is False
    assert "TOM-A3-2608" in claims["schemes"]["globalgap"]["missing"][0]


# --- corrections ---

def test_declaring_a_shipment_erroneous_gives_the_stock_back(demo_client, demo_app, rice):
    before = held(demo_app, "GAO-BH-2610A", RICE)
    r = demo_client.post("/api/v1/shipments", headers=rice, json={
        "to_organization_id": org_id(demo_app, "dulich@demo.vn"), "reference": "PXK-SAI", "time": ago(1),
        "lines": [{"gtin": "08936045000014", "lot": "GAO-BH-2610A", "quantity": "100"}]})
    event = r.get_json()
    assert held(demo_app, "GAO-BH-2610A", RICE) == before - 100
    r = demo_client.post(f"/api/v1/events/{event['id']}/error-declaration", headers=rice, json={})
    assert r.status_code == 422 and r.get_json()["errors"]["reason"] == "Required."
    r = demo_client.post(f"/api/v1/events/{event['id']}/error-declaration", headers=rice,
                         json={"reason": "Nhập nhầm số phiếu xuất"})
    assert r.status_code == 201
    assert held(demo_app, "GAO-BH-2610A", RICE) == before
    outlet = token_for(demo_app, "dulich@demo.vn")
    assert demo_client.get("/api/v1/shipments?status=in_transit", headers=outlet).get_json() == []
    assert demo_client.post(f"/api/v1/shipments/{event['shipment_id']}/receipt", headers=outlet,
                            json={"time": ago(0.5)}).status_code == 422
    r = demo_client.post(f"/api/v1/events/{event['id']}/error-declaration", headers=rice, json={"reason": "again"})
    assert r.status_code == 422
    with demo_app.app_context():
        assert get_session().get(Event, event["id"]).hash_id == event["eventID"]  # the event itself is untouched


def test_a_harvest_used_since_cannot_be_declared_erroneous(demo_client, demo_app, rice):
    paddy = harvest_lot(demo_client, rice, "P-ERR")
    assert mill(demo_client, rice, [(paddy["gtin"], "P-ERR", "100")], "R-ERR", "65").status_code == 201
    with demo_app.app_context():
        harvest = get_session().exec(select(Event).join(EventLot, EventLot.event_id == Event.id)
                                     .join(Lot, Lot.id == EventLot.lot_id)
                                     .where(Lot.code == "P-ERR", Event.step == "harvest")).one()
    before = snapshot(demo_app)
    r = demo_client.post(f"/api/v1/events/{harvest.id}/error-declaration", headers=rice, json={"reason": "sai"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["event"] == (
        "Lot P-ERR has been used, shipped or destroyed since: declare those events erroneous first.")
    assert snapshot(demo_app) == before
    assert demo_client.post(f"/api/v1/events/{harvest.id}/error-declaration",
                            headers=token_for(demo_app, SHRIMP), json={"reason": "x"}).status_code == 404


# --- containers ---

def test_packing_into_an_sscc_and_unpacking(demo_client, demo_app, rice):
    base = "/api/v1/lots/08936045000014/GAO-BH-2610A/packings"
    r = demo_client.post(base, headers=rice, json={"package_count": 5, "sscc": "089360450000000035", "time": ago(1)})
    assert r.status_code == 422 and r.get_json()["errors"]["sscc"] == "The SSCC check digit is wrong: it should be 8."
    r = demo_client.post(base, headers=rice, json={"package_count": 5, "sscc": "0893 6045 0000 0000 38",
                                                   "quantity": "100", "time": ago(1)})
    assert r.status_code == 201 and r.get_json()["epcis_type"] == "AggregationEvent"
    r = demo_client.post(base, headers=rice, json={"package_count": 5, "sscc": "089360450000000038", "time": ago(0.9)})
    assert r.status_code == 422 and r.get_json()["errors"]["sscc"] == "This SSCC is already packed and not unpacked since."
    r = demo_client.post("/api/v1/unpackings", headers=rice, json={"sscc": "089360450000000038", "time": ago(0.5)})
    assert r.status_code == 201 and [line["quantity"] for line in r.get_json()["lots"]] == ["100"]
    r = demo_client.post("/api/v1/unpackings", headers=rice, json={"sscc": "089360450000000038", "time": ago(0.4)})
    assert r.status_code == 422 and r.get_json()["errors"]["sscc"] == "No packed container of yours has this SSCC."


# --- the FSMA 204 spreadsheet ---

def test_fsma_spreadsheet_has_a_row_per_tracking_event_with_its_key_data(demo_client, demo_app):
    import io

    from openpyxl import load_workbook
    processor = token_for(demo_app, "chebien@demo.vn")
    r = demo_client.get("/api/v1/reports/fsma204?gtin=08936049000027&lot=TND-2611-01&direction=back", headers=processor)
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.data)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Sự kiện truy xuất / Critical tracking event", "Ngày / Date", "Giờ / Time",
                          "Mã lô truy xuất / Traceability lot code"]
    assert sheet.auto_filter.ref and sheet.freeze_panes == "A2"
    rows = [dict(zip(header, (cell.value for cell in row))) for row in sheet.iter_rows(min_row=2)]
    by_event = {}
    for row in rows:
        by_event.setdefault(row["Sự kiện truy xuất / Critical tracking event"], []).append(row)
    assert set(by_event) == {"Thu hoạch / Harvesting", "Làm lạnh / Cooling", "Đóng gói / Initial packing",
                             "Xuất hàng / Shipping", "Nhận hàng / Receiving", "Chế biến / Transformation"}
    made = [row for row in by_event["Chế biến / Transformation"] if row["Vai trò của lô / Lot role"] == "đầu ra / output"]
    assert [(row["Mã lô truy xuất / Traceability lot code"], row["Số lượng / Quantity"]) for row in made] == [
        ("(01)08936049000027(10)TND-2611-01", 980)]
    (shipped,) = by_event["Xuất hàng / Shipping"][:1]
    assert (shipped["Nơi gửi / Ship-from"], shipped["Nơi nhận / Ship-to"], shipped["Chứng từ / Reference document"]) == (
        "Công ty TNHH Thủy sản nước lợ Bạch Đằng", "Công ty CP Chế biến Thực phẩm Minh Đức", "inv HĐ-0004521")
    assert all(row["Mã sự kiện EPCIS / EPCIS event ID"].startswith("ni:///sha-256;") for row in rows)
    r = demo_client.get(f"/api/v1/reports/fsma204?from={ago(30)[:10]}&to={ago(0)[:10]}&format=csv",
                        headers=processor)
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeffSự kiện truy xuất / Critical tracking event,")
    assert "(01)08936049000034(10)TK-2611-01" in text and "TOM-A7" in text and "GAO-BH" not in text
    assert demo_client.get("/api/v1/reports/fsma204?from=2026-01-01&to=2028-01-01",
                           headers=processor).status_code == 422


def test_destroying_a_flagged_lot_resolves_its_flag_but_not_what_was_made_from_it(demo_client, demo_app, rice):
    r = demo_client.post("/api/v1/batches", headers=rice, json={
        "site_id": ids(demo_client, rice, "sites")["Cánh đồng Phả Lễ"],
        "product_id": ids(demo_client, rice, "products")["Thóc Bắc Hương tươi"], "code": "B-DES", "time": ago(60)})
    batch = r.get_json()["id"]
    demo_client.post(f"/api/v1/batches/{batch}/inputs", headers=rice, json={
        "category": "pesticide", "input_name": "Carbendazim", "dose": "1", "dose_unit": "lít/ha",
        "withholding_days": 14, "time": ago(5)})
    gtin = demo_client.post(f"/api/v1/batches/{batch}/harvests", headers=rice, json={
        "lot_code": "P-DES", "quantity": "800", "unit": "kg", "time": ago(1)}).get_json()["gtin"]
    assert mill(demo_client, rice, [(gtin, "P-DES", "300")], "R-DES", "190", days_ago=0.8).status_code == 201
    r = demo_client.post(f"/api/v1/lots/{gtin}/P-DES/destructions", headers=rice,
                         json={"reason": "Tiêu hủy theo yêu cầu của phường", "time": ago(0.5)})
    assert r.status_code == 201, r.get_json()
    assert held(demo_app, "P-DES", RICE) == 0
    with demo_app.app_context():
        (flag,) = get_session().exec(select(LotFlag).join(Lot, Lot.id == LotFlag.lot_id).where(Lot.code == "P-DES")).all()
    assert (flag.resolution, flag.resolution_reason) == ("destroyed", "Tiêu hủy theo yêu cầu của phường")
    r = demo_client.post("/api/v1/lots/08936045000014/R-DES/labels", headers=rice, json={"count": 1})
    assert r.status_code == 422 and "is flagged" in r.get_json()["errors"]["count"]


def test_a_flag_is_resolved_by_destruction_only_when_none_of_the_lot_is_left(demo_client, demo_app, rice):
    """Part of a flagged harvest went to the outlet: destroying the rest at the farm resolves nothing; once the
    outlet destroys its part the flag is resolved, and declaring that destruction a mistake opens it again."""
    outlet = token_for(demo_app, "dulich@demo.vn")
    r = demo_client.post("/api/v1/batches", headers=rice, json={
        "site_id": ids(demo_client, rice, "sites")["Cánh đồng Phả Lễ"],
        "product_id": ids(demo_client, rice, "products")["Thóc Bắc Hương tươi"], "code": "B-DES2", "time": ago(60)})
    batch = r.get_json()["id"]
    gtin = demo_client.post(f"/api/v1/batches/{batch}/harvests", headers=rice, json={
        "lot_code": "P-DES2", "quantity": "800", "unit": "kg", "time": ago(2)}).get_json()["gtin"]
    line = {"gtin": gtin, "lot": "P-DES2", "quantity": "100"}
    r = demo_client.post("/api/v1/shipments", headers=rice, json={
        "to_organization_id": org_id(demo_app, "dulich@demo.vn"), "reference": "PX-DES2", "time": ago(1.5),
        "lines": [line]})
    assert r.status_code == 201, r.get_json()
    shipment = r.get_json()["shipment_id"]
    # The spraying before the harvest is entered only now: the lot is flagged with 100 kg already sent.
    assert demo_client.post(f"/api/v1/batches/{batch}/inputs", headers=rice, json={
        "category": "pesticide", "input_name": "Carbendazim", "dose": "1", "dose_unit": "lít/ha",
        "withholding_days": 14, "time": ago(5)}).status_code == 201

    def resolution(*columns):
        with demo_app.app_context():
            found = get_session().exec(select(LotFlag.resolution, *columns).join(Lot, Lot.id == LotFlag.lot_id)
                                       .where(Lot.code == "P-DES2")).one()
            return tuple(found) if columns else found

    destroy = {"reason": "Tiêu hủy", "time": ago(1)}
    assert demo_client.post(f"/api/v1/lots/{gtin}/P-DES2/destructions", headers=rice, json=destroy).status_code == 201
    assert held(demo_app, "P-DES2", RICE) == 0 and resolution() is None  # 100 kg on the road
    assert demo_client.post(f"/api/v1/shipments/{shipment}/receipt", headers=outlet,
                            json={"time": ago(0.8), "lines": [line]}).status_code == 201
    assert resolution() is None  # the outlet holds it
    r = demo_client.post(f"/api/v1/lots/{gtin}/P-DES2/destructions", headers=outlet, json={**destroy, "time": ago(0.5)})
    assert r.status_code == 201, r.get_json()
    fields = (LotFlag.resolution_reason, LotFlag.resolution_reference, LotFlag.resolved_at, LotFlag.resolved_by_user_id)
    assert resolution(*fields)[:3] == ("destroyed", "Tiêu hủy", None)
    r = demo_client.post(f"/api/v1/events/{r.get_json()['id']}/error-declaration", headers=outlet,
                         json={"reason": "Nhầm lô"})
    assert r.status_code == 201, r.get_json()
    assert held(demo_app, "P-DES2", "dulich@demo.vn") == 100
    assert resolution(*fields) == (None, None, None, None, None)  # open again, with nothing of the destruction left
