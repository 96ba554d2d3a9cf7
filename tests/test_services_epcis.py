"""EPCIS export at the service: error declarations as EPCIS writes them, the record time, the query's filters and
order, class-level lot URIs, and hash IDs given to events stored without one."""
import json
import time
from datetime import UTC, datetime, timedelta
from trace.models import Event, Organization, Site, User
from trace.services import corrections, epcis, movements
from trace.services.ledger import record_one
from trace.services.parse import local_datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from .conftest import lot_named
from .test_services_reports import _store_at

ZONE = "Asia/Ho_Chi_Minh"


def _declare(session, event, data):
    keeper = session.exec(select(User).where(User.organization_id == event.organization_id)).first()
    return record_one(session, event.organization_id, keeper.id, ZONE, corrections.declare_error, event.id, data)


def _exported(session, event) -> dict:
    (body,) = epcis.export_events(session, [event])
    return body


def test_an_event_declared_erroneous_is_exported_with_its_declaration(session):
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    wrong, other = _store_at(session, "GAO-BH-2610A", f"{day}T09:00"), _store_at(session, "GAO-BH-2610A", f"{day}T10:00")
    _declare(session, wrong, {"reason": "Nhập nhầm kho", "reason_code": "did_not_occur",
                              "corrective_event_id": other.hash_id, "time": f"{day}T11:30"})
    assert _exported(session, wrong)["errorDeclaration"] == {
        "declarationTime": f"{day}T11:30:00.000+07:00", "reason": "did_not_occur", "tn:reason": "Nhập nhầm kho",
        "correctiveEventIDs": [other.hash_id]}
    _declare(session, other, {"reason": "Trùng", "time": f"{day}T11:40"})
    assert _exported(session, other)["errorDeclaration"] == {
        "declarationTime": f"{day}T11:40:00.000+07:00", "reason": "incorrect_data", "tn:reason": "Trùng"}
    assert "errorDeclaration" not in _exported(session, session.get(Event, 1))


def test_times_are_written_in_utc_with_milliseconds(session):
    event = session.get(Event, 1)
    event.recorded_at = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
    assert _exported(session, event)["recordTime"] == "2026-11-30T01:02:03.456Z"
    created = datetime(2026, 11, 30, 8, 0, 0, 5000, tzinfo=UTC)
    assert epcis.document([], created)["creationDate"] == "2026-11-30T08:00:00.005Z"


