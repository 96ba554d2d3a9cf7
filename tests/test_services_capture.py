"""EPCIS capture reads back everything the export writes: a chain recorded by hand in one copy of the ward and
captured into another copy comes out of both exactly alike, event for event and field for field; an event it
cannot record is refused by what it names wrongly, and a document's lots and batches are read once."""
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from trace.db import get_session
from trace.models import Batch, Event, EventLot, Lot, Organization, Product, Shipment, Site
from trace.services import epcis, event_hash
from trace.services.capture import CaptureError, UnreadableEvent, capture, cbv_word, sscc_of, temperature_of

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from .conftest import _make_app, lot_named
from .test_api import ago, token_for
from .test_epcis import at, document_of, harvest_event, milling_event, shipping_event
from .test_lineage import held, ids, org_id
from .test_services_safety import _user

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


# --- capture at the service ---

ZONE = "Asia/Ho_Chi_Minh"
PLANTING, STOCKING = "urn:thuynguyen-trace:bizstep:planting", "urn:thuynguyen-trace:bizstep:stocking"


def _batch_start(step: str, site: int, product: str, batch: str, time: str, **ours) -> dict:
    """A planting or stocking exactly as the export writes it."""
    return {"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+07:00", "epcList": [],
            "action": "OBSERVE", "bizStep": step, "readPoint": {"id": f"{epcis.SITE_URN}{site}"},
            "bizLocation": {"id": f"{epcis.SITE_URN}{site}"}, "tn:batch": batch, "tn:product": product,
            **{f"tn:{key}": value for key, value in ours.items()}}


def _details(session, hash_ids: list) -> list:
    events = {event.hash_id: event for event in session.exec(select(Event).where(Event.hash_id.in_(hash_ids)))}
    return [(events[hash_id].step, events[hash_id].details) for hash_id in hash_ids]


def test_a_planting_and_a_stocking_are_captured_with_their_variety_species_and_seed(session):
    field, pond = (session.exec(select(Site.id).where(Site.name == name)).one()
                   for name in ("Cánh đồng Phả Lễ", "Ao lót bạt số 7 (thâm canh công nghệ cao)"))
    planting = _batch_start(PLANTING, field, PADDY, "CAP-VU", at(5), variety="Bắc Hương", quantity="250", unit="kg",
                            source="Công ty Giống cây trồng Hải Phòng")
    stocking = _batch_start(STOCKING, pond, "08936048000011", "CAP-AO", at(5), species="Tôm thẻ chân trắng",
                            quantity="600000", unit="con", source="Trại giống Việt–Úc")
    recorded = []
    for email, event in (("htx.lua@demo.vn", planting), ("thuysan@demo.vn", stocking)):
        document = document_of(event)
        recorded += capture(session, _user(session, email), document, ZONE).recorded
        assert recorded[-1:] == event_hash.document_hash_ids(document)  # stored exactly as sent
    assert _details(session, recorded) == [
        ("planting", {"variety": "Bắc Hương", "quantity": "250", "unit": "kg", "source": "Công ty Giống cây trồng Hải Phòng"}),
        ("stocking", {"species": "Tôm thẻ chân trắng", "quantity": "600000", "unit": "con", "source": "Trại giống Việt–Úc"})]


def test_a_harvest_finds_its_batch_by_code_whatever_the_code_reads(session):
    """A batch may be coded "None": the text a missing code turns into does not hide it."""
    rice = _user(session, "htx.lua@demo.vn")
    field = session.exec(select(Site.id).where(Site.name == "Cánh đồng Phả Lễ")).one()
    capture(session, rice, document_of(_batch_start(PLANTING, field, PADDY, "None", at(5))), ZONE)
    capture(session, rice, document_of(harvest_event("None", PADDY, "CAP-N1", 100, at(1))), ZONE)
    assert session.exec(select(Batch.code).join(Lot, Lot.batch_id == Batch.id).where(Lot.code == "CAP-N1")).all() == [
        "None"]


