"""Every scan is recorded without the client's address; a label scanned by too many devices, or checked by a shop
the lot never went to, is flagged as a possible copy; scans, verification and login are rate limited."""
import re
from trace import key_store
from trace.db import get_session
from trace.models import Scan
from trace.services import accounts, labels, lots
from trace.services.scan import client_fingerprint

import pytest
from sqlmodel import select

from .conftest import BASE_URL, _make_app, login, post_form

JSON = {"Accept": "application/json"}


def issue_one(app, gtin="08936045000014", code="GAO-BH-2610A"):
    with app.app_context():
        session = get_session()
        run = labels.issue_labels(session, key_store(app), lots.find_lot(session, gtin, code), 1,
                                  over_issue_reason="scan test")
        session.commit()
        return labels.labels_for_run(session, key_store(app), BASE_URL, run)[0]


def scan_from(client, url, address, agent="Mozilla/5.0 (Linux; Android 14)"):
    return client.get(url, headers={**JSON, "User-Agent": agent}, environ_base={"REMOTE_ADDR": address}).get_json()


def test_a_label_scanned_by_more_devices_than_the_threshold_is_flagged(demo_app, demo_client):
    label = issue_one(demo_app)
    for n in range(1, 21):
        facts = scan_from(demo_client, label.url, f"10.0.0.{n}")
    assert facts["verification"]["status"] == "genuine"
    assert {k: facts["scans"][k] for k in ("count", "distinct_clients", "suspected_copy")} == {
        "count": 20, "distinct_clients": 20, "suspected_copy": False}
    page = demo_client.get(label.url, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14)"},
                           environ_base={"REMOTE_ADDR": "10.0.0.1"}).get_data(as_text=True)
    assert "có thể đã bị sao chép" not in page
    facts = scan_from(demo_client, label.url, "10.0.0.21")
    assert (facts["scans"]["distinct_clients"], facts["scans"]["suspected_copy"]) == (21, True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", facts["scans"]["first"])
    page = demo_client.get(label.url, environ_base={"REMOTE_ADDR": "10.0.0.22"}).get_data(as_text=True)
    assert "Tem này có thể đã bị sao chép: đã được quét 23 lần bởi 22 thiết bị" in page
    # The producer and the inspector see it in their lists; another producer does not.
    producer, inspector, other = (demo_app.test_client() for _ in range(3))
    login(producer, "htx.lua@demo.vn")
    home = producer.get("/producer/").get_data(as_text=True)
    assert f"sê-ri {label.serial}" in home and ">23</td><td>22</td>" in home
    login(inspector, "kiemtra@demo.vn")
    assert ">23</td><td>22</td>" in inspector.get("/ward/").get_data(as_text=True)
    login(other, "thuysan@demo.vn")
    assert "Tem có thể đã bị sao chép" not in other.get("/producer/").get_data(as_text=True)


def test_one_shopper_scanning_often_is_not_a_copy(demo_app, demo_client):
    label = issue_one(demo_app)
    for _ in range(30):
        facts = scan_from(demo_client, label.url, "192.168.1.7")
    assert (facts["scans"]["count"], facts["scans"]["distinct_clients"], facts["scans"]["suspected_copy"]) == (
        30, 1, False)
    other_browser = scan_from(demo_client, label.url, "192.168.1.7", agent="Zalo/23.1")
    assert other_browser["scans"]["distinct_clients"] == 2


def test_no_address_is_stored_only_a_keyed_hash(demo_app, demo_client):
    label = issue_one(demo_app)
    scan_from(demo_client, label.url, "203.0.113.9")
    with demo_app.app_context():
        (row,) = get_session().exec(select(Scan)).all()
    assert re.fullmatch(r"[0-9a-f]{32}", row.client) and "203.0.113.9" not in repr(row)
    assert row.client == client_fingerprint("test-secret", "203.0.113.9", "Mozilla/5.0 (Linux; Android 14)")
    assert row.client != client_fingerprint("another-secret", "203.0.113.9", "Mozilla/5.0 (Linux; Android 14)")


def test_labels_not_issued_leave_no_scan_record(demo_app, demo_client):
    label = issue_one(demo_app)
    scan_from(demo_client, label.url.replace("/21/", "/21/9"), "10.1.1.1")  # tampered
    with demo_app.app_context():
        assert get_session().exec(select(Scan)).all() == []


def test_a_shop_checking_a_lot_never_shipped_to_it_flags_the_label(demo_app, demo_client):
    """The rice went to the supermarket; a custard-apple label checked there did not."""
    rice, custard_apple = issue_one(demo_app), issue_one(demo_app, "08936047000012", "NA-2611-01")
    login(demo_client, "sieuthi@demo.vn")
    page = post_form(demo_client, "/retailer/verify", {"url": rice.url}).get_data(as_text=True)
    assert "có thể đã bị sao chép" not in page
    page = post_form(demo_client, "/retailer/verify", {"url": custard_apple.url}).get_data(as_text=True)
    assert "hoặc được một cửa hàng chưa từng nhận lô này kiểm tra" in page
    assert scan_from(demo_client, custard_apple.url, "10.9.9.9")["scans"]["suspected_copy"] is True
    assert scan_from(demo_client, rice.url, "10.9.9.9")["scans"]["suspected_copy"] is False


def test_a_shop_checking_through_the_api_with_its_token_counts_like_its_page(demo_app, demo_client):
    """POST /api/v1/verify is public; a shop's token on it says who checked, as signing in does on the page."""
    rice, custard_apple = issue_one(demo_app), issue_one(demo_app, "08936047000012", "NA-2611-01")
    with demo_app.app_context():
        session = get_session()
        shop = {"Authorization": "Bearer " + accounts.create_token(session, "sieuthi@demo.vn")}
        session.commit()
    anonymous = demo_client.post("/api/v1/verify", json={"url": custard_apple.url}).get_json()
    assert anonymous["scans"]["suspected_copy"] is False
    assert demo_client.post("/api/v1/verify", json={"url": rice.url}, headers=shop).get_json()[
        "scans"]["suspected_copy"] is False
    assert demo_client.post("/api/v1/verify", json={"url": custard_apple.url}, headers=shop).get_json()[
        "scans"]["suspected_copy"] is True
    bad_token = demo_client.post("/api/v1/verify", json={"url": rice.url}, headers={"Authorization": "Bearer nope"})
    assert (bad_token.status_code, bad_token.get_json()["verification"]["status"]) == (200, "genuine")


@pytest.fixture
def limited_app(databases, tmp_path):
    yield from _make_app(databases, tmp_path, "demo", RATELIMIT_ENABLED=True, TRACE_SCAN_RATE="5 per minute",
                         TRACE_VERIFY_RATE="3 per minute", TRACE_LOGIN_RATE="4 per minute")


def test_scans_verification_and_login_are_rate_limited_per_client(limited_app):
    label = issue_one(limited_app)
    client = limited_app.test_client()
    for _ in range(5):
        assert client.get(label.url, headers=JSON, environ_base={"REMOTE_ADDR": "10.2.0.1"}).status_code == 200
    refused = client.get(label.url, headers=JSON, environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    page = client.get(label.url, environ_base={"REMOTE_ADDR": "10.2.0.1"})
    assert page.status_code == 429 and "Quá nhiều yêu cầu" in page.get_data(as_text=True)
    assert client.get(label.url, headers=JSON, environ_base={"REMOTE_ADDR": "10.2.0.2"}).status_code == 200

    # The API's verify and the batch share one allowance per client.
    for _ in range(3):
        assert client.post("/api/v1/verify", json={"url": label.url},
                           environ_base={"REMOTE_ADDR": "10.3.0.1"}).status_code == 200
    problem = client.post("/api/v1/verify/batch", json={"urls": [label.url]}, environ_base={"REMOTE_ADDR": "10.3.0.1"})
    assert problem.status_code == 429 and problem.mimetype == "application/problem+json"
    assert problem.get_json()["detail"].startswith("Too many requests from your connection (3 per 1 minute)")

    wrong = {"email": "x@demo.vn", "password": "wrong"}
    for attempt in range(4):
        response = post_form(client, "/login", wrong, environ_base={"REMOTE_ADDR": "10.4.0.1"})
        assert response.status_code == 401, attempt  # the form again, with its message
    assert post_form(client, "/login", wrong, environ_base={"REMOTE_ADDR": "10.4.0.1"}).status_code == 429
    assert client.get("/login", environ_base={"REMOTE_ADDR": "10.4.0.1"}).status_code == 200  # reading is free


def test_the_administrator_rotates_and_revokes_keys(demo_app, demo_client):
    old = issue_one(demo_app).url
    login(demo_client, "quantri@demo.vn")
    page = demo_client.get("/admin/keys").get_data(as_text=True)
    assert '<tr><td>1</td><td><span class="badge ok">' in page
    assert post_form(demo_client, "/admin/keys", {"form": "rotate"}).status_code == 302
    refused = post_form(demo_client, "/admin/keys", {"form": "revoke", "kid": "1", "reason": ""})
    assert refused.status_code == 422
    assert post_form(demo_client, "/admin/keys", {"form": "revoke", "kid": "1", "reason": "Máy tính bị mất"}).status_code == 302
    assert demo_client.get(old, headers=JSON).get_json()["verification"]["status"] == "revoked_key"
    assert "Máy tính bị mất" in demo_client.get("/admin/keys").get_data(as_text=True)
    for email in ("htx.lua@demo.vn", "kiemtra@demo.vn"):
        other = demo_app.test_client()
        login(other, email)
        assert other.get("/admin/keys").status_code == 403


def test_a_scan_runs_three_statements_and_sees_every_change_at_once(demo_app, demo_client):
    """The lot's facts are cached per process, keyed by a revision every committed change raises."""
    from trace.models import Product, User
    from trace.services import safety

    from sqlalchemy import event
    label = issue_one(demo_app)
    engine = demo_app.extensions["trace.engine"]
    first = scan_from(demo_client, label.url, "10.5.0.1")
    assert first["lot"]["recalled"] is False
    statements = []

    def record(_connection, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()[:3]).upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        again = scan_from(demo_client, label.url, "10.5.0.1")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert again["product"] == first["product"] and again["scans"]["count"] == 2
    assert len(statements) == 3 and statements[1].startswith("INSERT INTO SCAN")
    assert [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))] == [statements[1]]

    with demo_app.app_context():
        session = get_session()
        lot = lots.find_lot(session, "08936045000014", "GAO-BH-2610A")
        inspector = session.exec(select(User).where(User.email == "kiemtra@demo.vn")).one()
        safety.recall_lot(session, lot, {"reason": "Dư lượng thuốc bảo vệ thực vật"}, inspector)
        session.commit()
    recalled = scan_from(demo_client, label.url, "10.5.0.1")
    assert (recalled["lot"]["recalled"], recalled["lot"]["recall_reason"]) == (True, "Dư lượng thuốc bảo vệ thực vật")
    with demo_app.app_context():
        session = get_session()
        product = session.exec(select(Product).where(Product.gtin == "08936045000014")).one()
        product.name_en = "Bac Huong rice"
        session.add(product)
        session.commit()
    assert scan_from(demo_client, label.url, "10.5.0.1")["product"]["name_en"] == "Bac Huong rice"


def test_a_cached_scan_page_shows_each_label_its_own_serial_and_address(demo_app, demo_client):
    """The page is rendered once per lot and language; the serial and the page's own address are put in after."""
    import html
    from urllib.parse import parse_qs, urlsplit
    first, second = issue_one(demo_app), issue_one(demo_app)
    pages = {}
    for label in (first, second, first):
        page = demo_client.get(label.url).get_data(as_text=True)
        pages.setdefault(label.serial, []).append(page)
        path = label.url.removeprefix(BASE_URL)
        assert f"<dt>Số sê-ri</dt><dd>{label.serial}</dd>" in page
        language_link = html.unescape(re.search(r'<a class="lang" href="([^"]+)"', page).group(1))
        assert parse_qs(urlsplit(language_link).query)["next"] == [path]
    other = first.serial if first.serial != second.serial else None
    assert other and f"<dd>{second.serial}</dd>" not in pages[first.serial][0]
    assert pages[first.serial][0] == pages[first.serial][1]  # the same label: the same page, from the cache
    demo_client.set_cookie("lang", "en", domain="trace.test")
    english = demo_client.get(second.url).get_data(as_text=True)
    assert f"<dt>Serial</dt><dd>{second.serial}</dd>" in english and "Tiếng Việt" in english
