"""Every page type, signed out and signed in as each role, in Vietnamese and English, at phone and desktop
width: axe-core finds no violation of WCAG 2.2 A/AA (target size included) nor of its best practices, every
link, button and field is at least 24 × 24 px, and no page scrolls sideways on a 320 px phone.

One demo ward serves the whole module, with a recall, a rendered label file, an invitation and a reported
label added, so that those pages show what they show in use. Run on SQLite only: the pages do not depend on
the database.
"""
from trace import key_store
from trace.db import get_session
from trace.models import Batch, LabelRun, Lot, Organization, Product, Shipment, User
from trace.queue import run_pending
from trace.services import accounts, label_files, labels, safety
from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from .browsing import DESKTOP, NARROWEST, PHONE, _context, _log_in, serving
from .conftest import ON_POSTGRES, _make_app

# The pages are the same on either database: run once, on SQLite (about 2 minutes).
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(ON_POSTGRES, reason="the pages do not depend on the database; checked on SQLite")]

AXE_RULES = {"runOnly": {"type": "tag",
                         "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa",
                                    "best-practice"]},
             "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def ward(databases, tmp_path_factory):
    """The demo ward on a live server, and the paths of the pages that need an id."""
    made = _make_app(databases, tmp_path_factory.mktemp("ward"), "demo")
    app = next(made)
    with app.app_context():
        session = get_session()

        def one(model, **where):
            return session.exec(select(model).filter_by(**where)).first()

        def label_url(lot_code):
            run = session.exec(select(LabelRun).join(Lot, Lot.id == LabelRun.lot_id)
                               .where(Lot.code == lot_code).order_by(LabelRun.id)).first()
            item = labels.labels_for_run(session, key_store(app), app.config["TRACE_BASE_URL"], run,
                                         range(run.first_serial, run.first_serial + 1))[0]
            parts = urlsplit(item.url)
            return f"{parts.path}?{parts.query}", run

        rice_lot, milled_lot = one(Lot, code="GAO-BH-2610A"), one(Lot, code="GAO-XAT-2611")
        inspector, admin = one(User, email="kiemtra@demo.vn"), one(User, email="quantri@demo.vn")
        recall = safety.recall_lot(session, rice_lot, {"reason": "Nghi nhiễm nấm mốc Aspergillus"}, inspector)
        genuine, milled_run = label_url("GAO-XAT-2611")
        recalled, rice_run = label_url("GAO-BH-2610A")
        expired, _ = label_url("RMA-2611-01")
        label_file = label_files.request_file(session, rice_run, "a4-3x8")
        rice_org = session.get(Organization, rice_lot.organization_id)
        _, invitation_token = accounts.invite(session, admin, rice_org, {"email": "moi@phucle.vn", "name": "Trần Thị Mới",
                                                                   "role": "producer"})
        shrimp_shipment = one(Shipment, reference="HĐ-0004521")
        rice_shipment = one(Shipment, reference="PXK-2611-015")
        ids = {"batch": rice_lot.batch_id, "lot": rice_lot.id, "milled": milled_lot.id, "run": milled_run.id,
               "file": label_file.id, "product": rice_lot.product_id, "org": rice_org.id, "recall": recall.id,
               "shrimp_shipment": shrimp_shipment.id, "rice_shipment": rice_shipment.id,
               "frozen": one(Lot, code="TND-2611-01").id}
        session.commit()
        assert one(Batch, id=ids["batch"]) and one(Product, id=ids["product"])
        app.extensions["trace.render_label_file"](label_file.id)
    assert run_pending(app) == 1  # the label file is rendered
    tampered = genuine.replace("/10/GAO-XAT-2611/", "/10/GAO-XAT-2612/")
    assert tampered != genuine
    with serving(app) as base:
        yield {"base": base, "ids": ids, "genuine": genuine, "recalled": recalled, "expired": expired,
               "tampered": tampered, "invitation": f"/welcome/{invitation_token}"}
    made.close()

# The innermost elements that reach past the viewport's right edge: what makes a page scroll sideways.
WIDEST = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5
  && ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 0.5))
  .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')).join(' ')"""

# Links, buttons, summaries and fields smaller than 24 × 24 px, a fingertip's least (WCAG 2.2, 2.5.8), even those
# inside a line of text, which axe lets pass.
TOO_SMALL = """[...document.querySelectorAll('a, button, summary, input:not([type=hidden]), select, textarea')]
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.width < 23.5 || r.height < 23.5); })
  .map(e => `${e.tagName.toLowerCase()} "${(e.innerText || e.name || '').trim().slice(0, 30)}" `
    + `${Math.round(e.getBoundingClientRect().width)}×${Math.round(e.getBoundingClientRect().height)}`)"""