def test_a_transformation_captured_keeps_the_unit_of_each_output(session):
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-U1", 2000, at(3))
    milling = milling_event([(PADDY, "CAP-U1", 2000)], (RICE, "CAP-U2", 1.3), at(2))
    milling["outputQuantityList"][0]["uom"] = "TNE"
    capture(session, _user(session, "htx.lua@demo.vn"), document_of(harvest, milling), ZONE)
    made = lot_named(session, "CAP-U2")
    assert (made.quantity, made.unit) == (Decimal("1.300"), "tấn")


def _event(kind: str, action: str | None, step: str, time: str, **lists) -> dict:
    return {"type": kind, "eventTime": time, "eventTimeZoneOffset": "+07:00", **({"action": action} if action else {}),
            "bizStep": step, **{name: [{"epcClass": epcis.class_uri(gtin, lot), "quantity": quantity, "uom": "KGM"}
                                       for gtin, lot, quantity in lines] for name, lines in lists.items()}}


def _packing(time: str, *lines) -> dict:
    """A packing into the container SSCC, exactly as the export writes it."""
    packing = {"type": "AggregationEvent", "eventTime": time, "eventTimeZoneOffset": "+07:00",
               "parentID": f"https://id.gs1.org/00/{SSCC}", "childEPCs": [], "action": "ADD", "bizStep": "packing",
               "childQuantityList": [{"epcClass": epcis.class_uri(gtin, lot), "quantity": quantity, "uom": "KGM"}
                                     for gtin, lot, quantity in lines]}
    if not lines:
        del packing["childQuantityList"]
        packing["childEPCs"] = [f"https://id.gs1.org/01/{RICE}/21/7"]  # serials, not a lot
    return packing


def test_an_event_naming_its_lots_wrongly_is_refused_with_the_list_and_the_lot_named(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-W1", 100, at(3))
    two = [(PADDY, "CAP-W2", 10), (PADDY, "CAP-W3", 10)]
    stray = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-W1", at(1))
    stray["destinationList"][0]["destination"] = f"{epcis.ORGANIZATION_URN}abc"
    unlisted_shipping = {key: value for key, value in shipping_event(
        RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-W2", at(1)).items()
        if key != "quantityList"}
    document = document_of(
        {**harvest, "quantityList": [{"epcClass": epcis.class_uri(g, lot), "quantity": q} for g, lot, q in two]},
        {**{key: value for key, value in harvest.items() if key != "quantityList"}, "epcList": []},
        {**harvest, "quantityList": [{"epcClass": epcis.class_uri(RICE, "CAP-W4"), "quantity": 10}]},
        {**harvest, "quantityList": [{"epcClass": f"https://id.gs1.org/01/{PADDY}", "quantity": 10}]},
        _event("ObjectEvent", "OBSERVE", "storing", at(2), quantityList=[(RICE, "GAO-BH-2610A", 1), *two]),
        {**_event("TransformationEvent", None, "commissioning", at(2), inputQuantityList=[(RICE, "GAO-BH-2610A", 1)]),
         "outputEPCList": [f"https://id.gs1.org/01/{RICE}/21/7"]},  # serials, not a lot
        {**_event("ObjectEvent", "DELETE", "destroying", at(2)), "epcList": []},
        _event("ObjectEvent", "DELETE", "destroying", at(2), quantityList=[(RICE, "CAP-NONE", 1)]),
        stray,
        _event("ObjectEvent", "DELETE", "destroying", at(2), quantityList=two),
        _packing(at(2)),
        _packing(at(2), (RICE, "GAO-BH-2610A", 1), (RICE, "GAO-BH-2610A", 2)),
        _packing(at(2), (RICE, "CAP-NONE", 1)),
        {**unlisted_shipping, "epcList": []},
        {**unlisted_shipping, "epcList": [], "bizStep": "receiving", "disposition": "in_progress"})
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document, ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": "quantityList must name exactly 1 lot."},
        {"event": 1, "message": "quantityList names no lot."},
        {"event": 2, "message": f"Batch THOC-PA-V2 grows GTIN {PADDY}, not {RICE}."},
        {"event": 3, "message": f"https://id.gs1.org/01/{PADDY} is not a lot (a GS1 Digital Link with GTIN and lot)."},
        {"event": 4, "message": "quantityList must name exactly 1 lot."},
        {"event": 5, "message": "outputQuantityList names no lot."},
        {"event": 6, "message": "quantityList names no lot."},
        {"event": 7, "message": f"No lot CAP-NONE of GTIN {RICE}."},
        {"event": 8, "message": "destinationList names no organization known to this service."},
        {"event": 9, "message": "quantityList must name exactly 1 lot."},
        {"event": 10, "message": "childQuantityList names no lot."},
        {"event": 11, "message": "childQuantityList must name exactly 1 lot."},
        {"event": 12, "message": f"No lot CAP-NONE of GTIN {RICE}."},
        {"event": 13, "message": "quantityList names no lot."},
        {"event": 14, "message": "quantityList names no lot."}]


def test_a_receipt_names_a_shipment_sent_to_the_receiver(session):
    rice, market, outlet = (_user(session, email) for email in ("htx.lua@demo.vn", "sieuthi@demo.vn", "dulich@demo.vn"))
    shipping = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, outlet.organization_id, "PXK-R1", at(1))
    capture(session, rice, document_of(shipping), ZONE)
    receipt = {**shipping, "eventTime": at(0.5), "bizStep": "receiving", "disposition": "in_progress"}
    with pytest.raises(CaptureError) as refused:
        capture(session, market, document_of(receipt), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "No shipment PXK-R1 to you from that organization."}]


