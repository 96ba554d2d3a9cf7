"""Real-browser checks of what a shopper and a producer see: Debian's Chromium driven by Playwright.

Each test serves its own demo ward on a live HTTP server (the `demo_app` fixture is per test); the browser is
started once per module. Screenshots go to pytest's tmp_path, or to docs/screenshots/ when TRACE_SCREENSHOTS=1.
Without /usr/bin/chromium the module is skipped, unless TRACE_REQUIRE_BROWSER=1 makes that a failure.
"""
import os
from pathlib import Path
from trace import key_store
from trace.db import get_session
from trace.models import LabelRun, Lot, Product, SigningKey
from trace.queue import run_pending
from trace.services import labels
from urllib.parse import urlsplit

import pypdfium2
import pytest
from sqlmodel import func, select

from .browsing import (
    DESKTOP,
    PHONE,
    PRODUCER_EMAIL,
    RICE_LOT,
    SCREENSHOTS,
    _assert_no_horizontal_overflow,
    _context,
    _log_in,
    serving,
)

pytestmark = pytest.mark.browser

@pytest.fixture
def live_server(demo_app):
    """The demo app on a real HTTP server in a thread; its base URL, e.g. http://127.0.0.1:40123."""
    with serving(demo_app) as url:
        yield url


@pytest.fixture
def phone(browser):
    context = _context(browser)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def shot(tmp_path):
    """Where to save a screenshot: the committed docs/screenshots/ only when TRACE_SCREENSHOTS=1."""
    def path(name: str) -> str:
        if os.environ.get("TRACE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            return str(SCREENSHOTS / name)
        return str(tmp_path / name)
    return path


@pytest.fixture
def genuine(demo_app, live_server):
    """A genuine, issued label of the demo rice lot: its URL on the live server, product and key id."""
    with demo_app.app_context():
        session = get_session()
        run, lot, product = session.exec(
            select(LabelRun, Lot, Product).join(Lot, Lot.id == LabelRun.lot_id)
            .join(Product, Product.id == Lot.product_id).where(Lot.code == RICE_LOT).order_by(LabelRun.id)).first()
        item = labels.labels_for_run(session, key_store(demo_app), demo_app.config["TRACE_BASE_URL"], run,
                                     range(run.first_serial, run.first_serial + 1))[0]
        kid = session.get(SigningKey, run.signing_key_id).kid
        names, lot_code = (product.name_vi, product.name_en), lot.code
    assert item.url.startswith(demo_app.config["TRACE_BASE_URL"] + "/01/")
    parts = urlsplit(item.url)
    return {"url": f"{live_server}{parts.path}?{parts.query}", "path": parts.path, "query": parts.query,
            "name_vi": names[0], "name_en": names[1], "kid": kid, "lot": lot_code, "serial": item.serial}


def _tampered(genuine, live_server) -> str:
    """The genuine label with one character of its lot changed; the signature is kept."""
    path, marker = genuine["path"], "/10/"
    start = path.index(marker) + len(marker)
    end = path.index("/", start)
    lot = path[start:end]
    changed = lot[:-1] + ("B" if lot[-1] != "B" else "C")
    assert changed != lot and len(changed) == len(lot)
    return f"{live_server}{path[:start]}{changed}{path[end:]}?{genuine['query']}"


def _assert_language(page, lang: str):
    """`lang` is shown: <html lang>, and the switch offers the other language (robust to missing .mo files)."""
    assert page.locator("html").get_attribute("lang") == lang
    switch = page.locator("header a.lang")
    assert switch.is_visible()
    assert switch.inner_text().strip() == ("English" if lang == "vi" else "Tiếng Việt")


def _image_loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def _assert_genuine_page(page, genuine, lang: str):
    _assert_language(page, lang)
    verdict = page.locator(".verdict.ok")
    assert verdict.is_visible()
    assert verdict.locator("strong").inner_text() == {"vi": "Tem chính hãng", "en": "Genuine label"}[lang]
    details = page.locator("details.tech")
    assert details.get_attribute("open") is None  # the signature's details wait for those who look
    details.locator("summary").click()
    expected = {"vi": f"khóa ký số {genuine['kid']} của hệ thống", "en": f"signing key {genuine['kid']} of the service"}
    assert expected[lang] in details.inner_text()
    assert page.locator(".verdict.bad, .verdict.warn").count() == 0
    name = genuine["name_vi"] if lang == "vi" else genuine["name_en"]
    heading = page.locator(".product h1")
    assert heading.is_visible()
    assert heading.inner_text().strip() == name
    assert genuine["lot"] in page.locator("dl.facts").inner_text()


def _assert_tampered_page(page, response, lang: str):
    assert response.status == 200
    _assert_language(page, lang)
    assert page.locator(".verdict.bad").is_visible()
    assert page.locator(".verdict.ok").count() == 0
    assert page.locator(".product").count() == 0, "an altered label must not show product facts"
    assert page.locator("dl.facts").count() == 0
    html = page.content()
    assert "Traceback" not in html and "Internal Server Error" not in html


def test_genuine_label_on_a_phone_in_vietnamese(phone, genuine, shot):
    page = phone
    response = page.goto(genuine["url"])
    assert response.status == 200
    assert any(ord(c) > 127 for c in genuine["name_vi"]), "the demo product name should carry diacritics"
    _assert_genuine_page(page, genuine, "vi")
    _assert_no_horizontal_overflow(page)
    assert _image_loaded(page, ".product img"), "the product photo did not load"
    page.screenshot(path=shot("scan-phone-vi.png"), full_page=True)


def test_language_switch_sticks_across_page_loads(phone, genuine, shot):
    page = phone
    page.goto(genuine["url"])
    _assert_language(page, "vi")

    page.locator("header a.lang", has_text="English").click()
    page.wait_for_url(lambda url: urlsplit(url).path == genuine["path"])
    _assert_genuine_page(page, genuine, "en")  # back on the same label, which still verifies
    _assert_no_horizontal_overflow(page)
    assert any(c["name"] == "lang" and c["value"] == "en" for c in page.context.cookies())
    page.screenshot(path=shot("scan-phone-en.png"), full_page=True)

    page.goto(genuine["url"])  # a fresh load keeps the choice
    _assert_genuine_page(page, genuine, "en")
    page.goto(genuine["url"].split("/01/")[0] + "/")
    _assert_language(page, "en")

    page.goto(genuine["url"])
    page.locator("header a.lang", has_text="Tiếng Việt").click()
    page.wait_for_url(lambda url: urlsplit(url).path == genuine["path"])
    _assert_genuine_page(page, genuine, "vi")
    page.reload()
    _assert_genuine_page(page, genuine, "vi")


def test_tampered_label_warns_and_shows_no_facts_in_both_languages(phone, genuine, live_server, shot):
    page = phone
    url = _tampered(genuine, live_server)
    response = page.goto(url)
    _assert_tampered_page(page, response, "vi")
    _assert_no_horizontal_overflow(page)
    page.screenshot(path=shot("scan-tampered-phone-vi.png"), full_page=True)

    with page.expect_navigation() as navigation:
        page.locator("header a.lang", has_text="English").click()
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path == urlsplit(url).path  # the switch returns to the same (altered) label
    _assert_tampered_page(page, navigation.value, "en")

    response = page.goto(url)
    _assert_tampered_page(page, response, "en")
    _assert_no_horizontal_overflow(page)


def test_producer_issues_labels_and_downloads_them_on_a_phone(phone, demo_app, live_server, shot):
    with demo_app.app_context():
        issued = get_session().exec(select(func.max(LabelRun.last_serial)).join(Lot, Lot.id == LabelRun.lot_id)
                                    .where(Lot.code == RICE_LOT)).one()
    first, last = issued + 1, issued + 3
    page = phone
    _log_in(page, live_server, PRODUCER_EMAIL)
    _assert_no_horizontal_overflow(page)

    page.locator("main a[href^='/producer/lots/']", has_text=RICE_LOT).click()
    page.wait_for_url(lambda url: "/producer/lots/" in url)
    lot_url = page.url
    rows_before = page.locator("main table tr").count()

    form = page.locator("form:has(input[name='form'][value='labels'])")
    assert form.locator("input[name='count']").input_value() == "3676"  # what the lot still holds, prefilled
    form.locator("input[name='count']").fill("3")
    form.locator("select[name='layout']").select_option("roll-40x25")
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/producer/label-files/" in url)
    assert f"sê-ri {first} đến {last}" in page.locator(".flash").inner_text()
    assert page.locator("progress").is_visible()  # the worker has not run: the page waits and refreshes itself
    _assert_no_horizontal_overflow(page)
    assert run_pending(demo_app) == 1  # the worker's turn
    download_link = page.locator("a", has_text="Tải tệp PDF")
    download_link.wait_for(timeout=10_000)  # after the page's own refresh
    page.screenshot(path=shot("label-file-ready-phone-vi.png"), full_page=True)
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-{first}-{last}-roll-40x25.pdf")
    assert len(pypdfium2.PdfDocument(Path(download.path()).read_bytes())) == 3  # one 40 × 25 mm page a label

    page.goto(lot_url)
    assert page.locator("main table tr").count() == rows_before + 1
    newest = page.locator("main table tr").nth(1)
    assert f"{first}–{last} (3)" in newest.inner_text()
    sample = "main img[src*='/label-runs/']"
    assert f"/{first}.png" in page.get_attribute(sample, "src")  # the newest run's first label
    assert _image_loaded(page, sample), "the label PNG did not load"
    _assert_no_horizontal_overflow(page)


def test_scan_page_at_desktop_width(browser, genuine, shot):
    context = _context(browser, DESKTOP)
    try:
        page = context.new_page()
        response = page.goto(genuine["url"])
        assert response.status == 200
        _assert_genuine_page(page, genuine, "vi")
        assert _image_loaded(page, ".product img")
        page.screenshot(path=shot("scan-desktop-vi.png"), full_page=True)
    finally:
        context.close()


def test_a_processor_traces_frozen_shrimp_back_to_two_ponds_on_a_phone(phone, demo_app, live_server, shot):
    with demo_app.app_context():
        frozen = get_session().exec(select(Lot).where(Lot.code == "TND-2611-01")).one().id
    page = phone
    _log_in(page, live_server, "chebien@demo.vn")
    page.goto(f"{live_server}/producer/lots/{frozen}")
    page.locator("a", has_text="Truy ngược về nguồn").click()
    page.wait_for_load_state("load")
    nodes = page.locator("ul.tree .node")
    assert nodes.count() == 3
    assert "TND-2611-01" in nodes.nth(0).inner_text()
    assert {nodes.nth(i).locator(".code").inner_text() for i in (1, 2)} == {"TOM-A7-2611", "TOM-A3-2608"}
    assert "đã dùng 1.200 kg" in page.locator("ul.tree").inner_text()
    _assert_no_horizontal_overflow(page)
    page.screenshot(path=shot("trace-back-phone-vi.png"), full_page=True)
    page.locator("a", has_text="Xuôi đến người mua").click()
    page.wait_for_load_state("load")
    assert page.locator("ul.tree .node").count() == 1  # frozen shrimp not shipped yet
    _assert_no_horizontal_overflow(page)


def test_a_shopper_scanning_a_recalled_lot_is_told_first_not_to_eat_it(browser, genuine, demo_app, shot):
    from trace.models import User
    from trace.services import safety
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == RICE_LOT)).one()
        inspector = session.exec(select(User).where(User.email == "kiemtra@demo.vn")).one()
        safety.recall_lot(session, lot, {"reason": "Nghi nhiễm nấm mốc Aspergillus"}, inspector)
        session.commit()
    for viewport, lang in ((PHONE, "vi"), (DESKTOP, "en")):
        context = _context(browser, viewport)
        try:
            page = context.new_page()
            page.goto(genuine["url"].split("/01/")[0] + f"/lang/{lang}")
            page.goto(genuine["url"])
            verdicts = page.locator(".verdict")
            assert verdicts.count() == 1 and "bad" in verdicts.get_attribute("class")
            assert verdicts.locator("strong").inner_text() == {
                "vi": "Đã thu hồi: không dùng, không bán sản phẩm này",
                "en": "Recalled: do not eat or sell this product"}[lang]
            assert "Nghi nhiễm nấm mốc Aspergillus" in verdicts.inner_text()
            _assert_no_horizontal_overflow(page, viewport["width"])
            if lang == "vi":
                page.screenshot(path=shot("scan-recalled-phone-vi.png"), full_page=True)
        finally:
            context.close()