def test_the_query_takes_a_window_a_step_and_a_page(session):
    everything = epcis.select_events(session)
    assert [e.id for e in everything] == sorted(e.id for e in everything)  # by id: pages follow one another
    middle = everything[len(everything) // 2]
    at = middle.event_time
    since = epcis.select_events(session, since=at)
    assert middle in since and all(e.event_time >= at for e in since)
    until = epcis.select_events(session, until=at)
    assert middle not in until and all(e.event_time < at for e in until)
    assert len(since) + len(until) == len(everything)
    after = epcis.select_events(session, after_id=middle.id)
    assert [e.id for e in after] == [e.id for e in everything if e.id > middle.id]
    assert [e.id for e in epcis.select_events(session, after_id=middle.id, limit=2)] == [e.id for e in after[:2]]
    shipping = epcis.select_events(session, biz_step="shipping")
    assert shipping == epcis.select_events(session, biz_step="https://ref.gs1.org/cbv/BizStep-shipping") != []
    assert {e.step for e in shipping} == {"shipping"}
    chosen = [everything[-1].id, everything[0].id]
    assert [e.event_time for e in epcis.select_events(session, event_ids=chosen)] == sorted(
        e.event_time for e in everything if e.id in chosen)  # a chain: in time order


def test_a_lot_is_a_class_level_uri_with_a_lot_and_nothing_else():
    assert epcis.parse_class_uri("https://id.gs1.org/01/08936045000014/10/GAO-BH-2610A") == (
        "08936045000014", "GAO-BH-2610A")
    assert epcis.parse_class_uri("https://id.gs1.org/01/08936045000014/21/7") is None
    assert epcis.parse_class_uri("https://id.gs1.org/01/08936045000014/10/GAO-BH-2610A?17=261231") is None
    assert epcis.parse_class_uri("https://id.gs1.org/01/08936045000014") is None
    assert epcis.parse_class_uri(None) is None and epcis.parse_class_uri("not a link") is None


def test_a_lot_code_with_a_slash_stays_one_path_segment_of_its_class_uri():
    """GS1's character set allows '/' in a lot code; unescaped it would read as another key qualifier."""
    uri = epcis.class_uri("08936045000014", "GAO/26-1")
    assert uri == "https://id.gs1.org/01/08936045000014/10/GAO%2F26-1"
    assert epcis.parse_class_uri(uri) == ("08936045000014", "GAO/26-1")


def test_events_stored_without_a_hash_id_get_the_one_they_would_have_had(session):
    events = session.exec(select(Event).order_by(Event.id).limit(5)).all()
    before = [e.hash_id for e in events]
    for event in events[:3]:
        event.hash_id = None
        session.add(event)
    session.flush()
    assert epcis.backfill_hash_ids(session) == 3
    assert [e.hash_id for e in events] == before
    assert epcis.backfill_hash_ids(session) == 0


def test_the_record_time_is_in_utc_whatever_the_servers_time_zone(session, monkeypatch):
    event = session.get(Event, 1)
    event.recorded_at = datetime(2026, 11, 30, 1, 2, 3, 456789, tzinfo=UTC)
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    time.tzset()
    try:
        assert _exported(session, event)["recordTime"] == "2026-11-30T01:02:03.456Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_chains_events_come_in_time_order_not_in_the_order_they_were_recorded(session):
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    later = _store_at(session, "GAO-BH-2610A", f"{day}T10:00")
    earlier = _store_at(session, "GAO-BH-2610A", f"{day}T09:00")  # recorded second, happened first
    assert [e.id for e in epcis.select_events(session, event_ids=[later.id, earlier.id])] == [earlier.id, later.id]
    assert [e.id for e in epcis.select_events(session, after_id=later.id - 1)] == [later.id, earlier.id]  # a page


def test_error_declarations_get_no_hash_id_of_their_own(session):
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    wrong = _store_at(session, "GAO-BH-2610A", f"{day}T09:00")
    declaration = _declare(session, wrong, {"reason": "Nhập nhầm kho", "time": f"{day}T11:30"})
    assert declaration.hash_id is None
    assert epcis.backfill_hash_ids(session) == 0
    assert session.get(Event, declaration.id).hash_id is None


def test_an_organization_is_its_gln_s_digital_link_or_our_urn_and_a_reference_is_percent_encoded():
    assert epcis.organization_uri(Organization(id=7, gln="8936045000007")) == "https://id.gs1.org/417/8936045000007"
    assert epcis.organization_uri(Organization(id=7)) == "urn:thuynguyen-trace:organization:7"
    assert epcis.transaction_uri(3, "HĐ 12/2026") == "urn:thuynguyen-trace:bt:3:H%C4%90%2012%2F2026"


def _as_exported(session, event) -> dict:
    """The exported event without what changes with the day the demo ward was made: its time and IDs."""
    return {key: value for key, value in _exported(session, event).items()
            if key not in ("eventTime", "eventID", "recordTime")}


def _first(session, step) -> Event:
    return session.exec(select(Event).where(Event.step == step).order_by(Event.id)).first()


def test_a_harvest_names_its_lot_in_the_ilmd_and_a_seasons_start_keeps_its_quantity_as_our_own_fields(session):
    harvest, planting, stocking = _first(session, "harvest"), _first(session, "planting"), _first(session, "stocking")
    assert harvest.details == {"lot_code": "GAO-BH-2610A", "quantity": "18500", "unit": "kg"}
    day = local_datetime(harvest.event_time, harvest.event_time_zone_offset).date().isoformat()
    rice_field = {"id": f"urn:thuynguyen-trace:site:{harvest.site_id}"}
    assert _as_exported(session, harvest) == {  # its lot, quantity and unit are the quantity list's, not ours again
        "type": "ObjectEvent", "eventTimeZoneOffset": "+07:00",
        "quantityList": [{"epcClass": "https://id.gs1.org/01/08936045000014/10/GAO-BH-2610A", "quantity": 18500,
                          "uom": "KGM"}],
        "action": "ADD", "bizStep": "commissioning", "disposition": "active", "readPoint": rice_field,
        "bizLocation": rice_field, "ilmd": {"cbvmda:lotNumber": "GAO-BH-2610A", "cbvmda:harvestStartDate": day},
        "tn:batch": "LUA-VU-MUA-2026"}
    assert planting.site_id == harvest.site_id
    assert _as_exported(session, planting) == {  # sowing: no lot exists yet, the seed's quantity is ours to tell
        "type": "ObjectEvent", "eventTimeZoneOffset": "+07:00", "epcList": [], "action": "OBSERVE",
        "bizStep": "urn:thuynguyen-trace:bizstep:planting", "readPoint": rice_field, "bizLocation": rice_field,
        "tn:batch": "LUA-VU-MUA-2026", "tn:product": "08936045000014", "tn:quantity": "250",
        "tn:source": "Công ty Giống cây trồng Hải Phòng", "tn:unit": "kg", "tn:variety": "Bắc Hương"}
    pond = {"id": f"urn:thuynguyen-trace:site:{stocking.site_id}"}
    assert _as_exported(session, stocking) == {
        "type": "ObjectEvent", "eventTimeZoneOffset": "+07:00", "epcList": [], "action": "OBSERVE",
        "bizStep": "urn:thuynguyen-trace:bizstep:stocking", "readPoint": pond, "bizLocation": pond,
        "tn:batch": "AO7-V2-2026", "tn:product": "08936048000011", "tn:quantity": "450000",
        "tn:source": "Trại giống Việt–Úc, Ninh Thuận", "tn:species": "Tôm thẻ chân trắng (Litopenaeus vannamei)",
        "tn:unit": "con"}


def test_a_whole_quantity_is_written_as_a_json_integer(session):
    """Readers of the document see '18500', not '18500.0'."""
    assert json.dumps(_exported(session, _first(session, "harvest"))["quantityList"]) == (
        '[{"epcClass": "https://id.gs1.org/01/08936045000014/10/GAO-BH-2610A", "quantity": 18500, "uom": "KGM"}]')


def test_goods_shipped_from_a_site_are_read_there_and_at_no_business_location_of_ours(session):
    rice = lot_named(session, "GAO-BH-2610A")
    cooperative = session.get(Organization, rice.organization_id)
    supermarket = session.exec(select(Organization).join(User, User.organization_id == Organization.id)
                               .where(User.email == "sieuthi@demo.vn")).one()
    site = session.exec(select(Site).where(Site.organization_id == cooperative.id).order_by(Site.id)).first()
    moment = (datetime.now(UTC) - timedelta(hours=1)).astimezone(ZoneInfo(ZONE)).isoformat(timespec="minutes")
    shipping = record_one(session, cooperative.id, None, ZONE, movements.record_shipping, {
        "to_organization_id": supermarket.id, "reference": "PXK-2612-001", "site_id": site.id, "time": moment,
        "lines": [{"lot_id": rice.id, "quantity": "200"}]})
    assert _as_exported(session, shipping) == {
        "type": "ObjectEvent", "eventTimeZoneOffset": "+07:00",
        "quantityList": [{"epcClass": "https://id.gs1.org/01/08936045000014/10/GAO-BH-2610A", "quantity": 200,
                          "uom": "KGM"}],
        "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
        "readPoint": {"id": f"urn:thuynguyen-trace:site:{site.id}"},
        "bizTransactionList": [{"type": "desadv",
                                "bizTransaction": f"urn:thuynguyen-trace:bt:{cooperative.id}:PXK-2612-001"}],
        "sourceList": [{"type": "owning_party", "source": epcis.organization_uri(cooperative)}],
        "destinationList": [{"type": "owning_party", "destination": epcis.organization_uri(supermarket)}]}