def test_a_documents_batches_and_lots_are_read_once_whatever_list_names_them(session):
    rice = _user(session, "htx.lua@demo.vn")
    grading = milling_event([(RICE, "GAO-BH-2610A", 100)], (RICE, "CAP-Q3", 100), at(1))
    grading["tn:process"] = "grading"
    document = document_of(harvest_event("THOC-PA-V2", PADDY, "CAP-Q1", 100, at(3)),
                           harvest_event("THOC-KB-V2", PADDY, "CAP-Q2", 100, at(3)), grading)
    statements = _statements(session, lambda: capture(session, rice, document, ZONE))
    by_code = [found[1] for found in (re.search(r"\bFROM (lot|batch)\b.*\b\1\.code IN", statement, re.S)
                                      for statement in statements) if found]
    assert by_code == ["lot", "batch", "lot"]  # the lots named, the batches named, the new lots' ids read back
    # the two batches' pre-harvest intervals, in one query
    assert len([statement for statement in statements if re.search(r"\bFROM event\b.*\bevent\.batch_id IN", statement, re.S)]) == 1


def test_a_transformation_naming_no_input_is_refused_by_its_list(session):
    milling = milling_event([(PADDY, "CAP-I1", 10)], (RICE, "CAP-I2", 5), at(1))
    del milling["inputQuantityList"]
    milling["inputEPCList"] = [f"https://id.gs1.org/01/{PADDY}/21/7"]  # serials, not a lot
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(milling), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "inputQuantityList names no lot."}]


@pytest.mark.parametrize(("uom", "unit"), [("TNE", "tấn"), (None, "kg")])
def test_a_harvest_captured_keeps_its_unit_or_takes_the_products(session, uom, unit):
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-H1", 2, at(1))
    if uom is None:
        del harvest["quantityList"][0]["uom"]
    else:
        harvest["quantityList"][0]["uom"] = uom
    capture(session, _user(session, "htx.lua@demo.vn"), document_of(harvest), ZONE)
    harvested = lot_named(session, "CAP-H1")
    assert (harvested.quantity, harvested.unit) == (Decimal("2.000"), unit)


@pytest.mark.parametrize("number", ["abc", "12345678901234567890", "0000000001"])
def test_a_place_whose_number_is_not_a_site_id_is_refused_by_name(session, number):
    planting = _batch_start(PLANTING, 0, PADDY, "CAP-S1", at(1))
    planting["readPoint"] = planting["bizLocation"] = {"id": f"{epcis.SITE_URN}{number}"}
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(planting), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": f"bizLocation {epcis.SITE_URN}{number} names no site known to this service."}]


