"""The chain in the browser forms: process, ship, receive, recall, clear a flag, read a trace and a recall notice."""
import re
from decimal import Decimal
from trace.db import get_session
from trace.models import Lot, LotFlag, Organization, Recall, Shipment

import pytest
from sqlmodel import select

from .conftest import csrf_token, login, post_form
from .test_lineage import held, snapshot
from .test_producer_pages import local


def lot_id(app, code: str) -> int:
    with app.app_context():
        return get_session().exec(select(Lot).where(Lot.code == code)).one().id


def org_id(app, name_start: str) -> int:
    with app.app_context():
        return get_session().exec(select(Organization).where(Organization.name.startswith(name_start))).one().id


@pytest.fixture
def rice(demo_client):
    demo_client.set_cookie("lang", "en")
    login(demo_client, "htx.lua@demo.vn")
    return demo_client


def test_processing_in_the_form_makes_a_lot_from_held_stock(rice, demo_app):
    source = lot_id(demo_app, "GAO-BH-2610A")
    r = post_form(rice, "/producer/stock", {
        "process": "grading", "time": local(0.5), "note": "Đóng túi 2 kg",
        "inputs-0-lot_id": str(source), "inputs-0-quantity": "100", "inputs-1-lot_id": "", "inputs-1-quantity": "",
        "outputs-0-product_id": str(_product_id(demo_app, "Gạo Bắc Hương Thủy Nguyên")), "outputs-0-lot": "GAO-2KG-01",
        "outputs-0-quantity": "99"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert held(demo_app, "GAO-2KG-01", "htx.lua@demo.vn") == Decimal("99")
    page = rice.get(f"/producer/lots/{lot_id(demo_app, 'GAO-2KG-01')}/trace?direction=back").get_data(as_text=True)
    assert "GAO-2KG-01" in page and "GAO-BH-2610A" in page and "used 100 kg" in page


def _product_id(app, name: str) -> int:
    from trace.models import Product
    with app.app_context():
        return get_session().exec(select(Product).where(Product.name_vi == name)).one().id


def test_consuming_too_much_in_the_form_says_so_and_writes_nothing(rice, demo_app):
    before = snapshot(demo_app)
    r = post_form(rice, "/producer/stock", {
        "process": "milling", "time": local(0.5),
        "inputs-0-lot_id": str(lot_id(demo_app, "GAO-BH-2610A")), "inputs-0-quantity": "20000",
        "outputs-0-product_id": str(_product_id(demo_app, "Gạo Bắc Hương Thủy Nguyên")), "outputs-0-lot": "X-1",
        "outputs-0-quantity": "1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Only 17200 kg of lot GAO-BH-2610A is left; you cannot consume 20000." in page
    assert snapshot(demo_app) == before


def test_a_shop_receives_a_shipment_in_the_form_with_what_it_counted(rice, demo_app, demo_client):
    market = org_id(demo_app, "Siêu thị")
    r = post_form(rice, "/producer/shipments", {
        "to_organization_id": str(market), "reference_type": "desadv", "reference": "PXK-WEB-1", "time": local(1),
        "lines-0-lot_id": str(lot_id(demo_app, "GAO-BH-2610A")), "lines-0-quantity": "200"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    rice.post("/logout", data={"csrf_token": csrf_token(rice, "/producer/")})
    login(demo_client, "sieuthi@demo.vn")
    home = demo_client.get("/retailer/").get_data(as_text=True)
    assert "1 shipments to receive" in home
    with demo_app.app_context():
        shipment = get_session().exec(select(Shipment).where(Shipment.reference == "PXK-WEB-1")).one()
    path = f"/retailer/shipments/{shipment.id}"
    field = f"received-{lot_id(demo_app, 'GAO-BH-2610A')}"
    r = post_form(demo_client, path, {field: "250", "time": local(0.5)})
    assert r.status_code == 422 and "More than was shipped (200 kg)." in r.get_data(as_text=True)
    r = post_form(demo_client, path, {field: "196", "time": local(0.5)})
    assert r.status_code == 302
    assert held(demo_app, "GAO-BH-2610A", "sieuthi@demo.vn") == Decimal("1196")
    assert "Received" in demo_client.get("/retailer/shipments").get_data(as_text=True)


def test_the_recall_button_reaches_every_receiver_and_the_scan(rice, demo_app, demo_client):
    milled = lot_id(demo_app, "GAO-BH-2610A")
    r = post_form(rice, f"/producer/lots/{milled}", {"form": "recall", "reason": "Phát hiện mọt"})
    assert r.status_code == 302
    with demo_app.app_context():
        recall = get_session().exec(select(Recall)).one()
    page = rice.get(f"/producer/lots/{milled}").get_data(as_text=True)
    assert 'class="recall"' in page and "Phát hiện mọt" in page
    notice = rice.get(f"/retailer/recalls/{recall.id}").get_data(as_text=True)
    assert "Siêu thị Nông sản sạch Thủy Nguyên" in notice and "PXK-2611-015" in notice
    assert "Quầy đặc sản – Điểm du lịch sinh thái Tràng Kênh" in notice and "295 kg" in notice
    csv = rice.get(f"/retailer/recalls/{recall.id}.csv")
    assert csv.mimetype == "text/csv" and "PXK-2611-016" in csv.get_data(as_text=True)
    rice.post("/logout", data={"csrf_token": csrf_token(rice, "/producer/")})
    login(demo_client, "dulich@demo.vn")
    home = demo_client.get("/retailer/").get_data(as_text=True)
    assert "Recall affecting goods you made, hold or received" in home and "Phát hiện mọt" in home
    assert demo_client.get(f"/retailer/recalls/{recall.id}").status_code == 200  # the outlet received some


def test_an_inspector_clears_a_flag_from_the_ward_page(demo_client, demo_app):
    demo_client.set_cookie("lang", "en")
    login(demo_client, "htx.lua@demo.vn")
    r = post_form(demo_client, "/producer/batches", {
        "site_id": str(_site_id(demo_app, "Cánh đồng Phả Lễ")), "product_id": str(_product_id(demo_app, "Thóc Bắc Hương tươi")),
        "code": "B-WEB", "time": local(40)})
    batch = r.headers["Location"]
    post_form(demo_client, batch, {"form": "input", "category": "pesticide", "input_name": "Chlorpyrifos",
                                   "dose": "1", "dose_unit": "l/ha", "withholding_days": "21", "time": local(5)})
    r = post_form(demo_client, batch, {"form": "harvest", "lot_code": "P-WEB", "quantity": "500", "unit": "kg",
                                       "time": local(1)})
    lot_page = r.headers["Location"]
    assert "On hold: no labels, no shipping" in demo_client.get(lot_page).get_data(as_text=True)
    # Rice milled from it is on hold too, on its page and on its trace.
    r = post_form(demo_client, "/producer/stock", {
        "process": "milling", "time": local(0.5), "inputs-0-lot_id": str(lot_id(demo_app, "P-WEB")),
        "inputs-0-quantity": "100", "outputs-0-product_id": str(_product_id(demo_app, "Gạo Bắc Hương Thủy Nguyên")),
        "outputs-0-lot": "R-WEB", "outputs-0-quantity": "65"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    milled = f"/producer/lots/{lot_id(demo_app, 'R-WEB')}"
    for page in (milled, milled + "/trace?direction=back", milled + "/trace?direction=forward"):
        assert "On hold: no labels, no shipping" in demo_client.get(page).get_data(as_text=True), page
    demo_client.post("/logout", data={"csrf_token": csrf_token(demo_client, "/producer/")})
    login(demo_client, "kiemtra@demo.vn")
    home = demo_client.get("/ward/").get_data(as_text=True)
    assert "P-WEB" in home and "on hold" in home
    found = demo_client.get("/ward/?q=08936045000021+P-WEB")
    assert found.status_code == 302
    ward_lot = found.headers["Location"]
    by_url = demo_client.get("/ward/", query_string={"q": " https://id.gs1.org/01/08936045000021/10/P-WEB/21/7 "})
    assert by_url.status_code == 302 and by_url.headers["Location"] == ward_lot
    for query in ("08936045000021", "08936045000022 P-WEB", "08936045000021 P-NONE", "https://x.vn/01/08936045000021",
                  "x" * 3000):
        r = demo_client.get("/ward/", query_string={"q": query})
        assert r.status_code == 200 and "No lot found" in r.get_data(as_text=True), query
    with demo_app.app_context():
        flag = get_session().exec(select(LotFlag).join(Lot, Lot.id == LotFlag.lot_id).where(Lot.code == "P-WEB")).one()
    r = post_form(demo_client, ward_lot, {"form": "clear", "target_id": str(flag.id), "reason": "Đạt"})
    assert r.status_code == 422 and "Required." in r.get_data(as_text=True)
    r = post_form(demo_client, ward_lot, {"form": "clear", "target_id": str(flag.id), "reason": "Kiểm nghiệm đạt",
                                          "reference": "KN-1"})
    assert r.status_code == 302
    page = demo_client.get(ward_lot).get_data(as_text=True)
    assert "Kiểm nghiệm đạt" in page and "KN-1" in page


def _site_id(app, name: str) -> int:
    from trace.models import Site
    with app.app_context():
        return get_session().exec(select(Site).where(Site.name == name)).one().id


def test_chain_pages_are_closed_to_others(demo_client, demo_app):
    login(demo_client, "rau.huuco@demo.vn")
    milled = lot_id(demo_app, "GAO-XAT-2611")
    assert demo_client.get(f"/producer/lots/{milled}").status_code == 404
    assert demo_client.get(f"/producer/lots/{milled}/trace").status_code == 404
    assert demo_client.get(f"/producer/lots/{milled}/epcis.jsonld").status_code == 404
    assert demo_client.get("/ward/").status_code == 403
    with demo_app.app_context():
        shipment = get_session().exec(select(Shipment)).first()
    assert demo_client.get(f"/producer/shipments/{shipment.id}").status_code == 404
    # A processor sees a lot it was shipped (and has used up since), but not its labels.
    demo_client.post("/logout", data={"csrf_token": csrf_token(demo_client, "/producer/")})
    login(demo_client, "chebien@demo.vn")
    page = demo_client.get(f"/producer/lots/{lot_id(demo_app, 'TOM-A7-2611')}")
    assert page.status_code == 200 and "Issue labels" not in page.get_data(as_text=True)


def test_history_marks_a_corrected_event_for_its_owner(rice, demo_app):
    source = lot_id(demo_app, "GAO-BH-2610A")
    r = post_form(rice, f"/producer/lots/{source}", {"form": "storing", "site_id": str(_site_id(demo_app, "Xưởng xay xát HTX Phục Lễ")),
                                                     "temperature_c": "-4", "time": local(0.5)})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    page = rice.get(f"/producer/lots/{source}").get_data(as_text=True)
    event_id = re.findall(r'name="event_id" value="(\d+)"', page)[-1]
    r = post_form(rice, f"/producer/lots/{source}", {"form": "error", "event_id": event_id, "reason": "Nhầm kho",
                                                     "reason_code": "did_not_occur"})
    assert r.status_code == 302
    page = rice.get(f"/producer/lots/{source}").get_data(as_text=True)
    assert 'class="voided"' in page and "Nhầm kho" in page and "Did not happen" in page
