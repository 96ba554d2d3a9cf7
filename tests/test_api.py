"""JSON API /api/v1: bearer tokens, recording, labels, verification, problem responses for bad input."""
import re
from datetime import datetime, timedelta, timezone
from trace import key_store
from trace.db import get_session
from trace.models import ApiToken, Event, LabelRun, Lot, Product, Site
from trace.services import accounts, labels

import pytest
from sqlmodel import func, select

from .conftest import BASE_URL


def token_for(app, email):
    with app.app_context():
        session = get_session()
        token = accounts.create_token(session, email)
        session.commit()
        return {"Authorization": f"Bearer {token}"}


def count(app, model):
    with app.app_context():
        return get_session().exec(select(func.count()).select_from(model)).one()


def ago(days):
    return (datetime.now(timezone(timedelta(hours=7))) - timedelta(days=days)).isoformat(timespec="minutes")


@pytest.fixture
def rice(demo_app):
    return token_for(demo_app, "htx.lua@demo.vn")


def test_tokens_are_stored_hashed(demo_app, rice):
    token = rice["Authorization"].split()[1]
    with demo_app.app_context():
        stored = get_session().exec(select(ApiToken)).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64 and token not in stored.token_hash


def test_the_whole_path_through_the_api(demo_client, demo_app, rice):
    r = demo_client.post("/api/v1/sites", headers=rice, json={
        "name": "Ao nuôi thử", "kind": "brackish_pond", "crop": "Cua biển", "area_ha": 2.5,
        "farming_method": "intensive", "location": {"type": "Point", "coordinates": [106.76, 20.87]}})
    assert r.status_code == 201, r.get_json()
    site = r.get_json()
    r = demo_client.post("/api/v1/products", headers=rice, json={"name_vi": "Cua biển Thủy Nguyên", "unit": "kg",
                                                                 "gtin": "8936045000990"})
    assert r.status_code == 422 and "check digit" in r.get_json()["errors"]["gtin"]
    r = demo_client.post("/api/v1/products", headers=rice, json={"name_vi": "Cua biển Thủy Nguyên", "unit": "kg",
                                                                 "shelf_life_days": 4})
    assert r.status_code == 201
    product = r.get_json()
    r = demo_client.post(f"/api/v1/products/{product['id']}/ocop", headers=rice, json={
        "stars": 3, "decision_number": "12/QĐ", "issued_on": "2026-03-01", "issuing_level": "city"})
    assert r.status_code == 201 and r.get_json()["valid_until"] == "2029-02-28"
    r = demo_client.post("/api/v1/certificates", headers=rice, json={
        "scheme": "vietgap", "certifier": "Trung tâm Khảo nghiệm", "number": "VG-CUA-1",
        "valid_from": "2026-01-01", "valid_to": "2027-12-31", "site_ids": [site["id"]]})
    assert r.status_code == 201 and r.get_json()["status_today"] == "active"
    r = demo_client.post("/api/v1/batches", headers=rice, json={"site_id": site["id"], "product_id": product["id"],
                                                                "code": "CUA-1", "time": ago(90),
                                                                "variety": "Cua xanh", "seed_quantity": 5000,
                                                                "seed_unit": "con"})
    assert r.status_code == 201, r.get_json()
    batch = r.get_json()
    r = demo_client.post(f"/api/v1/batches/{batch['id']}/inputs", headers=rice, json={
        "category": "veterinary_drug", "input_name": "Vitamin C", "dose": 2, "dose_unit": "g/kg", "withholding_days": 0,
        "time": ago(20)})
    assert r.status_code == 201
    r = demo_client.post(f"/api/v1/batches/{batch['id']}/harvests", headers=rice, json={
        "lot_code": "CUA/2611.1", "quantity": "820.5", "unit": "kg", "time": ago(1)})
    assert r.status_code == 201, r.get_json()
    lot = r.get_json()
    assert lot["code"] == "CUA/2611.1"
    base = f"/api/v1/lots/{lot['gtin']}/CUA%2F2611.1"
    r = demo_client.post(f"{base}/packings", headers=rice, json={"package_count": 164, "package_size": 5,
                                                                 "package_unit": "kg", "time": ago(0.5)})
    assert r.status_code == 201, r.get_json()
    r = demo_client.post(f"{base}/labels", headers=rice, json={"count": 2})
    assert r.status_code == 201
    issued = r.get_json()["labels"]
    assert [item["serial"] for item in issued] == ["1", "2"]
    assert "/10/CUA%2F2611.1/21/1?8030=" in issued[0]["url"]
    timeline = demo_client.get(f"/api/v1/batches/{batch['id']}", headers=rice).get_json()["timeline"]
    assert [e["step"] for e in timeline] == ["stocking", "input_application", "harvest", "packing"]
    assert timeline[0]["time"].endswith("+07:00")
    # The scan URL (with %2F in the lot) answers with the contract's JSON.
    facts = demo_client.get(issued[0]["url"].replace(BASE_URL, ""), headers={"Accept": "application/json"}).get_json()
    assert facts["verification"]["status"] == "genuine"
    assert facts["lot"] == {**facts["lot"], "code": "CUA/2611.1", "recalled": False}
    assert facts["certifications"][0]["valid_at_production"] is True
    # The language switch brings the shopper back to the same, still genuine, label.
    page = demo_client.get(issued[0]["url"].replace(BASE_URL, "")).get_data(as_text=True)
    switch = re.search(r'href="(/lang/en[^"]+)"', page).group(1).replace("&amp;", "&")
    assert demo_client.get(switch).headers["Location"] == issued[0]["url"].replace(BASE_URL, "")
    r = demo_client.post("/api/v1/verify", json={"url": issued[1]["url"]})
    assert r.status_code == 200 and r.get_json()["verification"]["status"] == "genuine"
    assert r.get_json()["serial"] == "2"