def test_a_shop_sees_a_recall_first_and_prints_the_notice(browser, demo_app, live_server, shot):
    from trace.services import safety
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == RICE_LOT)).one()
        from trace.models import User
        inspector = session.exec(select(User).where(User.email == "kiemtra@demo.vn")).one()
        recall = safety.recall_lot(session, lot, {"reason": "Nghi nhiễm nấm mốc Aspergillus"}, inspector)
        session.commit()
        recall_id = recall.id
    context = _context(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server, "sieuthi@demo.vn")
        assert page.locator("main .recall").first.is_visible()
        page.locator("main .recall a").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/retailer/recalls/{recall_id}")
        table = page.locator("main table").inner_text()
        assert "PXK-2611-015" in table and "1.000 kg" in table and "295 kg" in table
        _assert_no_horizontal_overflow(page)
        page.screenshot(path=shot("recall-notice-phone-vi.png"), full_page=True)
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()  # the printed notice is the notice alone
    finally:
        context.close()


def test_the_administrator_onboards_a_cooperative_that_then_records_on_a_phone(browser, live_server, shot):
    """Entirely in the browser: register the cooperative, invite its member, who sets a password by the link
    and registers a production area and a product under the cooperative's own GS1 company prefix."""
    admin = _context(browser, DESKTOP).new_page()
    _log_in(admin, live_server, "quantri@demo.vn")
    admin.locator("summary", has_text="Đăng ký tổ chức").click()
    admin.select_option("#f-kind", "cooperative")
    admin.fill("#f-name", "HTX Dịch vụ Nông nghiệp Kiền Bái")
    admin.fill("#f-tax_code", "0201234567")
    admin.fill("#f-prefixes", "8936051")
    admin.locator("details button[type=submit]").click()
    admin.wait_for_url(lambda url: "/admin/organizations/" in url)
    admin.fill("#f-email", "binh@kienbai.vn")
    admin.fill("#f-name", "Nguyễn Văn Bình")
    admin.locator("button", has_text="Tạo liên kết mời").click()
    link = admin.locator("#link").inner_text()
    admin.screenshot(path=shot("admin-invitation-desktop-vi.png"), full_page=True)
    _assert_no_horizontal_overflow(admin, DESKTOP["width"])

    member = _context(browser).new_page()
    member.goto(live_server + urlsplit(link).path)
    assert member.locator("h1").inner_text() == "Chào mừng"
    member.fill("#f-password", "Lúa-thơm-2026")
    member.fill("#f-password_again", "Lúa-thơm-2026")
    member.locator("main button[type=submit]").click()
    member.wait_for_url(lambda url: url.endswith("/producer/"))
    _assert_no_horizontal_overflow(member)
    member.goto(live_server + "/producer/sites")
    member.fill("#f-name", "Ruộng Kiền Bái")
    member.select_option("#f-kind", "rice_field")
    member.fill("#f-crop", "Lúa nếp cái hoa vàng")
    member.fill("#f-area_ha", "5.1")
    member.locator("main button[type=submit]").click()
    assert member.locator("main table").inner_text().count("Ruộng Kiền Bái") == 1
    member.goto(live_server + "/producer/products")
    member.fill("#f-name_vi", "Gạo nếp cái hoa vàng Kiền Bái")
    member.select_option("#f-unit", "kg")
    member.locator("main form button[type=submit]").click()
    member.wait_for_url(lambda url: "/producer/products/" in url)
    assert "08936051000015" in member.locator("main").inner_text()
    member.screenshot(path=shot("new-member-products-phone-vi.png"), full_page=True)
    _assert_no_horizontal_overflow(member)
    assert member.goto(live_server + urlsplit(link).path).status == 410  # the link worked once


