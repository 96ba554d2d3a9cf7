"""A producer records a batch's life in the browser forms; bad input is refused and writes nothing."""
import io
import re
from datetime import datetime, timedelta
from trace import clock
from trace.db import get_session
from trace.models import SITE_KINDS, Batch, Certificate, Event, Lot, OcopRating, Product, Site
from trace.queue import run_pending

import pypdfium2
import pytest
from PIL import Image
from sqlmodel import func, select

from .conftest import csrf_token, element_texts, field_errors, login, post_form


def count(app, model) -> int:
    with app.app_context():
        return get_session().exec(select(func.count()).select_from(model)).one()


def local(days_ago: float) -> str:
    return (datetime.now() - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def producer(demo_client):
    """A producer who reads the pages in English (messages below are checked in English)."""
    demo_client.set_cookie("lang", "en")
    login(demo_client, "htx.lua@demo.vn")
    return demo_client


def test_form_errors_are_in_vietnamese_by_default(demo_client, demo_app):
    login(demo_client, "htx.lua@demo.vn")
    r = post_form(demo_client, "/producer/products", {"name_vi": "Gạo", "unit": "kg", "gtin": "8936045000018"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and '<html lang="vi">' in page
    assert "Chưa lưu được" in page and "Số kiểm tra của mã GTIN không đúng: phải là 4." in page


def own_ids(app, model, email="htx.lua@demo.vn"):
    from trace.models import User
    with app.app_context():
        session = get_session()
        org = session.exec(select(User).where(User.email == email)).one().organization_id
        return [row.id for row in session.exec(select(model).where(model.organization_id == org)).all()]


def test_full_recording_flow_through_the_forms(producer, demo_app):
    r = post_form(producer, "/producer/sites", {"name": "Ruộng thử nghiệm Đông Sơn", "kind": "rice_field",
                                                 "crop": "Lúa Đài Thơm 8", "area_ha": "5,25",
                                                 "location": "20.93 106.67; 20.94 106.67; 20.94 106.68"})
    assert r.status_code == 302
    r = post_form(producer, "/producer/products", {"name_vi": "Gạo Đài Thơm 8", "unit": "kg", "shelf_life_days": "180"})
    assert r.status_code == 302
    product_id = int(re.search(r"/producer/products/(\d+)", r.headers["Location"]).group(1))
    r = post_form(producer, f"/producer/products/{product_id}", {"stars": "3", "decision_number": "99/QĐ-UBND",
                                                                 "issued_on": "2026-01-15", "issuing_level": "ward"})
    assert r.status_code == 302
    with demo_app.app_context():
        session = get_session()
        product = session.get(Product, product_id)
        assert product.gtin.startswith("08936045") and len(product.gtin) == 14
        rating = session.exec(select(OcopRating).where(OcopRating.product_id == product_id)).one()
        assert rating.valid_until.isoformat() == "2029-01-14"  # 36 months
        site = session.exec(select(Site).where(Site.name == "Ruộng thử nghiệm Đông Sơn")).one()
        assert str(site.area_ha) == "5.2500" and site.location["type"] == "Polygon"
    r = post_form(producer, "/producer/certificates", {
        "scheme": "vietgap", "certifier": "Trung tâm Chứng nhận phù hợp", "certifier_en": "Vietnam Certification Centre",
        "number": "VG-NEW-1", "valid_from": "2026-01-01", "valid_to": "2027-12-31", "site_ids": [str(site.id)]})
    assert r.status_code == 302
    with demo_app.app_context():
        certificate = get_session().exec(select(Certificate).where(Certificate.number == "VG-NEW-1")).one()
        assert (certificate.certifier, certificate.certifier_en) == ("Trung tâm Chứng nhận phù hợp",
                                                                     "Vietnam Certification Centre")
    r = post_form(producer, "/producer/batches", {"site_id": site.id, "product_id": product_id, "code": "DT8-2026",
                                                   "time": local(100), "variety": "Đài Thơm 8"})
    assert r.status_code == 302
    batch_path = r.headers["Location"]
    r = post_form(producer, batch_path, {"form": "input", "category": "pesticide", "input_name": "Tricyclazole 75WP",
                                         "dose": "0.3", "dose_unit": "kg/ha", "withholding_days": "14",
                                         "time": local(30)})
    assert r.status_code == 302
    r = post_form(producer, batch_path, {"form": "harvest", "lot_code": "DT8-2611", "quantity": "5200",
                                         "unit": "kg", "time": local(2)})
    assert r.status_code == 302
    lot_path = r.headers["Location"]
    r = post_form(producer, lot_path, {"form": "packing", "package_count": "1040", "package_size": "5",
                                       "package_unit": "kg", "packaging": "Túi hút chân không",
                                       "packaging_en": "Vacuum bag", "time": local(1)})
    assert r.status_code == 302
    packed = producer.get(lot_path).get_data(as_text=True)
    packing, labels_part = packed.split('<section class="card" id="labels">')  # packing shown first, then labels
    packed_at = datetime.fromisoformat(local(1)).strftime("%d/%m/%Y %H:%M")
    assert [text for _, text in element_texts(packing[packing.index('id="packing"'):], "li")] == [
        f"1,040 × 5 kg · Túi hút chân không{packed_at} · Ruộng thử nghiệm Đông Sơn"]
    assert re.search(r'id="f-count" name="count" type="text" value="([^"]*)"', labels_part).group(1) == "1040"
    assert "The lot is packed into 1,040 packages; 0 labels are issued." in labels_part
    r = post_form(producer, lot_path, {"form": "labels", "count": "5", "layout": "a4-3x9"})
    assert r.status_code == 302
    file_path = r.headers["Location"]
    waiting = producer.get(file_path).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "Waiting for the worker" in waiting
    assert "Issued 5 labels: serials 1 to 5." in waiting
    assert run_pending(demo_app) == 1
    ready = producer.get(file_path).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in ready and "A4, 3 × 9 labels of 70 × 32 mm" in ready
    pdf = producer.get(re.search(r'href="(/producer/label-files/\d+\.pdf)"', ready).group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert len(pypdfium2.PdfDocument(pdf.data)) == 1
    page = producer.get(lot_path).get_data(as_text=True)
    assert ">1–5</a> (5)" in page
    timeline = producer.get(batch_path).get_data(as_text=True)
    for text in ("Đài Thơm 8", "Tricyclazole 75WP", "DT8-2611", "1040"):
        assert text in timeline
    run_id = re.search(r"/producer/label-runs/(\d+)", page).group(1)
    png = producer.get(f"/producer/label-runs/{run_id}/1.png?dpi=200&layout=roll-40x25")
    assert png.status_code == 200 and Image.open(io.BytesIO(png.data)).size == (315, 197)
    assert producer.get(f"/producer/label-runs/{run_id}/6.png").status_code == 404
    assert producer.get(f"/producer/label-runs/{run_id}/1.png?dpi=5000").status_code == 400


SCOPE = "Choose the areas and/or products the certificate covers."
BAD_FORMS = [
    ("/producer/products", {"name_vi": "Gạo", "unit": "kg", "gtin": "8936045000018"},
     {"gtin": "The GTIN check digit is wrong: it should be 4."}, Product),
    ("/producer/sites", {"name": "Ao", "kind": "brackish_pond", "crop": "Tôm", "area_ha": "-2",
                         "farming_method": "intensive"}, {"area_ha": "Must be greater than zero."}, Site),
    ("/producer/sites", {"name": "Ao", "kind": "volcano", "area_ha": "2"},
     {"kind": "Choose one of: " + ", ".join(SITE_KINDS) + "."}, Site),
    ("/producer/sites", {"name": "Ao", "kind": "rice_field", "crop": "Lúa", "area_ha": "2", "location": "200, 10"},
     {"location": "Give a point as 'latitude, longitude' (e.g. 20.93, 106.68), a polygon as "
                  "'lat lon; lat lon; lat lon; …', or GeoJSON."}, Site),
    ("/producer/sites", {"name": "Ruộng", "kind": "rice_field", "crop": "Lúa", "area_ha": "2",
                         "farming_method": "intensive"},
     {"farming_method": "A farming method applies to ponds and cages only."}, Site),
    ("/producer/certificates", {"scheme": "vietgap", "certifier": "X", "number": "1", "valid_from": "2026-01-01",
                                "valid_to": "2029-01-01", "site_ids": ["1"]},
     {"valid_to": "A VietGAP certificate is valid for at most 2 years."}, Certificate),
    ("/producer/certificates", {"scheme": "organic", "certifier": "X", "number": "1", "valid_from": "2026-01-01",
                                "valid_to": "2025-12-31", "site_ids": ["1"]},
     {"valid_to": "Must not be before the start of validity."}, Certificate),
    ("/producer/certificates", {"scheme": "organic", "certifier": "X", "number": "1", "valid_from": "2026-01-01",
                                "valid_to": "2027-01-01"}, {"site_ids": SCOPE, "product_ids": SCOPE}, Certificate),
]


@pytest.mark.parametrize("path,data,expected,model", BAD_FORMS, ids=[f"{b[0]}-{min(b[2])}" for b in BAD_FORMS])
def test_bad_form_input_shows_a_message_and_writes_nothing(producer, demo_app, path, data, expected, model):
    """The exact message, beside exactly the field at fault (aria-invalid, and aria-describedby pointing at it)."""
    before = count(demo_app, model)
    r = post_form(producer, path, data)
    assert r.status_code == 422
    assert field_errors(r.get_data(as_text=True)) == expected
    assert count(demo_app, model) == before


@pytest.mark.parametrize("lot_code,message", [
    ("GAO 2611", "Spaces are not allowed."), ("A" * 21, "At most 20 characters (this has 21)."),
    ("LÚA-01", "“Ú” cannot be used: letters A–Z, a–z, digits and - . _ / only (GS1 character set 82; no "
                "accents). E.g. Đ → D, ư → u."),
    ("GAO-BH-2610A", "This product already has a lot with this code.")])
def test_harvest_lot_codes_are_checked(producer, demo_app, lot_code, message):
    batch_id = own_ids(demo_app, Batch)[0]
    before = count(demo_app, Lot), count(demo_app, Event)
    r = post_form(producer, f"/producer/batches/{batch_id}", {"form": "harvest", "lot_code": lot_code,
                                                              "quantity": "10", "unit": "kg", "time": local(1)})
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (422, {"lot_code": message})
    assert (count(demo_app, Lot), count(demo_app, Event)) == before


@pytest.mark.parametrize("data,expected", [
    ({"quantity": "-5"}, {"quantity": "Must be greater than zero."}),
    ({"quantity": "abc"}, {"quantity": "Must be a number."}),
    ({"time": "2999-01-01T00:00"}, {"time": "Cannot be in the future."}),
    ({"time": "yesterday"}, {"time": "Must be a date and time, YYYY-MM-DDTHH:MM."})])
def test_harvest_quantities_and_times_are_checked(producer, demo_app, data, expected):
    batch_id = own_ids(demo_app, Batch)[0]
    before = count(demo_app, Lot)
    form = {"form": "harvest", "lot_code": "NEW-1", "quantity": "10", "unit": "kg", "time": local(1), **data}
    r = post_form(producer, f"/producer/batches/{batch_id}", form)
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (422, expected)
    assert count(demo_app, Lot) == before


@pytest.mark.parametrize("lang,message", [("vi", "Tối đa 3 chữ số thập phân."), ("en", "At most 3 decimal places.")])
def test_a_quantity_finer_than_a_gram_is_refused_in_the_readers_language(demo_client, demo_app, lang, message):
    demo_client.set_cookie("lang", lang)
    login(demo_client, "htx.lua@demo.vn")
    batch_id = own_ids(demo_app, Batch)[0]
    before = count(demo_app, Lot)
    r = post_form(demo_client, f"/producer/batches/{batch_id}", {"form": "harvest", "lot_code": "NEW-1",
                                                                 "quantity": "10.0005", "unit": "kg", "time": local(1)})
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (422, {"quantity": message})
    assert count(demo_app, Lot) == before


def test_harvest_inside_a_withdrawal_period_is_recorded_flagged_and_refused_labels(producer, demo_app):
    batch_id = own_ids(demo_app, Batch)[0]
    post_form(producer, f"/producer/batches/{batch_id}", {"form": "input", "category": "pesticide",
                                                          "input_name": "Thuốc X", "dose": "1", "dose_unit": "l/ha",
                                                          "withholding_days": "10", "time": local(3)})
    r = post_form(producer, f"/producer/batches/{batch_id}", {"form": "harvest", "lot_code": "EARLY", "quantity": "1",
                                                              "unit": "kg", "time": local(1)})
    assert r.status_code == 302  # what happened in the field is recorded
    lot_path = r.headers["Location"]
    with demo_app.app_context():
        lot = get_session().exec(select(Lot).where(Lot.code == "EARLY")).one()
    assert lot_path.endswith(f"/producer/lots/{lot.id}")
    r = post_form(producer, lot_path, {"form": "labels", "count": "1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "The lot, or a lot it was made from, is flagged: Harvested on" in page and "Thuốc X" in page


def test_pesticide_needs_a_withholding_period(producer, demo_app):
    batch_id = own_ids(demo_app, Batch)[0]
    before = count(demo_app, Event)
    r = post_form(producer, f"/producer/batches/{batch_id}", {"form": "input", "category": "pesticide",
                                                              "input_name": "X", "dose": "1", "dose_unit": "l/ha",
                                                              "time": local(3)})
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (422, {"withholding_days": "Required."})
    assert count(demo_app, Event) == before


def test_forms_without_a_csrf_token_are_refused(producer, demo_app):
    before = count(demo_app, Site)
    r = producer.post("/producer/sites", data={"name": "X", "kind": "rice_field", "crop": "Lúa", "area_ha": "1"})
    assert r.status_code == 400
    assert count(demo_app, Site) == before


def test_pages_need_a_login_and_the_producer_role(demo_client):
    assert demo_client.get("/producer/").status_code == 302
    login(demo_client, "sieuthi@demo.vn")
    assert demo_client.get("/producer/").status_code == 403
    assert demo_client.get("/retailer/suppliers/1").status_code == 200


def test_wrong_password_is_refused(demo_client):
    r = demo_client.post("/login", data={"email": "htx.lua@demo.vn", "password": "nope",
                                         "csrf_token": csrf_token(demo_client)})
    assert r.status_code == 401
    assert demo_client.get("/producer/").status_code == 302


def test_login_redirect_stays_on_this_site(demo_client):
    r = demo_client.post("/login?next=https://evil.example/", data={
        "email": "htx.lua@demo.vn", "password": "demo1234", "csrf_token": csrf_token(demo_client)})
    assert r.headers["Location"] == "/producer/"


def test_image_upload_must_be_an_image(producer, demo_app):
    import io
    before = count(demo_app, Product)
    r = producer.post("/producer/products", data={"name_vi": "Mật ong", "unit": "chai", "csrf_token":
                                                  csrf_token(producer, "/producer/products"),
                                                  "image": (io.BytesIO(b"not an image"), "x.jpg")},
                      content_type="multipart/form-data")
    assert (r.status_code, field_errors(r.get_data(as_text=True))) == (
        422, {"image": "This file is not a photo: use JPEG, PNG or WebP."})
    assert count(demo_app, Product) == before


def test_the_batch_form_lists_the_places_batches_grow_in_and_says_so(demo_client):
    login(demo_client, "htx.lua@demo.vn")
    page = demo_client.get("/producer/batches").get_data(as_text=True)
    select = page.split('<select id="f-site_id"', 1)[1].split("</select>", 1)[0]
    options = [text for _, text in element_texts(select, "option")]
    assert options == ["—", "Cánh đồng Phả Lễ", "Cánh đồng mẫu lớn Phục Lễ", "Ruộng hộ thành viên Kiền Bái"]
    assert "Xưởng xay xát HTX Phục Lễ" not in select  # a processing facility grows nothing


def test_the_home_page_is_the_producers_to_do_list(demo_client, demo_app):
    login(demo_client, "rau.huuco@demo.vn")
    demo_client.set_cookie("lang", "en")
    page = demo_client.get("/producer/").get_data(as_text=True)
    todo = page.split('<section class="card todo">', 1)[1].split("</section>", 1)[0]
    today = clock.today()  # the demo ward's dates are relative to the (local) day it was made
    day = lambda n: (today - timedelta(days=n)).strftime("%d/%m/%Y")  # noqa: E731
    assert [text for _, text in element_texts(todo, "li")] == [
        f"Lot RMA-2611-01 is past its best-before date ({day(22)}) and still in stock.",
        f"VietGAP certificate VietGAP-TT-24-11-0098 is no longer valid (since {day(12)}): its products may not "
        "claim it.",
    ]
    rice = demo_app.test_client()
    login(rice, "htx.lua@demo.vn")
    assert '<section class="card todo">' not in rice.get("/producer/").get_data(as_text=True)  # nothing to do


def test_an_ocop_rating_about_to_lapse_is_on_the_to_do_list(demo_client, demo_app):
    from trace.db import get_session
    from trace.models import OcopRating
    ends = clock.today() + timedelta(days=30)
    with demo_app.app_context():
        session = get_session()
        rating = session.exec(select(OcopRating).where(OcopRating.decision_number == "1502/QĐ-UBND")).one()
        rating.valid_until = ends
        session.add(rating)
        session.commit()
    login(demo_client, "htx.lua@demo.vn")
    demo_client.set_cookie("lang", "en")
    page = demo_client.get("/producer/").get_data(as_text=True)
    todo = page.split('<section class="card todo">', 1)[1].split("</section>", 1)[0]
    assert [text for _, text in element_texts(todo, "li")] == [
        f"The OCOP rating of Gạo Bắc Hương Thủy Nguyên ends on {ends.strftime('%d/%m/%Y')}."]


def test_the_batches_list_says_which_are_growing_and_which_were_harvested(demo_client, demo_app):
    login(demo_client, "htx.lua@demo.vn")
    with demo_app.app_context():
        site = get_session().exec(select(Site).where(Site.name == "Cánh đồng mẫu lớn Phục Lễ")).one()
        product = get_session().exec(select(Product).where(Product.name_vi == "Gạo Bắc Hương Thủy Nguyên")).one()
    r = post_form(demo_client, "/producer/batches", {"site_id": site.id, "product_id": product.id, "code": "LUA-DONG-2027",
                                                     "time": local(3)})
    assert r.status_code == 302
    page = demo_client.get("/producer/batches").get_data(as_text=True)
    statuses = {cells[0].split("Thóc")[0].split("Gạo")[0]: cells[1] for cells in
                ([text for _, text in element_texts(row, "td")] for row in page.split("<tr>")[2:])}
    with demo_app.app_context():
        last = dict(get_session().exec(select(Batch.code, func.max(Lot.produced_on)).join(Lot, Lot.batch_id == Batch.id)
                                       .where(Batch.organization_id == site.organization_id).group_by(Batch.code)).all())
    assert statuses == {"LUA-DONG-2027": "đang canh tác",
                        **{code: f"1 lô đã thu hoạchlần cuối {day:%d/%m/%Y}" for code, day in last.items()}}
    assert len(statuses) == 5
