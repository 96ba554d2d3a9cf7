"""EPCIS capture reads back everything the export writes: a chain recorded by hand in one copy of the ward and
captured into another copy comes out of both exactly alike, event for event and field for field."""
import json
from trace.db import get_session
from trace.models import Shipment
from trace.services import event_hash
from trace.services.capture import UnreadableEvent, sscc_of, temperature_of

import pytest
from sqlmodel import select

from .conftest import _make_app
from .test_api import ago, token_for
from .test_epcis import at, document_of, harvest_event, shipping_event
from .test_lineage import held, ids, org_id

PADDY, RICE = "08936045000021", "08936045000014"
SSCC = "089360450000000045"


def _record_a_season(client, rice, market) -> None:
    """A field's season, from planting to the delivery and a destruction, through the API as a user would."""
    def post(path, body):
        response = client.post(f"/api/v1/{path}", headers=rice, json=body)
        assert response.status_code == 201, (path, response.get_json())
        return response.get_json()
    batch = post("batches", {"site_id": ids(client, rice, "sites")["Cánh đồng Phả Lễ"],
                             "product_id": ids(client, rice, "products")["Thóc Bắc Hương tươi"],
                             "code": "RT-VU", "time": ago(40)})["id"]
    post(f"batches/{batch}/inputs", {"category": "fertiliser", "input_name": "NPK 16-16-8 Đầu Trâu", "dose": "250",
                                     "dose_unit": "kg/ha", "time": ago(30)})
    post(f"batches/{batch}/harvests", {"lot_code": "RT-P1", "quantity": "1000", "unit": "kg", "time": ago(6)})
    post(f"lots/{PADDY}/RT-P1/storage", {"site_id": ids(client, rice, "sites")["Xưởng xay xát HTX Phục Lễ"], "cooling": "yes",
                                        "temperature_c": "-4.5", "time": ago(5.5)})
    post("transformations", {"process": "milling", "time": ago(5), "note": "Xay xát, đánh bóng",
                             "inputs": [{"gtin": PADDY, "lot": "RT-P1", "quantity": "600"}],
                             "outputs": [{"gtin": RICE, "lot": "RT-R1", "quantity": "400"}]})
    post(f"lots/{RICE}/RT-R1/packings", {"package_count": "8", "package_size": "50", "package_unit": "kg",
                                        "packaging": "Bao PP 50 kg", "packaging_en": "50 kg PP sack", "sscc": SSCC,
                                        "time": ago(4)})
    post("unpackings", {"sscc": SSCC, "time": ago(3.5)})
    post("shipments", {"to_organization_id": market, "reference_type": "inv", "reference": "HĐ-RT-01",
                       "time": ago(3), "lines": [{"gtin": RICE, "lot": "RT-R1", "quantity": "150"}]})
    post(f"lots/{PADDY}/RT-P1/destructions", {"reason": "Ẩm mốc sau mưa", "quantity": "40.5", "time": ago(2)})


def _as_recorded(events: list) -> list:
    """The events without the moment each copy of the ward recorded them."""
    return [{key: value for key, value in event.items() if key != "recordTime"} for event in events]


def _exported(client, token) -> list:
    return client.get(f"/api/v1/epcis/events?from={ago(41)[:10]}&limit=1000", headers=token).get_json()[
        "epcisBody"]["eventList"]


@pytest.fixture
def there_app(databases, tmp_path):
    """A second copy of the demo ward, alike to the first to the last id."""
    yield from _make_app(databases, tmp_path / "there", "demo")


def test_a_season_captured_into_another_copy_of_the_ward_comes_out_alike(demo_app, there_app):
    here_app = demo_app
    rice, market = token_for(here_app, "htx.lua@demo.vn"), org_id(here_app, "sieuthi@demo.vn")
    client = here_app.test_client()
    before = _exported(client, rice)
    _record_a_season(client, rice, market)
    season = _exported(client, rice)
    new = [event for event in season if event not in before]
    steps = [event["bizStep"].rsplit(":", 1)[-1] for event in new]
    assert steps == ["planting", "input_application", "commissioning", "storing", "commissioning", "packing",
                     "unpacking", "shipping", "destroying"]
    other = there_app.test_client()
    rice_there = token_for(there_app, "htx.lua@demo.vn")
    document = client.get(f"/api/v1/epcis/events?from={ago(41)[:10]}&limit=1000", headers=rice).get_json()
    assert json.dumps(document, sort_keys=True) != json.dumps(document)  # sent with its keys in another order
    (packing,) = [event for event in document["epcisBody"]["eventList"] if event.get("parentID", "").endswith(SSCC)
                  and event["bizStep"] == "packing"]
    packing["parentID"] = "urn:epc:id:sscc:8936045.0000000004"  # the same SSCC written as an EPC URI
    response = other.post("/api/v1/epcis/capture", headers=rice_there, json=document)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["recorded"], response.get_json()["skipped"]) == (len(new), len(before))
    assert _as_recorded(_exported(other, rice_there)) == _as_recorded(season)  # hash IDs included


