"""The scan page and its JSON twin: genuine and tampered labels, both languages, the Circular 02/2024 facts."""
import re
from datetime import date, timedelta
from trace import key_store
from trace.db import get_session
from trace.models import Certificate, LabelRun, Lot, OcopRating, Product
from trace.services import labels, recording

import pytest
from sqlmodel import select

from .conftest import BASE_URL, csrf_token, definitions, element_texts, login
from .test_labels import tampered_variants

CONTRACT_KEYS = {"verification", "product", "lot", "serial", "producer", "certifications", "ocop", "stages"}


def first_label(app, code):
    with app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == code)).one()
        run = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).first()
        return labels.labels_for_run(session, key_store(app), BASE_URL, run, range(run.first_serial, run.first_serial + 1))[0]


def path_of(url):
    return url.replace(BASE_URL, "")


def test_genuine_label_json_follows_the_contract(demo_client, demo_app):
    label = first_label(demo_app, "GAO-BH-2610A")
    facts = demo_client.get(path_of(label.url), headers={"Accept": "application/json"}).get_json()
    assert CONTRACT_KEYS <= facts.keys()
    assert facts["verification"] == {**facts["verification"], "status": "genuine", "kid": 1}
    assert facts["product"] == {**facts["product"], "name": "Gạo Bắc Hương Thủy Nguyên", "gtin": "08936045000014"}
    assert facts["lot"] == {**facts["lot"], "code": "GAO-BH-2610A", "recalled": False}
    assert facts["serial"] == label.serial
    assert facts["producer"]["name"] == "HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên"
    assert "Thủy Nguyên" in facts["producer"]["address"]
    (certificate,) = facts["certifications"]
    assert {k: certificate[k] for k in ("scheme", "valid_at_production", "valid_today")} == {
        "scheme": "vietgap", "valid_at_production": True, "valid_today": True}
    assert set(certificate) >= {"scheme", "certifier", "number", "valid_until", "valid_at_production", "valid_today"}
    assert facts["ocop"]["stars"] == 4 and facts["ocop"]["valid_until"]
    assert [s["step"] for s in facts["stages"]] == ["planting", "input_application", "input_application", "harvest",
                                                    "packing", "packing", "packing"]  # bags, then two cartons
    assert all(set(s) >= {"step", "time", "site"} for s in facts["stages"])
    assert facts["production_area"]["map"].startswith("https://www.openstreetmap.org/?mlat=20.93")


def test_a_certificate_valid_at_harvest_but_expired_today(demo_client, demo_app):
    facts = demo_client.get(path_of(first_label(demo_app, "RMA-2611-01").url), headers={"Accept": "application/json"}).get_json()
    (certificate,) = facts["certifications"]
    assert certificate["valid_at_production"] is True and certificate["valid_today"] is False
    assert facts["ocop"] is None
    page = demo_client.get(path_of(first_label(demo_app, "RMA-2611-01").url)).get_data(as_text=True)
    assert "Hôm nay:" in page


def test_pond_lot_shows_farming_method_and_withdrawal_period(demo_client, demo_app):
    page = demo_client.get(path_of(first_label(demo_app, "TOM-A7-2611").url)).get_data(as_text=True)
    area = definitions(page)["Vùng sản xuất"]
    assert area.startswith("Ao lót bạt số 7 (thâm canh công nghệ cao) (Ao nuôi nước lợ, 4,5 ha, công nghệ cao) ")
    stage_details = [text for _, text in element_texts(page, "span")]
    assert ("Thuốc thú y: Oxytetracycline (điều trị hoại tử gan tụy), 4 g/kg thức ăn; thời gian cách ly 28 ngày"
            in stage_details)
    stages = [text.split(" · ")[0] for _, text in element_texts(page, "li")]
    assert stages == ["Thả giống", "Sử dụng vật tư đầu vào", "Sử dụng vật tư đầu vào", "Sử dụng vật tư đầu vào",
                      "Thu hoạch", "Làm lạnh và bảo quản", "Đóng gói", "Chế biến"]
    # numbers grouped as the reader writes them
    assert "Tôm thẻ chân trắng (Litopenaeus vannamei), 450.000 con" in stage_details
    assert "Lô TOM-A7-2611: 5.400 kg" in stage_details
    demo_client.set_cookie("lang", "en")
    english = demo_client.get(path_of(first_label(demo_app, "TOM-A7-2611").url)).get_data(as_text=True)
    english_details = [text for _, text in element_texts(english, "span")]
    assert "Lot TOM-A7-2611: 5,400 kg" in english_details
    assert definitions(english)["Production area"].startswith(
        "Ao lót bạt số 7 (thâm canh công nghệ cao) (Brackish-water pond, 4.5 ha, high-tech) ")