def _shipping_to(rice, market, number: str) -> dict:
    shipping = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-O1", at(1))
    shipping["destinationList"][0]["destination"] = f"{epcis.ORGANIZATION_URN}{number}"
    return shipping


def test_an_organization_number_zero_padded_to_nine_digits_names_the_organization(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    capture(session, rice, document_of(_shipping_to(rice, market, f"{market.organization_id:09d}")), ZONE)
    assert session.exec(select(Shipment.to_organization_id).where(Shipment.reference == "PXK-O1")).all() == [
        market.organization_id]


@pytest.mark.parametrize("number", ["{id:010d}", "2147483648", "9999999999"])
def test_an_organization_number_of_ten_digits_or_more_names_no_organization(session, number):
    """Ids have at most nine digits: a longer number, even the organization's own zero-padded, is none."""
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document_of(_shipping_to(rice, market, number.format(id=market.organization_id))), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": "destinationList names no organization known to this service."}]


def test_a_receipt_of_a_reference_sent_twice_receives_the_latest_shipment(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    sent = [shipping_event(RICE, "GAO-BH-2610A", quantity, rice.organization_id, market.organization_id, "PXK-T1", at(days))
            for quantity, days in ((5, 2), (7, 1.5))]
    capture(session, rice, document_of(*sent), ZONE)
    receipt = {**sent[1], "eventTime": at(0.5), "bizStep": "receiving", "disposition": "in_progress"}
    capture(session, market, document_of(receipt), ZONE)
    assert session.exec(select(Shipment.status).where(Shipment.reference == "PXK-T1").order_by(Shipment.id)).all() == [
        "in_transit", "received"]



# --- parties, places and transactions as a partner may write them ---

GLN = "8936045000014"


def test_a_party_named_by_the_gs1_digital_link_of_its_gln_is_that_organization(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    session.get(Organization, market.organization_id).gln = GLN
    session.flush()
    shipping = _shipping_to(rice, market, "0")
    shipping["destinationList"][0]["destination"] = f"https://id.gs1.org/417/{GLN}"
    capture(session, rice, document_of(shipping), ZONE)
    assert session.exec(select(Shipment.to_organization_id).where(Shipment.reference == "PXK-O1")).all() == [
        market.organization_id]


@pytest.mark.parametrize("party", ["https://example.com/partners/7", "urn:example:partner:7",
                                   f"https://id.gs1.org/414/{GLN}", f"https://id.gs1.org/417/{GLN}"])
def test_a_party_named_by_another_uri_or_an_unknown_gln_names_no_organization(session, party):
    """A location's GLN (AI 414) is no party; a party's GLN no organization has is none either."""
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    shipping = _shipping_to(rice, market, "0")
    shipping["destinationList"][0]["destination"] = party
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document_of(shipping), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": "destinationList names no organization known to this service."}]


FIELD, MILL = "Cánh đồng Phả Lễ", "Xưởng xay xát HTX Phục Lễ"


def _site_id(session, name: str) -> int:
    return session.exec(select(Site.id).where(Site.name == name)).one()


@pytest.mark.parametrize(("read_point", "biz_location", "site"), [
    (FIELD, None, FIELD), (MILL, FIELD, FIELD)])
def test_an_events_place_is_its_business_location_or_else_its_read_point(session, read_point, biz_location, site):
    planting = _batch_start(PLANTING, 0, PADDY, "CAP-L1", at(1))
    planting["readPoint"] = {"id": f"{epcis.SITE_URN}{_site_id(session, read_point)}"}
    if biz_location is None:
        del planting["bizLocation"]
    else:
        planting["bizLocation"] = {"id": f"{epcis.SITE_URN}{_site_id(session, biz_location)}"}
    capture(session, _user(session, "htx.lua@demo.vn"), document_of(planting), ZONE)
    assert session.exec(select(Batch.site_id).where(Batch.code == "CAP-L1")).all() == [_site_id(session, site)]


def _shipping_with(rice, market, *transactions) -> dict:
    shipping = _shipping_to(rice, market, str(market.organization_id))
    shipping["bizTransactionList"] = list(transactions)
    return shipping


@pytest.mark.parametrize(("transaction", "kind", "reference"), [
    ({"bizTransaction": "{ours}PXK:07/2026"}, "desadv", "PXK:07/2026"),  # no type; a colon left unescaped
    ({"type": "inv", "bizTransaction": "https://example.com/inv/2026-07"}, "inv", "https://example.com/inv/2026-07"),
    ({"type": "po", "bizTransaction": "https://erp.example.com/purchase-orders/2026/07/0000000000000000000042"}, "po",
     "p.example.com/purchase-orders/2026/07/0000000000000000000042")])  # the last 60 characters
def test_a_shipments_transaction_is_read_from_our_urn_or_any_other_uri(session, transaction, kind, reference):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    ours = epcis.transaction_uri(rice.organization_id, "")
    transaction = {**transaction, "bizTransaction": transaction["bizTransaction"].format(ours=ours)}
    capture(session, rice, document_of(_shipping_with(rice, market, transaction)), ZONE)
    assert session.exec(select(Shipment.reference_type, Shipment.reference).where(
        Shipment.to_organization_id == market.organization_id).order_by(Shipment.id.desc())).first() == (kind, reference)


def test_a_shipment_naming_no_transaction_is_refused_by_name(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    shipping = _shipping_with(rice, market)
    del shipping["bizTransactionList"]
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document_of(shipping), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": "A shipment names its delivery note or invoice (bizTransactionList)."}]


def test_a_receipt_finds_the_shipment_of_its_sender_among_others_of_the_same_reference(session):
    """Two suppliers may number their delivery notes alike."""
    rice, processor, market = (_user(session, email) for email in ("htx.lua@demo.vn", "chebien@demo.vn", "sieuthi@demo.vn"))
    first = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-S1", at(2))
    capture(session, rice, document_of(first), ZONE)
    session.add(Shipment(from_organization_id=processor.organization_id, to_organization_id=market.organization_id,
                         reference_type="desadv", reference="PXK-S1"))
    session.flush()
    receipt = {**first, "eventTime": at(0.5), "bizStep": "receiving", "disposition": "in_progress"}
    capture(session, market, document_of(receipt), ZONE)
    assert session.exec(select(Shipment.from_organization_id, Shipment.status).where(
        Shipment.reference == "PXK-S1").order_by(Shipment.id)).all() == [
        (rice.organization_id, "received"), (processor.organization_id, "in_transit")]


# --- quantities and our own fields ---

def test_a_quantity_in_a_unit_not_kept_is_refused_with_the_units_kept(session):
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-M1", 2, at(1))
    harvest["quantityList"][0]["uom"] = "GRM"
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(harvest), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "Unit GRM is not one of DTN, KGM, LTR, TNE."}]


def test_an_empty_quantity_list_names_no_lot(session):
    milling = milling_event([(PADDY, "CAP-E1", 10)], (RICE, "CAP-E2", 5), at(1))
    milling["inputQuantityList"] = []
    milling["inputEPCList"] = [f"https://id.gs1.org/01/{PADDY}/21/7"]
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(milling), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "inputQuantityList names no lot."}]