def test_requests_without_a_valid_token_are_refused(demo_client, demo_app):
    for headers in ({}, {"Authorization": "Bearer trc_nope"}, {"Authorization": "Basic abc"}):
        r = demo_client.get("/api/v1/sites", headers=headers)
        assert r.status_code == 401 and r.mimetype == "application/problem+json"
    retailer = token_for(demo_app, "sieuthi@demo.vn")
    assert demo_client.post("/api/v1/sites", headers=retailer, json={}).status_code == 403
    assert demo_client.get("/api/v1/suppliers/1", headers=retailer).status_code == 200


@pytest.mark.parametrize("path,payload,field", [
    ("/api/v1/sites", {"name": "X", "kind": "rice_field", "crop": "Lúa", "area_ha": [1]}, "area_ha"),
    ("/api/v1/sites", {"name": "X", "kind": "rice_field", "crop": "Lúa", "area_ha": True}, "area_ha"),
    ("/api/v1/sites", {"name": 5, "kind": "rice_field", "crop": "Lúa", "area_ha": 1}, "name"),
    ("/api/v1/products", {"name_vi": "X", "unit": "kg", "shelf_life_days": 2.5}, "shelf_life_days"),
    ("/api/v1/products", {"name_vi": "X", "unit": "kg", "gtin": 8936045000014}, "gtin"),
    ("/api/v1/certificates", {"scheme": "halal", "certifier": "X", "number": "1", "valid_from": "01/02/2026",
                              "valid_to": "2027-01-01", "product_ids": [1]}, "valid_from"),
    ("/api/v1/certificates", {"scheme": "halal", "certifier": "X", "number": "1", "valid_from": "2026-01-01",
                              "valid_to": "2027-01-01", "product_ids": "1"}, "product_ids"),
    ("/api/v1/batches", {"site_id": "one", "product_id": 1, "code": "B", "time": "2026-01-01T07:00"}, "site_id"),
])
def test_wrong_types_get_a_problem_response_and_write_nothing(demo_client, demo_app, rice, path, payload, field):
    before = [count(demo_app, m) for m in (Site, Product, Event)]
    r = demo_client.post(path, headers=rice, json=payload)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert field in r.get_json()["errors"]
    assert [count(demo_app, m) for m in (Site, Product, Event)] == before


@pytest.mark.parametrize("body,content_type", [("{broken", "application/json"), ("[1, 2]", "application/json"),
                                               ("name=x", "application/x-www-form-urlencoded"), ("", "application/json")])
def test_broken_json_is_refused_clearly(demo_client, rice, body, content_type):
    r = demo_client.post("/api/v1/sites", headers=rice, data=body, content_type=content_type)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert "body" in r.get_json()["errors"]


def test_harvest_with_bad_lot_code_or_negative_quantity_writes_nothing(demo_client, demo_app, rice):
    batch_id = demo_client.get("/api/v1/batches", headers=rice).get_json()[0]["id"]
    before = count(demo_app, Lot), count(demo_app, Event)
    for payload, field in [({"lot_code": "A B", "quantity": 5}, "lot_code"), ({"lot_code": "X" * 21, "quantity": 5}, "lot_code"),
                           ({"lot_code": "OK-1", "quantity": -5}, "quantity"), ({"lot_code": "OK-1", "quantity": "1e999"}, "quantity")]:
        r = demo_client.post(f"/api/v1/batches/{batch_id}/harvests", headers=rice,
                             json={"unit": "kg", "time": ago(1), **payload})
        assert r.status_code == 422 and field in r.get_json()["errors"], payload
    assert (count(demo_app, Lot), count(demo_app, Event)) == before


def test_unknown_lots_and_routes_are_404_problems(demo_client, demo_app, rice):
    before = count(demo_app, LabelRun)
    r = demo_client.post("/api/v1/lots/08936045000014/NO-SUCH-LOT/labels", headers=rice, json={"count": 1})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert demo_client.get("/api/v1/nothing-here").status_code == 404
    r = demo_client.post("/api/v1/lots/08936045000014/GAO-BH-2610A/labels", headers=rice, json={"count": -1})
    assert r.status_code == 422 and "count" in r.get_json()["errors"]
    assert count(demo_app, LabelRun) == before


