"""Two producers: each reads and changes only its own organization's data, in pages and in the API."""
from trace.db import get_session
from trace.models import (
    Batch,
    Certificate,
    Event,
    LabelRun,
    Lot,
    OcopRating,
    Product,
    Site,
    User,
)

import pytest
from sqlmodel import func, select

from .conftest import field_errors, login, post_form
from .test_api import ago, token_for


def ids_of(app, model, email):
    with app.app_context():
        session = get_session()
        org = session.exec(select(User).where(User.email == email)).one().organization_id
        return [row.id for row in session.exec(select(model).where(model.organization_id == org)).all()]


def total(app, *models):
    with app.app_context():
        return [get_session().exec(select(func.count()).select_from(m)).one() for m in models]


@pytest.fixture
def rice_client(demo_client):
    login(demo_client, "htx.lua@demo.vn")
    return demo_client


def test_pages_of_another_producer_are_not_found(rice_client, demo_app):
    shrimp_batch = ids_of(demo_app, Batch, "thuysan@demo.vn")[0]
    shrimp_lot = ids_of(demo_app, Lot, "thuysan@demo.vn")[0]
    shrimp_product = ids_of(demo_app, Product, "thuysan@demo.vn")[0]
    with demo_app.app_context():
        run = get_session().exec(select(LabelRun).where(LabelRun.lot_id == shrimp_lot)).first()
    for path in (f"/producer/batches/{shrimp_batch}", f"/producer/lots/{shrimp_lot}", f"/producer/products/{shrimp_product}",
                 f"/producer/label-runs/{run.id}/labels.pdf", f"/producer/label-runs/{run.id}/{run.first_serial}.png"):
        assert rice_client.get(path).status_code == 404, path
    lists = "".join(rice_client.get(p).get_data(as_text=True) for p in ("/producer/", "/producer/sites", "/producer/products",
                                                                     "/producer/certificates", "/producer/batches"))
    assert "Bạch Đằng" not in lists and "Tôm thẻ" not in lists and "Gạo Bắc Hương" in lists


def test_writes_into_another_producers_batch_lot_or_product_are_refused(rice_client, demo_app):
    shrimp_batch = ids_of(demo_app, Batch, "thuysan@demo.vn")[0]
    shrimp_lot = ids_of(demo_app, Lot, "thuysan@demo.vn")[0]
    shrimp_product = ids_of(demo_app, Product, "thuysan@demo.vn")[0]
    before = total(demo_app, Event, Lot, LabelRun, OcopRating)
    own_batch = ids_of(demo_app, Batch, "htx.lua@demo.vn")[0]
    posts = [
        (f"/producer/batches/{shrimp_batch}", {"form": "harvest", "lot_code": "STEAL", "quantity": "1", "unit": "kg",
                                               "time": ago(0)[:16]}, f"/producer/batches/{own_batch}"),
        (f"/producer/lots/{shrimp_lot}", {"form": "labels", "count": "5"}, "/producer/"),
        (f"/producer/lots/{shrimp_lot}", {"form": "packing", "package_count": "1", "time": ago(0)[:16]}, "/producer/"),
        (f"/producer/products/{shrimp_product}", {"stars": "5", "decision_number": "x", "issued_on": "2026-01-01",
                                                  "issuing_level": "ward"}, "/producer/products"),
    ]
    for path, data, form_page in posts:
        assert post_form(rice_client, path, data, form_page=form_page).status_code == 404, path
    assert total(demo_app, Event, Lot, LabelRun, OcopRating) == before


def test_foreign_ids_inside_a_form_are_refused(rice_client, demo_app):
    shrimp_site = ids_of(demo_app, Site, "thuysan@demo.vn")[0]
    shrimp_product = ids_of(demo_app, Product, "thuysan@demo.vn")[0]
    own_site = ids_of(demo_app, Site, "htx.lua@demo.vn")[0]
    own_product = ids_of(demo_app, Product, "htx.lua@demo.vn")[0]
    before = total(demo_app, Batch, Certificate, Event)
    rice_client.set_cookie("lang", "en")
    r = post_form(rice_client, "/producer/batches", {"site_id": shrimp_site, "product_id": own_product, "code": "X",
                                                     "time": ago(3)[:16]})
    assert r.status_code == 422
    assert field_errors(r.get_data(as_text=True)) == {"site_id": "No such item in your organization."}
    r = post_form(rice_client, "/producer/batches", {"site_id": own_site, "product_id": shrimp_product, "code": "X",
                                                     "time": ago(3)[:16]})
    assert r.status_code == 422
    assert field_errors(r.get_data(as_text=True)) == {"product_id": "No such item in your organization."}
    not_yours = "The scope names an area or product that is not yours."
    for scope in ({"site_ids": [str(shrimp_site)]}, {"site_ids": [str(own_site)], "product_ids": [str(shrimp_product)]}):
        r = post_form(rice_client, "/producer/certificates", {"scheme": "organic", "certifier": "X", "number": "N",
                                                              "valid_from": "2026-01-01", "valid_to": "2026-12-31",
                                                              **scope})
        assert r.status_code == 422
        assert field_errors(r.get_data(as_text=True)) == {"site_ids": not_yours, "product_ids": not_yours}
    assert total(demo_app, Batch, Certificate, Event) == before


def test_api_tokens_see_only_their_own_organization(demo_client, demo_app):
    rice, shrimp = token_for(demo_app, "htx.lua@demo.vn"), token_for(demo_app, "thuysan@demo.vn")
    rice_lots = {lot["code"] for lot in demo_client.get("/api/v1/lots", headers=rice).get_json()}
    shrimp_lots = {lot["code"] for lot in demo_client.get("/api/v1/lots", headers=shrimp).get_json()}
    assert rice_lots == {"GAO-BH-2610A", "THOC-PL-2611", "THOC-PA-2611", "THOC-KB-2611", "GAO-XAT-2611"}
    assert shrimp_lots == {"TOM-A7-2611", "TOM-A3-2608"}
    shrimp_batch = ids_of(demo_app, Batch, "thuysan@demo.vn")[0]
    before = total(demo_app, Event, Lot, LabelRun)
    assert demo_client.get(f"/api/v1/batches/{shrimp_batch}", headers=rice).status_code == 404
    assert demo_client.post(f"/api/v1/batches/{shrimp_batch}/harvests", headers=rice,
                            json={"lot_code": "X", "quantity": 1, "unit": "kg", "time": ago(0)}).status_code == 404
    assert demo_client.post("/api/v1/lots/08936048000011/TOM-A7-2611/labels", headers=rice,
                            json={"count": 1}).status_code == 404
    assert demo_client.post("/api/v1/lots/08936048000011/TOM-A7-2611/packings", headers=rice,
                            json={"package_count": 1, "time": ago(0)}).status_code == 404
    assert total(demo_app, Event, Lot, LabelRun) == before