@pytest.mark.parametrize("fields", [
    {"urn:thuynguyen-trace:epcis:batch": "THOC-PA-V2"},  # our namespace written out in full
    {"tn:batch": "THOC-PA-V2", "acme:batch": "A-17"}])  # a partner's field of the same name is theirs
def test_our_fields_are_read_under_our_namespace_only(session, fields):
    harvest = {key: value for key, value in harvest_event("THOC-PA-V2", PADDY, "CAP-F1", 2, at(1)).items()
               if key != "tn:batch"}
    capture(session, _user(session, "htx.lua@demo.vn"), document_of({**harvest, **fields}), ZONE)
    assert session.exec(select(Batch.code).join(Lot, Lot.batch_id == Batch.id).where(Lot.code == "CAP-F1")).all() == [
        "THOC-PA-V2"]


def test_a_harvest_naming_no_batch_is_refused_by_name(session):
    harvest = {key: value for key, value in harvest_event("THOC-PA-V2", PADDY, "CAP-B1", 2, at(1)).items()
               if key != "tn:batch"}
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(harvest), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": "The event names the batch it belongs to (tn:batch); '' is not one of yours."}]


@pytest.mark.parametrize("code", ["None", "CAP-V1"])
def test_another_organizations_batch_is_not_yours_whatever_its_code(session, code):
    rice, vegetables = _user(session, "htx.lua@demo.vn"), _user(session, "rau.huuco@demo.vn")
    plot = session.exec(select(Site.id).where(Site.organization_id == vegetables.organization_id)).first()
    capture(session, vegetables, document_of(_batch_start(PLANTING, plot, "08936046000013", code, at(5))), ZONE)
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document_of(harvest_event(code, PADDY, "CAP-B2", 2, at(1))), ZONE)
    assert refused.value.problems == [
        {"event": 0, "message": f"The event names the batch it belongs to (tn:batch); {code!r} is not one of yours."}]