@pytest.mark.parametrize("lang,genuine_text,switch", [("vi", "Tem chính hãng", "English"), ("en", "Genuine label", "Tiếng Việt")])
def test_genuine_scan_page_in_both_languages(demo_client, demo_app, lang, genuine_text, switch):
    demo_client.set_cookie("lang", lang)
    response = demo_client.get(path_of(first_label(demo_app, "NA-2611-01").url))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f'<html lang="{lang}">' in page
    assert genuine_text in page and switch in page
    assert ("Na dai Lưu Kiếm" if lang == "vi" else "Luu Kiem custard apple") in page
    assert "★★★☆☆" in page and "VietGAP" in page


@pytest.mark.parametrize("lang,warning", [("vi", "đã bị sửa đổi"), ("en", "this label has been altered")])
@pytest.mark.parametrize("part", ["lot", "serial", "signature"])
def test_tampered_scan_page_warns_and_reveals_nothing(demo_client, demo_app, lang, warning, part):
    demo_client.set_cookie("lang", lang)
    url = tampered_variants(first_label(demo_app, "NA-2611-01").url)[part]
    response = demo_client.get(path_of(url))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and warning in page
    assert "Na dai" not in page and "Lưu Kiếm" not in page and "Traceback" not in page
    facts = demo_client.get(path_of(url), headers={"Accept": "application/json"}).get_json()
    assert facts["verification"]["status"] == "tampered" and facts["product"] is None and facts["stages"] == []


@pytest.mark.parametrize("path", ["/01/08936045000014/10/GAO-BH-2610A/21/1",
                                  "/01/08936045000014/10/GAO-BH-2610A/21/1?8030=AAAA",
                                  "/01/123/10/X/21/1?8030=x", "/01/08936045000014/21/1/10/X",
                                  "/01/08936045000014/10/%ZZ/21/1?8030=x", "/01/08936045000014/10/A/21/1?8030=%F0%9F%98%80"])