@pytest.mark.parametrize(("parent", "sscc"), [
    (None, None), (f"https://id.gs1.org/00/{SSCC}", SSCC), (f"https://example.com/00/{SSCC}?x=1", SSCC),
    ("urn:epc:id:sscc:8936045.0000000004", SSCC)])
def test_a_container_is_named_by_its_sscc_in_any_uri_form(parent, sscc):
    assert sscc_of(parent) == sscc


@pytest.mark.parametrize("parent", ["https://id.gs1.org/01/08936045000014/21/7", "urn:epc:id:sgtin:8936045.000001.7",
                                    "pallet 7", 89360450000000045])
def test_a_parent_that_is_not_an_sscc_is_refused_by_name(parent):
    with pytest.raises(UnreadableEvent) as refused:
        sscc_of(parent)
    assert str(refused.value) == f"parentID {parent} is not an SSCC."


def _sensed(*reports):
    return {"sensorElementList": [{"sensorMetadata": {}, "sensorReport": list(reports)}]}


@pytest.mark.parametrize(("event", "celsius"), [
    (_sensed({"type": "Temperature", "value": -18, "uom": "CEL"}), "-18"),
    (_sensed({"type": "gs1:Temperature", "value": 4.5, "uom": "CEL"}), "4.5"),
    (_sensed({"type": "https://gs1.org/voc/Temperature", "value": 2, "uom": "CEL"}), "2"),
    (_sensed({"type": "Humidity", "value": 80, "uom": "A93"}, {"type": "Temperature", "value": 3, "uom": "CEL"}), "3"),
    ({"sensorElementList": [{"sensorReport": []}, _sensed({"type": "Temperature", "value": 5, "uom": "CEL"})[
        "sensorElementList"][0]]}, "5"),
    (_sensed({"type": "Temperature", "value": 40, "uom": "FAH"}), None),  # only Celsius is recorded
    (_sensed({"type": "Temperature", "uom": "CEL"}), None),
    (_sensed({"type": "Pressure", "value": 1, "uom": "CEL"}), None),
    ({}, None), ({"sensorElementList": None}, None)])
def test_the_temperature_recorded_is_a_celsius_reading_of_a_temperature_sensor(event, celsius):
    assert temperature_of(event) == celsius


def _sent_id(event: dict) -> str:
    return event_hash.document_hash_ids(document_of(event))[0]


def _declared(event: dict, **declaration) -> dict:
    return {**event, "errorDeclaration": {"declarationTime": at(0.2), **declaration}}


def _declarations(client, token, gtin, lot) -> list:
    chain = client.get(f"/api/v1/epcis/events?gtin={gtin}&lot={lot}&direction=forward", headers=token).get_json()
    return [event["errorDeclaration"] for event in chain["epcisBody"]["eventList"] if event.get("errorDeclaration")]


