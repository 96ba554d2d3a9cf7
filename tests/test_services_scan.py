"""What a scan shows and keeps: the origins of a processed lot, shoppers' reports of labels that did not check out."""
from collections import OrderedDict
from datetime import date, datetime, timedelta
from trace import key_store
from trace.clock import today
from trace.db import get_session
from trace.models import LabelReport, LabelRun, Product, Scan, Shipment, User, utcnow
from trace.services import keys, labels, movements, safety, scan
from trace.services.keys import iso_utc
from trace.services.ledger import record_one
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from .conftest import BASE_URL, lot_named
from .test_labels import tampered_variants
from .test_scan import first_label, path_of


def test_a_processed_lot_names_each_lot_it_was_made_from(demo_client, demo_app):
    with demo_app.app_context():
        session = get_session()
        frozen = lot_named(session, "TND-2611-01")
        run = labels.issue_labels(session, key_store(demo_app), frozen, 1)
        url = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run)[0].url
        harvested = {code: lot_named(session, code).produced_on.isoformat() for code in ("TOM-A3-2608", "TOM-A7-2611")}
        session.commit()
    facts = demo_client.get(path_of(url), headers={"Accept": "application/json"}).get_json()
    shrimp = {"product": "Tôm thẻ chân trắng Bạch Đằng", "product_en": "Bach Dang whiteleg shrimp",
              "gtin": "08936048000011", "producer": "Công ty TNHH Thủy sản nước lợ Bạch Đằng",
              "producer_en": "Bach Dang Brackish-Water Aquaculture Co., Ltd.", "area_kind": "brackish_pond"}
    assert facts["origins"] == [
        {**shrimp, "lot": "TOM-A3-2608", "production_area": "Ao nuôi số 3 (bán thâm canh)",
         "harvested": harvested["TOM-A3-2608"]},  # the earliest harvest first
        {**shrimp, "lot": "TOM-A7-2611", "production_area": "Ao lót bạt số 7 (thâm canh công nghệ cao)",
         "harvested": harvested["TOM-A7-2611"]}]


def _report(session, app, url):
    return scan.report_label(session, url, keys.keyset(session, key_store(app)), (BASE_URL,), "client-1")


def test_only_a_label_that_does_not_check_out_is_reported_and_its_address_is_kept_whole(session, demo_app):
    genuine = first_label(demo_app, "GAO-BH-2610A").url
    assert _report(session, demo_app, genuine) is None
    assert session.exec(select(LabelReport)).all() == []
    forged = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    report = _report(session, demo_app, forged)
    assert (report.url, report.status, report.client) == (forged, "tampered", "client-1")
    long = forged + "&x=" + "y" * 3000
    assert _report(session, demo_app, long).url == long[:2100]


def test_the_ward_sees_the_fifty_latest_reports_newest_first(session):
    start = utcnow() - timedelta(days=1)
    session.add_all([LabelReport(url=f"{BASE_URL}/01/x/{n}", status="tampered", client="c",
                                 reported_at=start + timedelta(minutes=n)) for n in range(52)])
    session.flush()
    assert [r.url.rsplit("/", 1)[1] for r in scan.recent_reports(session)] == [str(n) for n in range(51, 1, -1)]
    assert [r.url.rsplit("/", 1)[1] for r in scan.recent_reports(session, most=2)] == ["51", "50"]


TODAY = date(2026, 12, 1)


def _scan(session, app, url):
    return scan.scan_label(session, url, keys.keyset(session, key_store(app)), (BASE_URL,), TODAY)


def test_an_altered_label_answers_every_key_of_the_scan_json_empty(session, demo_app):
    verification, facts, key = _scan(session, demo_app, tampered_variants(first_label(demo_app, "RHC-2611-03").url)["lot"])
    assert (verification.status, key) == ("tampered", None)
    assert facts == {"verification": verification.as_json(), "product": None, "lot": None, "serial": None,
                     "producer": None, "certifications": [], "standards": [], "ocop": None, "stages": [],
                     "production_area": None, "best_before": None, "scans": None}


def test_a_lot_shows_each_stage_with_its_site_and_a_vegetable_plot_starts_with_planting(session, demo_app):
    _, facts, _ = _scan(session, demo_app, first_label(demo_app, "RHC-2611-03").url)
    plot = "Ruộng rau hữu cơ Hoa Động"

    def local(days_ago, hour):  # the demo ward's seasons end in the days before it was made
        return f"{(today() - timedelta(days=days_ago)).isoformat()}T{hour:02d}:00+07:00"
    assert [(s["step"], s["stage"], s["time"], s["site"]) for s in facts["stages"]] == [
        ("planting", "planting", local(35, 7), plot),  # not a rice field nor an orchard: planted
        ("input_application", "input_application", local(30, 8), plot),
        ("input_application", "input_application", local(18, 8), plot),
        ("harvest", "harvest", local(3, 6), plot),
        ("packing", "packing", local(2, 14), plot)]
    assert facts["stages"][3]["details"] == {"lot_code": "RHC-2611-03", "quantity": "640", "unit": "kg"}