@pytest.mark.parametrize("email, sections", [
    (PRODUCER_EMAIL, ["Đợt sản xuất", "Vùng sản xuất", "Sản phẩm", "Giấy chứng nhận", "Tồn kho", "Giao nhận",
                      "Tài khoản", "Đăng xuất"]),
    ("sieuthi@demo.vn", ["Nhà cung cấp", "Kiểm tra", "Giao nhận", "Tài khoản", "Đăng xuất"]),
])
def test_the_header_shows_each_role_its_own_sections_in_two_rows_on_a_phone(phone, live_server, email, sections):
    _log_in(phone, live_server, email)
    assert [" ".join(t.split()) for t in phone.locator("header nav a, header nav button").all_inner_texts()] == sections
    header = phone.locator("header.top").bounding_box()
    language = phone.locator("header a.lang").bounding_box()
    assert header["height"] <= 110  # brand and language on one row, the sections on one more (was 156 px)
    assert language["y"] < 40  # beside the brand, not under it
    _assert_no_horizontal_overflow(phone)


def test_what_each_user_sees_first_on_a_phone(browser, demo_app, live_server, shot):
    """A shopper with an expired lot, a cooperative with things to do, a shop choosing a supplier."""
    with demo_app.app_context():
        session = get_session()
        run = session.exec(select(LabelRun).join(Lot, Lot.id == LabelRun.lot_id)
                           .where(Lot.code == "RMA-2611-01").order_by(LabelRun.id)).first()
        item = labels.labels_for_run(session, key_store(demo_app), demo_app.config["TRACE_BASE_URL"], run,
                                     range(run.first_serial, run.first_serial + 1))[0]
    shopper = _context(browser).new_page()
    parts = urlsplit(item.url)
    shopper.goto(f"{live_server}{parts.path}?{parts.query}")
    assert shopper.locator(".verdict.warn strong").inner_text() == "Tem chính hãng – đã quá hạn sử dụng"
    _assert_no_horizontal_overflow(shopper)
    shopper.screenshot(path=shot("scan-expired-phone-vi.png"), full_page=True)

    grower = _context(browser).new_page()
    _log_in(grower, live_server, "rau.huuco@demo.vn")
    assert grower.locator("section.todo li").count() == 2
    _assert_no_horizontal_overflow(grower)
    grower.screenshot(path=shot("producer-home-phone-vi.png"), full_page=True)

    shop = _context(browser).new_page()
    _log_in(shop, live_server, "sieuthi@demo.vn")
    assert shop.locator("main .badge.bad", has_text="VietGAP").count() == 1  # the lapsed one, in the list itself
    _assert_no_horizontal_overflow(shop)
    shop.screenshot(path=shot("retailer-suppliers-phone-vi.png"), full_page=True)


