"""What a scan shows and keeps: the origins of a processed lot, shoppers' reports of labels that did not check out."""
from datetime import timedelta
from trace import key_store
from trace.db import get_session
from trace.models import LabelReport, utcnow
from trace.services import keys, labels, scan

from sqlmodel import select

from .conftest import BASE_URL, lot_named
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