def test_a_cancelled_run_says_when_and_why(session, demo_app):
    label = first_label(demo_app, "RHC-2611-03")
    run = session.exec(select(LabelRun).where(LabelRun.lot_id == lot_named(session, "RHC-2611-03").id)).first()
    labels.cancel_run(session, run, "Tờ nhãn in lệch")
    verification, facts, _ = _scan(session, demo_app, label.url)
    assert verification.status == "cancelled"
    assert facts["cancelled"] == {"at": iso_utc(run.cancelled_at), "reason": "Tờ nhãn in lệch"}


def test_the_facts_cache_keeps_the_lots_scanned_last_and_drops_the_one_unused_longest(session, demo_app, monkeypatch):
    cache = OrderedDict()
    monkeypatch.setattr(scan, "_facts_cache", cache)
    vegetables, rice, custard_apples = (first_label(demo_app, code).url
                                        for code in ("RHC-2611-03", "GAO-BH-2610A", "NA-2611-01"))
    _, first, vegetables_key = _scan(session, demo_app, vegetables)
    cache.update((("other", n), {}) for n in range(scan.FACTS_CACHED - 2))
    _, _, rice_key = _scan(session, demo_app, rice)
    assert len(cache) == scan.FACTS_CACHED and list(cache)[0] == vegetables_key  # full: nothing dropped yet
    _, again, same_key = _scan(session, demo_app, vegetables)  # found, and now the one used last
    assert same_key == vegetables_key and again["lot"] is first["lot"]
    _, _, custard_apples_key = _scan(session, demo_app, custard_apples)
    assert len(cache) == scan.FACTS_CACHED
    assert list(cache)[0] == ("other", 1)  # ("other", 0), unused longest, dropped
    assert list(cache)[-4:] == [("other", scan.FACTS_CACHED - 3), rice_key, vegetables_key, custard_apples_key]


def test_the_verdict_kept_with_a_report_is_that_of_the_address_as_kept(session, demo_app):
    """A report keeps 2,100 characters of the address: a label that checks out only with its 2,101st character
    is reported as the malformed address kept, not passed as genuine."""
    path, signature = first_label(demo_app, "RHC-2611-03").url.split("?8030=")
    padding = 2101 - len(f"{path}?x=&8030={signature}")
    url = f"{path}?x={'y' * padding}&8030={signature}"
    assert len(url) == 2101
    report = _report(session, demo_app, url)
    assert (report.url, report.status) == (url[:2100], "malformed")


def _org(session, email) -> int:
    return session.exec(select(User.organization_id).where(User.email == email)).one()


def test_a_label_looks_copied_past_the_threshold_of_clients_or_when_a_shop_it_never_went_to_checks_it(session):
    rice, frozen = lot_named(session, "GAO-BH-2610A"), lot_named(session, "TND-2611-01")
    for n in range(3):
        scan.record_scan(session, rice.id, 7, "genuine", scan.Scanner(f"phone-{n}"))
    scan.record_scan(session, rice.id, 7, "genuine", scan.Scanner("phone-0"))
    first = session.exec(select(func.min(Scan.scanned_at)).where(Scan.lot_id == rice.id)).one()
    assert scan.scan_summary(session, rice.id, 7, 3) == {
        "first": iso_utc(first), "count": 4, "distinct_clients": 3, "suspected_copy": False}  # 3 clients: not more
    assert scan.scan_summary(session, rice.id, 7, 2)["suspected_copy"] is True
    scan.record_scan(session, rice.id, 7, "genuine", scan.Scanner("till", _org(session, "sieuthi@demo.vn")))
    assert scan.scan_summary(session, rice.id, 7, 20)["suspected_copy"] is False  # the supermarket holds the rice
    # on its way to the supermarket, not held there yet: not a stranger; a cancelled shipment never went
    record_one(session, _org(session, "chebien@demo.vn"), None, "Asia/Ho_Chi_Minh",
                          movements.record_shipping, {
                              "to_organization_id": _org(session, "sieuthi@demo.vn"), "reference": "PXK-TND-1",
                              "time": (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=1)).isoformat(
                                  timespec="minutes"), "lines": [{"lot_id": frozen.id, "quantity": "10"}]})
    scan.record_scan(session, frozen.id, 3, "genuine", scan.Scanner("till", _org(session, "sieuthi@demo.vn")))
    assert scan.scan_summary(session, frozen.id, 3, 20)["suspected_copy"] is False
    assert scan.suspected_copies(session, 20) == []  # the ward's list agrees
    shipment = session.exec(select(Shipment).where(Shipment.reference == "PXK-TND-1")).one()
    shipment.status = "cancelled"
    session.add(shipment)
    session.flush()
    assert scan.scan_summary(session, frozen.id, 3, 20)["suspected_copy"] is True
    scan.record_scan(session, rice.id, 7, "genuine", scan.Scanner("stall", _org(session, "thuysan@demo.vn")))
    assert scan.scan_summary(session, rice.id, 7, 20)["suspected_copy"] is True  # never shipped to the shrimp farm
    copies = [(lot.code, product.gtin, serial, count, clients)
              for lot, product, serial, count, clients, _first, _last in scan.suspected_copies(session, 20)]
    assert copies == [("GAO-BH-2610A", "08936045000014", 7, 6, 5), ("TND-2611-01", "08936049000027", 3, 1, 1)]
    assert [row[0].code for row in scan.suspected_copies(session, 20, _org(session, "chebien@demo.vn"))] == [
        "TND-2611-01"]
    assert [row[0].code for row in scan.suspected_copies(session, 5, _org(session, "htx.lua@demo.vn"))] == [
        "GAO-BH-2610A"]