def test_an_error_declaration_finds_its_event_by_id_or_by_content_and_keeps_its_reason(demo_client, demo_app):
    rice = token_for(demo_app, "htx.lua@demo.vn")
    rice_org, market_org = org_id(demo_app, "htx.lua@demo.vn"), org_id(demo_app, "sieuthi@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "DEC-P1", 300, at(3))  # stored with more than was sent
    first = shipping_event(RICE, "GAO-BH-2610A", 10, rice_org, market_org, "PXK-DEC-1", at(2))  # stored as sent
    second = shipping_event(RICE, "GAO-BH-2610A", 20, rice_org, market_org, "PXK-DEC-2", at(1.5))
    captured = demo_client.post("/api/v1/epcis/capture", headers=rice, json=document_of(harvest, first, second))
    assert captured.status_code == 201, captured.get_json()
    harvest_id, first_id, second_id = captured.get_json()["eventIDs"]
    sent_harvest_id = _sent_id(harvest)
    assert sent_harvest_id != harvest_id
    corrective = "urn:uuid:5b1c7f0e-3f0a-4c52-9a57-0d4b7c9e2a11"
    declarations = document_of(
        # by the eventID the service gave it, with content that no longer matches
        _declared({**first, "eventTime": at(2.5), "eventID": first_id},
                  reason="https://ref.gs1.org/cbv/ER-did_not_occur", correctiveEventIDs=[corrective]),
        _declared(second),  # by its content alone, no reason given
        # by the eventID of the form that was sent, and by that form's content
        _declared({**harvest, "eventTime": at(3.5), "eventID": sent_harvest_id}, reason="did_not_occur",
                  **{"urn:thuynguyen-trace:epcis:reason": "Cân nhầm"}))  # the text's key written out in full
    response = demo_client.post("/api/v1/epcis/capture", headers=rice, json=declarations)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["recorded"], response.get_json()["skipped"]) == (3, 0)
    declared_at = at(0.2)
    assert _declarations(demo_client, rice, RICE, "GAO-BH-2610A")[-2:] == [
        {"declarationTime": declared_at, "reason": "did_not_occur", "tn:reason": "did_not_occur",
         "correctiveEventIDs": [corrective]},
        {"declarationTime": declared_at, "reason": "incorrect_data", "tn:reason": "incorrect_data"}]
    assert _declarations(demo_client, rice, PADDY, "DEC-P1") == [
        {"declarationTime": declared_at, "reason": "did_not_occur", "tn:reason": "Cân nhầm"}]
    again = demo_client.post("/api/v1/epcis/capture", headers=rice, json=document_of(_declared(harvest)))
    assert (again.get_json()["recorded"], again.get_json()["skipped"]) == (0, 1)
    assert second_id == _sent_id(second)


def test_an_error_declaration_of_an_event_not_recorded_is_refused_by_name(demo_client, demo_app):
    rice = token_for(demo_app, "htx.lua@demo.vn")
    never = harvest_event("THOC-PA-V2", PADDY, "DEC-NEVER", 5, at(1))
    response = demo_client.post("/api/v1/epcis/capture", headers=rice,
                                json=document_of(_declared({**never, "eventID": "urn:uuid:0e6e2a1c-1111-4c52-9a57-0d4b7c9e2a11"})))
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"event": 0, "message": "The event this error declaration corrects is not recorded here."}]


def test_cbv_words_are_read_as_words_or_as_their_web_uris(demo_client, demo_app):
    """EPCIS 2.0 JSON-LD lets a partner write a CBV value as its bare word or as the web URI it stands for."""
    def written(prefix: str, word: str) -> str:
        return f"https://ref.gs1.org/cbv/{prefix}-{word}"
    rice = token_for(demo_app, "htx.lua@demo.vn")
    rice_org, market_org = org_id(demo_app, "htx.lua@demo.vn"), org_id(demo_app, "sieuthi@demo.vn")
    harvest = {**harvest_event("THOC-PA-V2", PADDY, "CBV-P1", 40, at(2)), "bizStep": written("BizStep", "commissioning")}
    shipment = shipping_event(RICE, "GAO-BH-2610A", 5, rice_org, market_org, "PXK-CBV-1", at(1))
    shipment["bizStep"] = written("BizStep", "shipping")
    shipment["bizTransactionList"][0]["type"] = written("BTT", "inv")
    captured = demo_client.post("/api/v1/epcis/capture", headers=rice, json=document_of(harvest, shipment))
    assert captured.status_code == 201, captured.get_json()
    assert held(demo_app, "CBV-P1", "htx.lua@demo.vn") == 40
    with demo_app.app_context():
        assert get_session().exec(select(Shipment.reference_type).where(Shipment.reference == "PXK-CBV-1")).all() == [
            "inv"]
    bare = [harvest_event("THOC-PA-V2", PADDY, "CBV-P1", 40, at(2)),
            {**shipping_event(RICE, "GAO-BH-2610A", 5, rice_org, market_org, "PXK-CBV-1", at(1))}]
    bare[1]["bizTransactionList"][0]["type"] = "inv"
    again = demo_client.post("/api/v1/epcis/capture", headers=rice, json=document_of(*bare)).get_json()
    assert (again["recorded"], again["skipped"]) == (0, 2)  # the same events, whatever the form
    declared = _declared(shipment, reason=written("ER", "did_not_occur"))
    assert demo_client.post("/api/v1/epcis/capture", headers=rice, json=document_of(declared)).status_code == 201
    assert _declarations(demo_client, rice, RICE, "GAO-BH-2610A")[-1]["reason"] == "did_not_occur"