def test_a_producer_records_an_area_where_the_phone_stands(browser, demo_app, live_server):
    """"Use my location" fills the field from the phone's position (the browser's, set here); the area is saved
    as that point."""
    context = _context(browser, geolocation={"latitude": 20.9361, "longitude": 106.6842, "accuracy": 12},
                       permissions=["geolocation"])
    try:
        page = context.new_page()
        _log_in(page, live_server, PRODUCER_EMAIL)
        page.goto(f"{live_server}/producer/sites")
        page.locator("main details summary").first.click()
        page.fill("#f-name", "Ruộng mạ Phục Lễ")
        page.select_option("#f-kind", "rice_field")
        page.fill("#f-crop", "Lúa Bắc Hương")
        page.fill("#f-area_ha", "0,8")
        page.locator("button", has_text="Dùng vị trí của tôi").click()
        status = page.locator("p[role=status]")
        status.filter(has_text="12 m").wait_for()
        assert status.inner_text() == "Vị trí của bạn, sai số khoảng 12 m. Hãy đứng trong vùng, hoặc nhập các góc để có đa giác."
        assert page.input_value("#f-location") == "20.936100, 106.684200"
        _assert_no_horizontal_overflow(page)
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
    finally:
        context.close()
    with demo_app.app_context():
        from trace.models import Site
        site = get_session().exec(select(Site).where(Site.name == "Ruộng mạ Phục Lễ")).one()
        assert site.location == {"type": "Point", "coordinates": [106.6842, 20.9361]}