@pytest.mark.parametrize("product", ["08936045999990", "8936045999990", "", None])
def test_a_planting_of_a_product_not_known_is_refused_by_its_gtin(session, product):
    """The sender sees which GTIN it wrote is not known here, or that it wrote none."""
    planting = _batch_start(PLANTING, _site_id(session, FIELD), PADDY, "CAP-P9", at(1))
    if product is None:
        del planting["tn:product"]
    else:
        planting["tn:product"] = product
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(planting), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "The event names the product of its batch (tn:product); "
                                       f"{product or ''!r} is not a GTIN known to this service."}]


def test_a_planting_names_its_product_by_its_gtin_with_or_without_the_leading_zero(session):
    capture(session, _user(session, "htx.lua@demo.vn"), document_of(
        _batch_start(PLANTING, _site_id(session, FIELD), PADDY[1:], "CAP-P8", at(1))), ZONE)
    assert session.exec(select(Product.gtin).join(Batch, Batch.product_id == Product.id).where(
        Batch.code == "CAP-P8")).all() == [PADDY]


def test_an_input_application_captured_keeps_its_note(session):
    application = {**_batch_start("urn:thuynguyen-trace:bizstep:input_application", _site_id(session, FIELD), PADDY,
                                  "THOC-PA-V2", at(1), category="fertiliser", input_name="NPK 16-16-8", dose="250",
                                  dose_unit="kg/ha", note="Bón thúc đẻ nhánh")}
    del application["tn:product"]
    (recorded,) = capture(session, _user(session, "htx.lua@demo.vn"), document_of(application), ZONE).recorded
    assert _details(session, [recorded])[0][1]["note"] == "Bón thúc đẻ nhánh"


@pytest.mark.parametrize(("value", "word"), [
    ("https://ref.gs1.org/cbv/BizStep-shipping", "shipping"), ("https://ref.gs1.org/cbv/ER-did_not_occur", "did_not_occur"),
    ("https://ref.gs1.org/cbv/BTT-x-inv", "x-inv"),  # the whole word after its vocabulary's name
    ("https://ref.gs1.org/cbv/shipping", "shipping"), ("shipping", "shipping"), (None, None)])
def test_a_cbv_web_uri_is_read_as_the_word_after_its_vocabulary(value, word):
    assert cbv_word(value) == word


# --- what a capture returns and stores ---

def _statements(session, function) -> list:
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        function()
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    return statements