def test_a_genuine_label_shows_its_product_lot_producer_and_best_before_under_the_keys_of_the_scan_json(session, demo_app):
    lot = lot_named(session, "RHC-2611-03")
    packed = lot.produced_on + timedelta(days=1)  # the demo packs the harvest the next day; 5 days' shelf life
    best = (packed + timedelta(days=5)).isoformat()
    verification, facts, _ = scan.scan_label(session, first_label(demo_app, "RHC-2611-03").url,
                                             keys.keyset(session, key_store(demo_app)), (BASE_URL,), packed)
    assert verification.status == "genuine"
    assert facts["product"] == {"name": "Rau cải ngọt hữu cơ Hoa Động", "name_en": "Hoa Dong organic choy sum",
                                "gtin": "08936046000013", "category": "Rau", "image": True, "product_id": lot.product_id}
    assert facts["lot"] == {"code": "RHC-2611-03", "recalled": False, "recall_reason": None, "recalled_at": None,
                            "flagged": False, "flag_reason": None, "quantity": "640.000", "unit": "kg",
                            "produced_on": lot.produced_on.isoformat(), "processed": False}
    assert facts["serial"] == "1"
    assert facts["producer"] == {"name": "Tổ hợp tác Rau hữu cơ Hoa Động",
                                 "address": "Tổ dân phố Hoa Động 3, phường Thủy Nguyên, TP. Hải Phòng",
                                 "phone": "0912 406 318", "id": lot.organization_id, "name_en": None, "address_en": None}
    assert (facts["standards"], facts["origins"], facts["ocop"]) == (["organic"], [], None)
    assert (facts["best_before"], facts["expired"]) == (best, False)
    last_day = date.fromisoformat(best)
    assert _scan_on(session, demo_app, "RHC-2611-03", last_day)["expired"] is False  # good until the end of the day
    assert _scan_on(session, demo_app, "RHC-2611-03", last_day + timedelta(days=1))["expired"] is True


def _scan_on(session, app, code, day):
    return scan.scan_label(session, first_label(app, code).url, keys.keyset(session, key_store(app)), (BASE_URL,), day)[1]


def test_a_processed_lot_says_so_and_an_english_name_left_out_falls_back_to_the_vietnamese(session, demo_app):
    frozen = lot_named(session, "TND-2611-01")
    run = labels.issue_labels(session, key_store(demo_app), frozen, 1)
    url = labels.labels_for_run(session, key_store(demo_app), BASE_URL, run)[0].url
    product = session.get(Product, frozen.product_id)
    product.name_en = ""
    session.flush()
    facts = scan.scan_label(session, url, keys.keyset(session, key_store(demo_app)), (BASE_URL,), TODAY)[1]
    assert (facts["lot"]["processed"], facts["production_area"]) == (True, None)
    assert facts["product"]["name_en"] == product.name_vi


def test_a_recalled_lot_shows_the_recall_s_reason_and_time_under_its_lot(session, demo_app):
    vegetables = lot_named(session, "RHC-2611-03")
    recall = safety.recall_lot(session, vegetables, {"reason": "Dư lượng nitrat vượt ngưỡng"})
    verification, facts, _ = _scan(session, demo_app, first_label(demo_app, "RHC-2611-03").url)
    assert verification.status == "genuine"
    assert facts["lot"] == {"code": "RHC-2611-03", "recalled": True, "recall_reason": "Dư lượng nitrat vượt ngưỡng",
                            "recalled_at": recall.recalled_at.isoformat(), "flagged": False, "flag_reason": None,
                            "quantity": "640.000", "unit": "kg", "produced_on": vegetables.produced_on.isoformat(),
                            "processed": False}


