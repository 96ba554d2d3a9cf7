"""Bad input to the chain's endpoints: every field of every body replaced by hostile values, and hostile query
strings; never a 500, always a problem response, and nothing written."""
from trace.db import get_session
from trace.models import Product, Shipment
from trace.services import epcis

import pytest
from sqlmodel import select

from .test_api import ago, token_for
from .test_lineage import held, snapshot

RICE_GTIN, RICE_LOT = "08936045000014", "GAO-BH-2610A"
HOSTILE = [None, [], {}, "", " ", "x" * 5000, -1, 0, 10**30, 1e308, "1e3", "NaN", "Infinity", True, "\x00",
           "１２", "1,5.5", [1, 2], {"a": 1}, [[[[[]]]]], "2026-02-30T07:00", "9999-01-01T00:00"]


@pytest.fixture
def tokens(demo_app):
    return {"rice": token_for(demo_app, "htx.lua@demo.vn"), "market": token_for(demo_app, "sieuthi@demo.vn"),
            "inspector": token_for(demo_app, "kiemtra@demo.vn")}


@pytest.fixture
def cases(demo_app, demo_client, tokens):
    """(path, token, a valid body) for every endpoint that records something."""
    with demo_app.app_context():
        session = get_session()
        rice_product = session.exec(select(Product).where(Product.gtin == RICE_GTIN)).one().id
    line = {"gtin": RICE_GTIN, "lot": RICE_LOT, "quantity": "1"}
    r = demo_client.post("/api/v1/shipments", headers=tokens["rice"], json={
        "to_organization_id": _org(demo_app, "sieuthi@demo.vn"), "reference": "PX-BAD", "time": ago(1), "lines": [line]})
    assert r.status_code == 201
    shipment, event = r.get_json()["shipment_id"], r.get_json()["id"]
    lot_path = f"/api/v1/lots/{RICE_GTIN}/{RICE_LOT}"
    return [
        ("/api/v1/transformations", "rice", {"process": "milling", "time": ago(0.5), "inputs": [line],
                                             "outputs": [{"product_id": rice_product, "lot": "NEW-1", "quantity": "1"}]}),
        ("/api/v1/shipments", "rice", {"to_organization_id": _org(demo_app, "dulich@demo.vn"), "reference": "PX-2",
                                       "reference_type": "inv", "time": ago(0.5), "lines": [line]}),
        (f"/api/v1/shipments/{shipment}/receipt", "market", {"time": ago(0.5), "lines": [line]}),
        (f"{lot_path}/storage", "rice", {"site_id": _site(demo_app), "temperature_c": "4", "time": ago(0.5)}),
        (f"{lot_path}/destructions", "rice", {"reason": "hỏng", "quantity": "1", "time": ago(0.5)}),
        (f"{lot_path}/packings", "rice", {"package_count": 1, "sscc": "089360450000000038", "time": ago(0.5)}),
        ("/api/v1/unpackings", "rice", {"sscc": "089360450000000014", "time": ago(0.5)}),
        (f"/api/v1/events/{event}/error-declaration", "rice", {"reason": "sai", "reason_code": "incorrect_data"}),
        (f"{lot_path}/recall", "inspector", {"reason": "thử"}),
    ]


def _org(app, email):
    from trace.models import User
    with app.app_context():
        return get_session().exec(select(User).where(User.email == email)).one().organization_id


def _site(app):
    from trace.models import Site
    with app.app_context():
        return get_session().exec(select(Site).where(Site.name == "Xưởng xay xát HTX Phục Lễ")).one().id


def _variants(body: dict):
    for key, value in body.items():
        for bad in HOSTILE:
            yield f"{key}={bad!r:.20}", {**body, key: bad}
        if isinstance(value, list):
            row = value[0]
            for field in row:
                for bad in HOSTILE:
                    yield f"{key}[0].{field}={bad!r:.20}", {**body, key: [{**row, field: bad}]}
            yield f"{key}×101", {**body, key: value * 101}
        yield f"without {key}", {k: v for k, v in body.items() if k != key}


def test_hostile_fields_get_a_problem_and_write_nothing(demo_app, demo_client, tokens, cases):
    failures = []
    for path, who, body in cases:
        before = snapshot(demo_app)
        for label, variant in _variants(body):
            r = demo_client.post(path, headers=tokens[who], json=variant)
            if r.status_code >= 500 or (r.status_code >= 400 and r.mimetype != "application/problem+json"):
                failures.append(f"{path} {label}: {r.status_code}")
            elif r.status_code < 300:  # some variants are still valid (an optional field left out): undo nothing,
                before = snapshot(demo_app)  # but what follows must be compared with what is there now
            elif snapshot(demo_app) != before:
                failures.append(f"{path} {label}: refused but wrote")
    assert failures == []