def test_a_document_sent_again_is_skipped_event_by_event_as_it_was_sent(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-A1", 300, at(3))  # stored with more than was sent
    shipping = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-A1", at(1))
    document = document_of(harvest, shipping)
    sent = event_hash.document_hash_ids(document)
    first = capture(session, rice, document, ZONE)
    assert (first.recorded[1:], first.skipped) == (sent[1:], []) and first.recorded[0] != sent[0]
    assert session.exec(select(Event.captured_hash_id).where(Event.hash_id.in_(first.recorded))
                        .order_by(Event.event_time)).all() == [sent[0], None]  # only the one stored otherwise
    again = capture(session, rice, document, ZONE)
    assert (again.recorded, again.skipped) == ([], sent)


def test_an_event_sent_twice_in_one_document_is_recorded_once(session):
    rice, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    shipping = shipping_event(RICE, "GAO-BH-2610A", 5, rice.organization_id, market.organization_id, "PXK-A2", at(1))
    document = document_of(shipping, shipping)
    sent = event_hash.document_hash_ids(document)
    result = capture(session, rice, document, ZONE)
    assert (result.recorded, result.skipped) == (sent[:1], sent[1:])
    assert len(session.exec(select(Shipment.id).where(Shipment.reference == "PXK-A2")).all()) == 1


def test_an_error_declaration_captured_is_returned_by_the_id_of_the_event_as_sent(session):
    rice = _user(session, "htx.lua@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-A3", 300, at(3))  # stored with more than was sent
    capture(session, rice, document_of(harvest), ZONE)
    result = capture(session, rice, document_of(_declared(harvest)), ZONE)
    assert (result.recorded, result.skipped) == ([_sent_id(harvest)], [])


def test_a_large_document_is_looked_up_five_hundred_events_at_a_time(session):
    """Every event of a document sent again is found, past the first chunks of its ids too."""
    rice = _user(session, "htx.lua@demo.vn")
    start = datetime.fromisoformat(at(2))
    mill = {"id": f"{epcis.SITE_URN}{_site_id(session, MILL)}"}
    storings = [{**_event("ObjectEvent", "OBSERVE", "storing", (start + timedelta(minutes=i)).isoformat(
        timespec="milliseconds"), quantityList=[(RICE, "GAO-BH-2610A", 1)]), "bizLocation": mill} for i in range(1001)]
    for storing in storings:
        del storing["quantityList"][0]["quantity"], storing["quantityList"][0]["uom"]
    document = document_of(*storings)
    assert len(capture(session, rice, document, ZONE).recorded) == 1001
    results = []
    statements = _statements(session, lambda: results.append(capture(session, rice, document, ZONE)))
    assert (results[0].recorded, len(results[0].skipped)) == ([], 1001)
    assert len([s for s in statements if re.search(r"\bFROM event\b.*\bevent\.hash_id IN", s, re.S)]) == 3


def test_the_lots_a_packing_and_a_transformation_name_are_read_with_the_documents_others(session):
    rice = _user(session, "htx.lua@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-K1", 100, at(3))
    capture(session, rice, document_of(harvest), ZONE)
    milling = milling_event([(PADDY, "CAP-K1", 100)], (RICE, "CAP-K2", 60), at(2))
    packing = {"type": "AggregationEvent", "eventTime": at(1), "eventTimeZoneOffset": "+07:00",
               "parentID": f"https://id.gs1.org/00/{SSCC}", "childEPCs": [], "action": "ADD", "bizStep": "packing",
               "childQuantityList": [{"epcClass": epcis.class_uri(RICE, "GAO-BH-2610A"), "quantity": 100, "uom": "KGM"}],
               "tn:package_count": "2", "tn:package_size": "50", "tn:package_unit": "kg", "tn:packaging": "Bao PP 50 kg"}
    statements = _statements(session, lambda: capture(session, rice, document_of(milling, packing), ZONE))
    by_code = [found[1] for found in (re.search(r"\bFROM (lot|batch)\b.*\b\1\.code IN", statement, re.S)
                                      for statement in statements) if found]
    assert by_code == ["lot", "lot"]  # the lots named, then the new lot's id read back


def test_a_body_that_is_not_an_epcis_document_is_refused_as_such(session):
    rice = _user(session, "htx.lua@demo.vn")
    query_document = {**document_of(harvest_event("THOC-PA-V2", PADDY, "CAP-D1", 2, at(1))), "type": "EPCISQueryDocument"}
    for body in ([document_of()], "EPCISDocument", {}, query_document):
        with pytest.raises(CaptureError) as refused:
            capture(session, rice, body, ZONE)
        assert refused.value.problems == [{"path": "/type", "message": "Send an EPCISDocument (JSON-LD)."}], body


def test_a_document_against_the_schema_is_refused_with_its_first_hundred_problems(session):
    storing = {**_event("ObjectEvent", "OBSERVE", "storing", "yesterday"), "epcList": []}
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(*[storing] * 150), ZONE)
    assert refused.value.problems == [{"path": f"/epcisBody/eventList/{index}/eventTime",
                                       "message": '"yesterday" is not a "date-time"'} for index in range(100)]