def test_malformed_label_urls_get_a_warning_page_not_an_error(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 200
    assert "Đây không phải là tem hợp lệ" in response.get_data(as_text=True)
    assert demo_client.get(path, headers={"Accept": "application/json"}).get_json()["verification"]["status"] == "malformed"


def test_language_switch_sticks_in_a_cookie(demo_client):
    response = demo_client.get("/lang/en?next=/")
    assert response.status_code == 302 and "lang=en" in response.headers["Set-Cookie"]
    assert '<html lang="en">' in demo_client.get("/").get_data(as_text=True)
    assert demo_client.get("/lang/en?next=https://evil.example").headers["Location"] == "/"


def test_scan_page_is_small(demo_client, demo_app):
    response = demo_client.get(path_of(first_label(demo_app, "GAO-BH-2610A").url))
    assert len(response.data) < 20_000  # one request, inline CSS, no script


def test_product_image_is_served_for_the_scan_page(demo_client, demo_app):
    with demo_app.app_context():
        product = get_session().exec(select(Product)).first()
    response = demo_client.get(f"/media/products/{product.id}.jpg")
    assert response.status_code == 200 and response.data[:2] == b"\xff\xd8"
    assert demo_client.get("/media/products/9999.jpg").status_code == 404


def test_a_suspended_certificate_and_an_expired_ocop_rating_show_as_such(demo_client, demo_app):
    """Status on a date is computed from dated changes: a suspension from yesterday leaves the harvest date valid."""
    label = first_label(demo_app, "GAO-BH-2610A")
    yesterday = date.today() - timedelta(days=1)
    with demo_app.app_context():
        session = get_session()
        certificate = session.exec(select(Certificate).where(Certificate.number == "VietGAP-TT-24-08-0231")).one()
        recording.change_certificate_status(session, certificate.organization_id, certificate.id, {
            "status": "suspended", "effective_on": yesterday.isoformat(), "reason": "Kiểm tra đột xuất"})
        rating = session.exec(select(OcopRating).where(OcopRating.stars == 4)).one()
        rating.valid_until = yesterday
        session.add(rating)
        session.commit()
        organization_id = certificate.organization_id
    facts = demo_client.get(path_of(label.url), headers={"Accept": "application/json"}).get_json()
    (row,) = facts["certifications"]
    assert (row["valid_at_production"], row["valid_today"], row["status_today"]) == (True, False, "suspended")
    assert facts["standards"] == ["vietgap"]  # the claim rests on the harvest date
    assert facts["ocop"] is None
    demo_client.set_cookie("lang", "en")
    assert "Today: suspended" in demo_client.get(path_of(label.url)).get_data(as_text=True)
    login(demo_client, "sieuthi@demo.vn")
    page = demo_client.get(f"/retailer/suppliers/{organization_id}").get_data(as_text=True)
    assert "Suspended" in page and "★★★★" not in page


def _verdict(page: str) -> list:
    return [text for _, text in element_texts(page.split('class="verdict', 1)[1].split("</div>", 1)[0], "strong")]


def test_the_verdict_says_first_what_matters_most_to_a_buyer(demo_client, demo_app):
    """A genuine label of a lot past its date, or whose certification lapsed since harvest, says so in the verdict
    itself; the lapsed scheme's badge is not green."""
    demo_client.set_cookie("lang", "en")
    url = path_of(first_label(demo_app, "RMA-2611-01").url)
    page = demo_client.get(url).get_data(as_text=True)
    assert 'class="verdict warn"' in page
    assert _verdict(page) == ["Genuine label – past its best-before date"]
    with demo_app.app_context():
        session = get_session()
        product = session.exec(select(Product).where(Product.name_vi == "Rau muống an toàn Hoa Động")).one()
        product.shelf_life_days = 365
        session.add(product)
        session.commit()
    page = demo_client.get(url).get_data(as_text=True)
    assert _verdict(page) == ["Genuine label – certification lapsed since harvest"]
    assert "VietGAP was valid when this lot was produced, but is not valid today." in page
    assert '<span class="badge warn">VietGAP: lapsed</span>' in page
    fresh = demo_client.get(path_of(first_label(demo_app, "RHC-2611-03").url)).get_data(as_text=True)
    assert 'class="verdict ok"' in fresh
    assert _verdict(fresh) == ["Genuine label"]
    assert '<span class="badge ok">Organic</span>' in fresh


def test_the_scan_page_is_compressed_when_the_phone_accepts_it_and_stays_small(demo_client, demo_app):
    import gzip
    url = path_of(first_label(demo_app, "GAO-BH-2610A").url)
    plain = demo_client.get(url)
    packed = demo_client.get(url, headers={"Accept-Encoding": "gzip"})
    assert (plain.headers.get("Content-Encoding"), packed.headers["Content-Encoding"]) == (None, "gzip")
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(plain.get_data()) < 30_000 and len(packed.get_data()) < len(plain.get_data()) / 2
    # In total, with everything the page loads (only the product photo: styles are inline, there is no script).
    loaded = re.findall(r'(?:src|href)="(/[^"]+\.(?:jpg|png|css|js))"', plain.get_data(as_text=True))
    assert [path.split("/")[1] for path in loaded] == ["media"]
    assert len(plain.get_data()) + sum(len(demo_client.get(path).get_data()) for path in loaded) < 30_000
    # A page with a CSRF token beside reflected input is never compressed (BREACH).
    login_page = demo_client.get("/login?next=/producer/", headers={"Accept-Encoding": "gzip"})
    assert login_page.headers.get("Content-Encoding") is None


def test_a_shop_checking_a_label_reads_a_shops_advice_under_one_heading(demo_client, demo_app):
    url = first_label(demo_app, "GAO-BH-2610A").url
    login(demo_client, "sieuthi@demo.vn")
    demo_client.set_cookie("lang", "en")
    token = csrf_token(demo_client, "/retailer/verify")
    genuine = demo_client.post("/retailer/verify", data={"url": url, "csrf_token": token}).get_data(as_text=True)
    assert [text for _, text in element_texts(genuine, "h1")] == ["Verify a label"]
    assert [text for _, text in element_texts(genuine, "h2")][0] == "Thuy Nguyen Bac Huong rice"
    altered = demo_client.post("/retailer/verify", data={"url": tampered_variants(url)["lot"], "csrf_token": token})
    page = altered.get_data(as_text=True)
    assert ("Its signature does not match the product, lot or serial it shows. Do not accept or sell goods under "
            "this label, and tell the producer and the ward.") in page
    assert "tell the store" not in page


def test_a_tampered_label_page_still_has_its_heading(demo_client, demo_app):
    demo_client.set_cookie("lang", "en")
    page = demo_client.get(path_of(tampered_variants(first_label(demo_app, "GAO-BH-2610A").url)["serial"]))
    assert [text for _, text in element_texts(page.get_data(as_text=True), "h1")] == ["Label check"]


def test_an_english_page_translates_units_and_marks_what_stays_vietnamese(demo_client, demo_app):
    demo_client.set_cookie("lang", "en")
    page = demo_client.get(path_of(first_label(demo_app, "TOM-A7-2611").url)).get_data(as_text=True)
    details = [text for _, text in element_texts(page, "span")]
    assert "Tôm thẻ chân trắng (Litopenaeus vannamei), 450,000 pcs" in details
    assert "Veterinary drug: Oxytetracycline (điều trị hoại tử gan tụy), 4 g/kg feed; withholding period 28 days" in details
    assert "<strong>Bach Dang Brackish-Water Aquaculture Co., Ltd.</strong>" in page  # its English name
    assert '<span lang="vi">Oxytetracycline (điều trị hoại tử gan tụy)</span>' in page
    demo_client.set_cookie("lang", "vi")
    vietnamese = demo_client.get(path_of(first_label(demo_app, "TOM-A7-2611").url)).get_data(as_text=True)
    assert vietnamese.count('lang="vi"') == 1  # <html lang="vi">: the whole page is


def test_english_pages_show_the_english_names_producers_gave_and_mark_the_rest_vietnamese(demo_client, demo_app):
    def producer_and_certificates(code, lang):
        demo_client.set_cookie("lang", lang)
        page = demo_client.get(path_of(first_label(demo_app, code).url)).get_data(as_text=True)
        return definitions(page)["Producer" if lang == "en" else "Cơ sở sản xuất"], page

    producer, page = producer_and_certificates("GAO-BH-2610A", "en")
    assert producer.startswith("Thuy Nguyen High-Quality Rice CooperativePhuc Le residential group, Thuy Nguyen ward, "
                               "Hai Phong city")
    certificate = next(text for _, text in element_texts(page, "p") if "VietGAP-TT-24-08-0231" in text)
    assert certificate.startswith("VietGAP TCVN 11892-1:2017 – Vietnam Certification Centre (QUACERT), no. ")
    assert "3,700 × 5 kg 5 kg vacuum bag" in [text for _, text in element_texts(page, "span")]
    producer, page = producer_and_certificates("GAO-BH-2610A", "vi")
    assert producer.startswith("HTX Nông nghiệp Lúa chất lượng cao Thủy NguyênTổ dân phố Phục Lễ, phường Thủy Nguyên")
    certificate = next(text for _, text in element_texts(page, "p") if "VietGAP-TT-24-08-0231" in text)
    assert certificate.startswith("VietGAP TCVN 11892-1:2017 – Trung tâm Chứng nhận phù hợp (QUACERT), số ")
    assert "3.700 × 5 kg Túi hút chân không 5 kg" in [text for _, text in element_texts(page, "span")]
    _, page = producer_and_certificates("RMA-2611-01", "en")  # a group that gave no English name
    assert '<strong><span lang="vi">Tổ hợp tác Rau hữu cơ Hoa Động</span></strong>' in page
    assert '<span lang="vi">Chi cục Trồng trọt và BVTV Hải Phòng</span>' in page
    facts = demo_client.get(path_of(first_label(demo_app, "RMA-2611-01").url), headers={"Accept": "application/json"})
    assert (facts.get_json()["producer"]["name_en"], facts.get_json()["certifications"][0]["certifier_en"]) == (None, None)
    _, page = producer_and_certificates("TND-2611-01", "en")  # frozen shrimp: its ponds' farm has an English name
    origins = [text for _, text in element_texts(page, "span") if "harvested" in text]
    assert [origin.split(" · ")[0] for origin in origins] == ["Bach Dang Brackish-Water Aquaculture Co., Ltd."] * 2


def test_the_ocop_rating_shows_its_validity_and_certificates_come_before_the_details(demo_client, demo_app):
    demo_client.set_cookie("lang", "en")
    facts = demo_client.get(path_of(first_label(demo_app, "GAO-BH-2610A").url), headers={"Accept": "application/json"})
    until = date.fromisoformat(facts.get_json()["ocop"]["valid_until"]).strftime("%d/%m/%Y")
    page = demo_client.get(path_of(first_label(demo_app, "GAO-BH-2610A").url)).get_data(as_text=True)
    assert f'<span class="muted">OCOP 4 stars, valid until {until}</span>' in page
    assert page.index('<h2 style="margin-top:0">Certificates</h2>') < page.index("<dt>Producer</dt>")


def test_each_batch_starts_with_the_stage_its_kind_of_production_has(demo_client, demo_app):
    """Rice is sown; an orchard's season starts with flowering and fruit set (its 1,450 trees were not sown)."""
    first = {}
    for lot in ("GAO-BH-2610A", "NA-2611-01", "TOM-A7-2611", "RHC-2611-03"):
        page = demo_client.get(path_of(first_label(demo_app, lot).url)).get_data(as_text=True)
        first[lot] = [text.split(" · ")[0] for _, text in element_texts(page, "li")][0]
    assert first == {"GAO-BH-2610A": "Gieo sạ", "NA-2611-01": "Bắt đầu vụ: ra hoa, đậu quả",
                     "TOM-A7-2611": "Thả giống", "RHC-2611-03": "Gieo trồng"}


def test_a_lot_shows_its_own_harvest_not_another_lot_of_the_same_batch(demo_client, demo_app):
    """Two lots of custard apples picked from one season: each scan page shows the season's care and its own
    picking, labels and checks, not the other picking's."""
    facts = demo_client.get(path_of(first_label(demo_app, "NA-2611-02").url),
                            headers={"Accept": "application/json"}).get_json()
    assert [(s["stage"], s["details"].get("lot_code")) for s in facts["stages"]] == [
        ("orchard_season", None), ("input_application", None), ("input_application", None),
        ("input_application", None), ("harvest", "NA-2611-02")]  # not NA-2611-01's picking nor its packing