def test_hostile_query_strings(demo_client, tokens):
    failures = []
    for path in ("/api/v1/lots/{g}/{l}/trace?direction={v}", "/api/v1/epcis/events?gtin={g}&lot={l}&from={v}",
                 "/api/v1/epcis/events?limit={v}", "/api/v1/epcis/events?after={v}&bizStep={v}",
                 "/api/v1/reports/fsma204?from={v}&to={v}", "/api/v1/reports/fsma204?gtin={g}&lot={l}&format={v}",
                 "/api/v1/shipments?direction={v}&status={v}", "/api/v1/lots/{g}/{l}/claims"):
        for value in ("", "%00", "x" * 3000, "-1", "99999999999999999999", "2026-13-45", "forward%0d%0a",
                      "0001-01-01", "9999-12-31", "9999-12-31T23:00-05:00", "0001-01-01T00:00+05:00"):
            for gtin, lot in ((RICE_GTIN, RICE_LOT), ("123", "A B"), (RICE_GTIN, "%2e%2e"), ("0" * 14, "X")):
                r = demo_client.get(path.format(g=gtin, l=lot, v=value), headers=tokens["inspector"])
                if r.status_code >= 500:
                    failures.append(f"{path} {value!r:.20} {gtin} {lot}: {r.status_code}")
    assert failures == []


def test_hostile_capture_documents(demo_app, demo_client, tokens):
    before = snapshot(demo_app)
    event = {"type": "ObjectEvent", "eventTime": ago(1)[:16] + ":00+07:00", "eventTimeZoneOffset": "+07:00",
             "action": "OBSERVE", "bizStep": "shipping", "quantityList": [
                 {"epcClass": f"https://id.gs1.org/01/{RICE_GTIN}/10/{RICE_LOT}", "quantity": 1, "uom": "KGM"}],
             "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:x:1"}]}
    documents = [[], "x", {"type": "EPCISDocument"}, {"type": "EPCISDocument", "epcisBody": {"eventList": "x"}}]
    for key in list(event):
        for bad in HOSTILE:
            documents.append({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                              "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-30T00:00:00Z",
                              "epcisBody": {"eventList": [{**event, key: bad}]}})
    failures = []
    for document in documents:
        r = demo_client.post("/api/v1/epcis/capture", headers=tokens["rice"], json=document)
        if r.status_code != 422 or r.mimetype != "application/problem+json":
            failures.append(f"{str(document)[:120]}: {r.status_code}")
    assert failures == []
    assert snapshot(demo_app) == before
    with demo_app.app_context():
        assert get_session().exec(select(Shipment).where(Shipment.reference == "x")).first() is None


def test_capture_of_lots_without_quantities(demo_app, demo_client, tokens):
    """EPCIS leaves a quantity optional: an output without one is refused; a lot destroyed without one is all
    of it that is held."""
    lot = f"https://id.gs1.org/01/{RICE_GTIN}/10/{RICE_LOT}"
    when = {"eventTime": ago(0.5)[:16] + ":00+07:00", "eventTimeZoneOffset": "+07:00"}
    milling = {"type": "TransformationEvent", **when, "bizStep": "commissioning",
               "inputQuantityList": [{"epcClass": lot, "quantity": 10, "uom": "KGM"}],
               "outputQuantityList": [{"epcClass": f"https://id.gs1.org/01/{RICE_GTIN}/10/NO-QTY"}]}
    destroying = {"type": "ObjectEvent", **when, "action": "DELETE", "bizStep": "destroying",
                  "quantityList": [{"epcClass": lot}], "tn:reason": "Ngập kho"}

    def capture(event, who):
        return demo_client.post("/api/v1/epcis/capture", headers=tokens[who], json=epcis.document([event]))

    before = snapshot(demo_app)
    r = capture(milling, "rice")
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.get_json()["errors"]] == ["outputs.0.quantity"]
    assert snapshot(demo_app) == before
    r = capture(destroying, "market")
    assert r.status_code == 201, r.get_json()
    assert held(demo_app, RICE_LOT, "sieuthi@demo.vn") == 0