def test_a_document_of_ten_thousand_events_is_read_and_a_longer_one_refused_whole(session):
    rice = _user(session, "htx.lua@demo.vn")
    storing = {**_event("ObjectEvent", "OBSERVE", "storing", at(1), quantityList=[(RICE, "GAO-BH-2610A", 1)]),
               "bizLocation": {"id": f"{epcis.SITE_URN}{_site_id(session, MILL)}"}}
    del storing["quantityList"][0]["quantity"], storing["quantityList"][0]["uom"]
    result = capture(session, rice, document_of(*[storing] * 10_000), ZONE)
    assert (len(result.recorded), len(result.skipped)) == (1, 9_999)  # the same storing sent 10,000 times
    with pytest.raises(CaptureError) as refused:
        capture(session, rice, document_of(*[storing] * 10_001), ZONE)
    assert refused.value.problems == [{"path": "/epcisBody/eventList", "message": "At most 10000 events a document."}]


def test_an_event_of_a_step_not_recorded_here_is_refused_by_its_type_action_and_step(session):
    inspecting = {**_event("ObjectEvent", "ADD", "inspecting", at(1), quantityList=[(RICE, "GAO-BH-2610A", 1)])}
    with pytest.raises(CaptureError) as refused:
        capture(session, _user(session, "htx.lua@demo.vn"), document_of(inspecting), ZONE)
    assert refused.value.problems == [{"event": 0, "message": "A ObjectEvent with action ADD and business step inspecting "
                                                              "is not something this service records."}]


def test_a_packing_captured_packs_the_quantity_it_names_and_is_the_senders(session):
    """Part of a lot may be packed; the event is recorded as entered by the user who sent it."""
    rice = _user(session, "htx.lua@demo.vn")
    harvest = harvest_event("THOC-PA-V2", PADDY, "CAP-G1", 100, at(3))
    packing = {**_packing(at(2), (PADDY, "CAP-G1", 30)), "tn:package_count": "2", "tn:packaging": "Bao PP"}
    recorded = capture(session, rice, document_of(harvest, packing), ZONE).recorded
    packing = session.exec(select(Event).where(Event.hash_id == recorded[1])).one()
    assert session.exec(select(EventLot.quantity).where(EventLot.event_id == packing.id)).all() == [Decimal("30.000")]
    assert session.exec(select(Event.actor_user_id).where(Event.hash_id.in_(recorded))).all() == [rice.id, rice.id]


def test_a_documents_batches_are_read_five_hundred_at_a_time(session):
    """Every batch a large document names is looked up with the others, past the first five hundred too."""
    harvests = [harvest_event(f"CAP-Z{i}", PADDY, f"CAP-Z{i}", 1, at(1)) for i in range(501)]
    problems = []

    def refused():
        with pytest.raises(CaptureError) as refused:
            capture(session, _user(session, "htx.lua@demo.vn"), document_of(*harvests), ZONE)
        problems.extend(refused.value.problems)

    statements = _statements(session, refused)
    assert problems[500] == {
        "event": 500, "message": "The event names the batch it belongs to (tn:batch); 'CAP-Z500' is not one of yours."}
    assert len(problems) == 501
    batch_reads = [statement for statement in statements if re.search(r"\bFROM batch\b", statement)]
    assert len(batch_reads) == 2 and all(re.search(r"\bbatch\.code IN", statement) for statement in batch_reads)