def _submit_empty(path, form_selector="main form"):
    """The form at `path` sent empty, past the browser's own checks: the page with every field's error."""
    def visit(page, base, ward):
        page.goto(base + path)
        form = page.locator(form_selector).first
        form.evaluate("f => { f.closest('details')?.setAttribute('open', ''); f.noValidate = true; f.querySelectorAll('input:not([type=hidden]), textarea')"
                      ".forEach(i => { i.value = ''; }); }")
        form.locator("button[type=submit]").first.click()
        page.wait_for_load_state("load")
    return visit


def _verify(label_key):
    def visit(page, base, ward):
        page.goto(base + "/retailer/verify")
        page.fill("#url", base + ward[label_key])
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")
    return visit


def _report_tampered(page, base, ward):
    page.goto(base + ward["tampered"])
    page.locator("form.report button[type=submit]").click()
    page.wait_for_load_state("load")


def _invite(page, base, ward):
    page.goto(f"{base}/admin/organizations/{ward['ids']['org']}")
    page.fill("#f-email", f"nguoi.moi.{page.viewport_size['width']}.{page.locator('html').get_attribute('lang')}@phucle.vn")
    page.fill("#f-name", "Người Mới")
    page.locator("form:has(input[name=form][value=invite]) button[type=submit]").click()
    page.wait_for_load_state("load")


# Each role's pages: a path (formatted with the ward's ids and label paths) or a function that gets there.
PAGES = {
    None: ["/", "/login", "{genuine}", "{expired}", "{recalled}", "{tampered}", _report_tampered, "/no-such-page",
           "{invitation}", "/welcome/no-such-link", _submit_empty("/login")],
    "htx.lua@demo.vn": ["/producer/", "/producer/batches", "/producer/batches/{batch}", "/producer/lots/{lot}",
                        "/producer/lots/{lot}/trace", "/producer/lots/{milled}", "/producer/sites",
                        "/producer/products", "/producer/products/{product}", "/producer/certificates",
                        "/producer/stock", "/producer/shipments", "/producer/label-runs/{run}",
                        "/producer/label-files/{file}", "/account",
                        _submit_empty("/producer/batches"), _submit_empty("/producer/sites"),
                        _submit_empty("/producer/products"), _submit_empty("/producer/certificates")],
    "chebien@demo.vn": ["/producer/", "/producer/shipments", "/producer/shipments/{shrimp_shipment}",
                        "/producer/lots/{frozen}", "/producer/lots/{frozen}/trace"],
    "sieuthi@demo.vn": ["/retailer/", "/retailer/suppliers/{org}", "/retailer/verify", _verify("genuine"),
                        _verify("tampered"), _verify("recalled"), "/retailer/shipments",
                        "/retailer/shipments/{rice_shipment}", "/retailer/recalls/{recall}"],
    "kiemtra@demo.vn": ["/ward/", "/ward/lots/{lot}", "/ward/lots/{lot}/trace"],
    "quantri@demo.vn": ["/admin/", "/admin/organizations/{org}", "/admin/keys", _invite],
}

EXPECTED_STATUS = {"/no-such-page": 404, "/welcome/no-such-link": 410}  # every other page answers 200


def _visit(page, ward, target):
    if callable(target):
        target(page, ward["base"], ward)
        return target.__qualname__
    path = target.format(**ward["ids"], **{k: v for k, v in ward.items() if isinstance(v, str)})
    status = page.goto(ward["base"] + path).status
    assert status == EXPECTED_STATUS.get(target, 200), f"{target}: {status}"
    return target


def _violations(page, where):
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page, options=AXE_RULES)
    return [f"{where}: {v['id']} ({v['impact']}): {', '.join(str(node['target']) for node in v['nodes'][:4])}"
            for v in results.response["violations"]]


@pytest.mark.parametrize("email", list(PAGES), ids=lambda email: email or "signed-out")
def test_every_page_passes_axe_and_fits_a_320px_phone(browser, ward, email):
    found, small, overflowing = [], [], []
    for viewport in (PHONE, DESKTOP):
        context = _context(browser, viewport)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            if email:
                _log_in(page, ward["base"], email)
                assert urlsplit(page.url).path != "/login", f"{email} could not log in"
            for lang in ("vi", "en"):
                page.goto(f"{ward['base']}/lang/{lang}")
                for target in PAGES[email]:
                    name = _visit(page, ward, target)
                    assert page.locator("html").get_attribute("lang") == lang, name
                    where = f"{name} [{lang}, {viewport['width']}px]"
                    found += _violations(page, where)
                    small += [f"{where}: {target}" for target in page.evaluate(TOO_SMALL)]
                    if viewport is PHONE:
                        page.set_viewport_size({"width": NARROWEST, "height": PHONE["height"]})
                        width = page.evaluate("document.documentElement.scrollWidth")
                        if width > NARROWEST:
                            overflowing.append(f"{name} [{lang}]: {width}px, {page.evaluate(WIDEST)}")
                        page.set_viewport_size(PHONE)
        finally:
            context.close()
    assert found == [], "\n".join(found)
    assert small == [], "\n".join(small)
    assert overflowing == [], "\n".join(overflowing)
