"""A shopper whose label does not check out reports it in one tap; the ward's inspectors see the report."""
from html import unescape
from trace.db import get_session
from trace.models import LabelReport

from sqlmodel import select

from .conftest import element_texts, login
from .test_labels import tampered_variants
from .test_scan import first_label, path_of


def _reports(app):
    with app.app_context():
        return [(r.status, r.url) for r in get_session().exec(select(LabelReport).order_by(LabelReport.id))]


def test_a_tampered_label_is_reported_in_one_tap_and_listed_for_the_inspectors(demo_app, demo_client):
    demo_client.set_cookie("lang", "en")
    altered = path_of(tampered_variants(first_label(demo_app, "GAO-BH-2610A").url)["serial"])
    page = demo_client.get(altered).get_data(as_text=True)
    form = page.split('<form method="post" action="/report" class="card report">', 1)[1].split("</form>", 1)[0]
    hidden = unescape(form.split('name="label" value="', 1)[1].split('"', 1)[0])
    assert hidden == altered
    assert "Or contact: Phòng Kinh tế UBND phường Thủy Nguyên · 0225 3874 001" in form
    thanks = demo_client.post("/report", data={"label": hidden})  # no CSRF token: the page may come from a cache
    assert thanks.status_code == 200
    assert [t for _, t in element_texts(thanks.get_data(as_text=True), "h1")] == [
        "Thank you: the ward's inspectors will look into it"]
    assert _reports(demo_app) == [("tampered", "http://trace.test" + altered)]
    inspector = demo_app.test_client()
    login(inspector, "kiemtra@demo.vn")
    inspector.set_cookie("lang", "en")
    ward = inspector.get("/ward/").get_data(as_text=True)
    table = ward.split("<h2>Labels reported by shoppers</h2>", 1)[1].split("</table>", 1)[0]
    cells = [text for _, text in element_texts(table, "td")]
    assert cells[1:] == ["altered", "http://trace.test" + altered]


def test_a_genuine_label_or_an_address_that_is_not_a_label_is_not_reported(demo_app, demo_client):
    genuine = path_of(first_label(demo_app, "GAO-BH-2610A").url)
    assert "/report" not in demo_client.get(genuine).get_data(as_text=True)  # nothing to report
    for label in (genuine, "/producer/", "https://evil.example/01/1", "/01/x\r\n", "/01/" + "9" * 2100):
        assert demo_client.post("/report", data={"label": label}).status_code == 400, label
    assert _reports(demo_app) == []


def test_reports_are_limited_per_client(databases, tmp_path):
    from .conftest import _make_app
    for app in _make_app(databases, tmp_path, "demo", RATELIMIT_ENABLED=True, TRACE_REPORT_RATE="2 per hour"):
        client = app.test_client()
        altered = path_of(tampered_variants(first_label(app, "GAO-BH-2610A").url)["lot"])
        codes = [client.post("/report", data={"label": altered}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert len(_reports(app)) == 2