def test_verify_endpoint_reports_each_status(demo_client, demo_app):
    from .test_labels import a_url_of_each_status
    urls = a_url_of_each_status(demo_app)
    answers = {status: demo_client.post("/api/v1/verify", json={"url": url}) for status, (url, _, _) in urls.items()}
    assert {status: r.status_code for status, r in answers.items()} == {status: 200 for status in urls}
    assert {status: r.get_json()["verification"] for status, r in answers.items()} == {
        status: {"status": status, "kid": kid, "reason": reason} for status, (_, kid, reason) in urls.items()}
    # The product is shown for a label signed by a published key and issued, and not cancelled.
    shown = {status: (r.get_json().get("product") or {}).get("gtin") for status, r in answers.items()}
    assert shown == {"genuine": "08936045000014", "tampered": None, "unknown_key": None,
                     "revoked_key": "08936045000014", "not_issued": None, "cancelled": None,
                     "foreign_host": None, "malformed": None}


def test_verify_endpoint_refuses_what_is_not_a_url(demo_client):
    r = demo_client.post("/api/v1/verify", json={"url": 42})
    assert (r.status_code, r.get_json()["errors"]) == (422, {"url": "Give the label's URL as a string."})
    r = demo_client.post("/api/v1/verify", data="nope", content_type="application/json")
    assert (r.status_code, r.get_json()["errors"]) == (
        422, {"body": "The body is not valid JSON (send Content-Type: application/json)."})


def test_supplier_profile_shows_certificates_with_validity_and_ocop(demo_client, demo_app):
    headers = token_for(demo_app, "sieuthi@demo.vn")
    suppliers = {}
    for org_id in range(1, 6):
        profile = demo_client.get(f"/api/v1/suppliers/{org_id}", headers=headers).get_json()
        suppliers[profile["organization"]["name"]] = profile
    veg = suppliers["Tổ hợp tác Rau hữu cơ Hoa Động"]
    statuses = {c["scheme"]: c["status"] for c in veg["certificates"]}
    assert statuses == {"organic": "active", "vietgap": "expired"}
    rice_profile = suppliers["HTX Nông nghiệp Lúa chất lượng cao Thủy Nguyên"]
    assert rice_profile["products"][0]["ocop"]["stars"] == 4
    halal = suppliers["Công ty CP Chế biến Thực phẩm Minh Đức"]["certificates"]
    assert [c["scheme"] for c in halal] == ["halal"]
    assert demo_client.get("/api/v1/suppliers/6", headers=headers).status_code == 404  # a retailer, not a supplier


def test_a_site_certificate_and_ocop_rating_have_one_shape_in_the_api_scan_json_and_supplier_profile(
        demo_client, demo_app, rice):
    """One builder each (trace/services/shapes.py): what the producer's API answers is what a shopper's scan and a
    retailer's supplier check show of the same site, certificate and rating."""
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == "GAO-BH-2610A")).one()
        run = session.exec(select(LabelRun).where(LabelRun.lot_id == lot.id)).first()
        url = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run, range(run.first_serial,
                                                                                    run.first_serial + 1))[0].url
    facts = demo_client.get(url.replace(BASE_URL, ""), headers={"Accept": "application/json"}).get_json()

    sites = {site["id"]: site for site in demo_client.get("/api/v1/sites", headers=rice).get_json()}
    assert facts["production_area"] == sites[facts["production_area"]["id"]]
    assert facts["production_area"]["map"].startswith("https://www.openstreetmap.org/?mlat=")

    products = {p["gtin"]: p for p in demo_client.get("/api/v1/products", headers=rice).get_json()}
    assert products["08936045000014"]["ocop"] == facts["ocop"]
    assert (facts["ocop"]["stars"], facts["ocop"]["decision_number"], facts["ocop"]["issuing_level"]) == (
        4, "1502/QĐ-UBND", "city")

    certificates = {c["id"]: c for c in demo_client.get("/api/v1/certificates", headers=rice).get_json()}
    (scanned,) = facts["certifications"]
    about_the_lot = {"holder", "holder_en", "covers", "valid_at_production"}
    assert {k: v for k, v in scanned.items() if k not in about_the_lot} == certificates[scanned["id"]]
    assert (scanned["number"], scanned["status_today"], scanned["sites"]) == (
        "VietGAP-TT-24-08-0231", "active", [facts["production_area"]["name"]])

    profile = demo_client.get(f"/api/v1/suppliers/{facts['producer']['id']}",
                              headers=token_for(demo_app, "sieuthi@demo.vn")).get_json()
    listed = {c["id"]: {k: v for k, v in c.items() if k != "status"} for c in profile["certificates"]}
    assert listed == certificates
    assert [p["ocop"] for p in profile["products"] if p["gtin"] == "08936045000014"] == [facts["ocop"]]