def test_suspected_copies_are_told_apart_by_lot_and_serial_and_come_most_scanned_first(session):
    """Two lots of one product, labels of the same serial: neither is taken for the other."""
    pond_3, pond_7 = lot_named(session, "TOM-A3-2608"), lot_named(session, "TOM-A7-2611")
    assert pond_3.product_id == pond_7.product_id and pond_7.id < pond_3.id  # not in the order of the lots
    phones = (f"phone-{n}" for n in range(9))
    for lot, serial, clients in ((pond_7, 1, 2), (pond_7, 2, 3), (pond_3, 1, 4)):
        for _ in range(clients):
            scan.record_scan(session, lot.id, serial, "genuine", scan.Scanner(next(phones)))
    copies = [(lot.code, product.gtin, serial, count, clients)
              for lot, product, serial, count, clients, _first, _last in scan.suspected_copies(session, 1)]
    assert copies == [("TOM-A3-2608", "08936048000011", 1, 4, 4), ("TOM-A7-2611", "08936048000011", 2, 3, 3),
                      ("TOM-A7-2611", "08936048000011", 1, 2, 2)]


def test_the_list_of_suspected_copies_stops_at_five_hundred(session):
    rice = lot_named(session, "GAO-BH-2610A")
    for serial in range(1, 502):
        scan.record_scan(session, rice.id, serial, "genuine", scan.Scanner(f"phone-{serial}"))
    assert len(scan.suspected_copies(session, 0)) == 500  # one client each, more than none: all 501 look copied


def test_a_product_without_a_shelf_life_shows_no_best_before_and_the_scan_json_has_its_keys_only(
        session, demo_app, monkeypatch):
    """Greens sold loose may have no shelf life; the page then shows no date, and the JSON keeps its contract."""
    monkeypatch.setattr(scan, "_facts_cache", OrderedDict())
    lot = lot_named(session, "RHC-2611-03")
    product = session.get(Product, lot.product_id)
    product.shelf_life_days = None
    session.add(product)
    session.flush()
    facts = _scan_on(session, demo_app, "RHC-2611-03", lot.produced_on + timedelta(days=400))
    assert (facts["best_before"], facts["expired"], facts["serial"]) == (None, False, "1")
    assert sorted(facts) == ["best_before", "certifications", "expired", "lot", "ocop", "origins", "producer",
                             "product", "production_area", "scans", "serial", "stages", "standards", "verification"]


def test_a_label_checked_by_exactly_as_many_clients_as_the_threshold_is_not_listed_as_copied(session):
    """The threshold is how many phones a genuine label may reach; only more than that looks copied."""
    rice = lot_named(session, "GAO-BH-2610A")
    for n in range(3):
        scan.record_scan(session, rice.id, 9, "genuine", scan.Scanner(f"phone-{n}"))

    def listed(threshold):
        return [(lot.code, serial, clients) for lot, _product, serial, _count, clients, _first, _last
                in scan.suspected_copies(session, threshold) if lot.id == rice.id]
    assert listed(3) == []
    assert listed(2) == [("GAO-BH-2610A", 9, 3)]


def test_a_shop_checking_a_lot_it_made_itself_from_what_it_received_is_no_stranger(session):
    """A supermarket that grades and bags rice it bought holds the new lot without any shipment to it; its tills' checks
    are its own, not a sign of a copied label."""
    market = _org(session, "sieuthi@demo.vn")
    market_user = session.exec(select(User).where(User.email == "sieuthi@demo.vn")).one()
    bags = Product(organization_id=market, gtin="08936099000017", name_vi="Gạo Bắc Hương túi 2 kg", unit="túi")
    session.add(bags)
    session.flush()
    record_one(session, market, market_user.id, "Asia/Ho_Chi_Minh", movements.record_transformation, {
        "process": "grading", "time": (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=1)).isoformat(
            timespec="minutes"),
        "inputs": [{"lot_id": lot_named(session, "GAO-BH-2610A").id, "quantity": "20"}],
        "outputs": [{"product_id": bags.id, "lot": "ST-GAO-01", "quantity": "10"}]})
    repacked = lot_named(session, "ST-GAO-01")
    scan.record_scan(session, repacked.id, 1, "genuine", scan.Scanner("till", market))
    assert [row[0].code for row in scan.suspected_copies(session, 20) if row[0].id == repacked.id] == []
