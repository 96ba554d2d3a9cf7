"""What a retailer reads about a supplier: certificates with their status on a given day, products, OCOP stars."""
from datetime import date, datetime, timedelta
from decimal import Decimal
from trace.db import session_scope
from trace.models import (
    MAX_ID,
    Certificate,
    CertificateProduct,
    CertificateSite,
    CertificateStatusChange,
    OcopRating,
    Organization,
    Product,
    Site,
)
from trace.services import certificates, suppliers
from trace.services.errors import NotFound
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from .conftest import ON_POSTGRES

TODAY = date(2026, 6, 15)
ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def ward(app):
    """Two producers and a shop; the cooperative has a certificate covering one site and one product."""
    engine = app.extensions["trace.engine"]
    with session_scope(engine) as session:
        coop = Organization(kind="cooperative", name="HTX Lúa Phục Lễ", address="Phục Lễ", phone="0225 3871 234",
                            registration_number="HTX-0042", gln="8936000000014")
        farm = Organization(kind="farm_household", name="Trang trại Tôm")
        shop = Organization(kind="retailer", name="Cửa hàng Lúa Sạch")
        session.add_all([farm, coop, shop])  # not in name order: the listing sorts
        session.flush()
        field_a, field_b = (Site(organization_id=coop.id, name=name, kind="field") for name in ("Cánh đồng B", "Cánh đồng A"))
        rice = Product(organization_id=coop.id, gtin="08936000000021", name_vi="Gạo Tám", name_en="Tam rice",
                       category="rice")
        bran = Product(organization_id=coop.id, gtin="08936000000038", name_vi="Cám gạo", name_en="Rice bran")
        session.add_all([field_a, field_b, rice, bran])
        session.flush()
        vietgap = Certificate(organization_id=coop.id, scheme="VietGAP", standard="TCVN 11892-1:2017",
                              certifier="Trung tâm Chứng nhận", number="VG-01", valid_from=date(2025, 1, 1),
                              valid_to=date(2027, 12, 31))
        older = Certificate(organization_id=coop.id, scheme="organic", certifier="Cơ quan B", number="OR-7",
                            valid_from=date(2020, 1, 1), valid_to=date(2023, 1, 1))
        session.add_all([older, vietgap])  # the newest certificate is listed first, whatever the order entered
        session.flush()
        session.add_all([CertificateSite(certificate_id=vietgap.id, site_id=field_a.id),
                         CertificateSite(certificate_id=vietgap.id, site_id=field_b.id),
                         CertificateProduct(certificate_id=vietgap.id, product_id=rice.id),
                         CertificateProduct(certificate_id=vietgap.id, product_id=bran.id)])
        session.add_all([
            OcopRating(product_id=rice.id, stars=3, decision_number="QĐ-3", issued_on=date(2025, 1, 1),
                       valid_until=date(2028, 1, 1), issuing_level="district"),
            OcopRating(product_id=rice.id, stars=4, decision_number="QĐ-4", issued_on=date(2025, 6, 1),
                       valid_until=date(2027, 6, 1), issuing_level="province"),
            OcopRating(product_id=rice.id, stars=5, decision_number="QĐ-5-later", issued_on=date(2026, 6, 16),
                       valid_until=date(2029, 1, 1), issuing_level="national"),
            OcopRating(product_id=bran.id, stars=5, decision_number="QĐ-old", issued_on=date(2020, 1, 1),
                       valid_until=date(2026, 6, 14), issuing_level="national"),
        ])
    ids = SimpleNamespace(coop=coop.id, farm=farm.id, shop=shop.id, vietgap=vietgap.id, rice=rice.id, bran=bran.id)
    with session_scope(engine) as session:
        yield session, ids


def test_list_suppliers_names_producers_only_in_name_order_and_filters_by_name(ward):
    session, ids = ward
    assert [o.name for o in suppliers.list_suppliers(session)] == ["HTX Lúa Phục Lễ", "Trang trại Tôm"]
    assert [o.name for o in suppliers.list_suppliers(session, "  Phục\x00 ")] == ["HTX Lúa Phục Lễ"]
    assert [o.name for o in suppliers.list_suppliers(session, "Cửa hàng")] == []


def test_supplier_profile_shows_certificates_newest_first_with_status_scope_and_products(ward):
    session, ids = ward
    profile = suppliers.supplier_profile(session, str(ids.coop), TODAY)
    assert profile["organization"] == {"id": ids.coop, "name": "HTX Lúa Phục Lễ", "kind": "cooperative",
                                       "address": "Phục Lễ", "phone": "0225 3871 234",
                                       "registration_number": "HTX-0042", "gln": "8936000000014"}
    site_ids = {site.name: site.id for site in session.exec(select(Site)).all()}
    organic = session.exec(select(Certificate.id).where(Certificate.number == "OR-7")).one()
    rating = session.exec(select(OcopRating.id).where(OcopRating.decision_number == "QĐ-4")).one()
    assert profile["certificates"] == [
        {"id": ids.vietgap, "scheme": "VietGAP", "standard": "TCVN 11892-1:2017", "certifier": "Trung tâm Chứng nhận",
         "certifier_en": None, "number": "VG-01", "valid_from": "2025-01-01", "valid_until": "2027-12-31", "status_today": "active",
         "status": "active", "valid_today": True, "site_ids": [site_ids["Cánh đồng A"], site_ids["Cánh đồng B"]],
         "product_ids": [ids.bran, ids.rice], "sites": ["Cánh đồng A", "Cánh đồng B"], "products": ["Cám gạo", "Gạo Tám"]},
        {"id": organic, "scheme": "organic", "standard": "", "certifier": "Cơ quan B", "certifier_en": None,
         "number": "OR-7", "valid_from": "2020-01-01", "valid_until": "2023-01-01", "status_today": "expired", "status": "expired",
         "valid_today": False, "site_ids": [], "product_ids": [], "sites": [], "products": []},
    ]
    # The best rating in force today: 4 stars (the 5-star decision starts tomorrow); bran's rating ended yesterday.
    assert profile["products"] == [
        {"gtin": "08936000000038", "name": "Cám gạo", "name_en": "Rice bran", "category": "", "ocop": None},
        {"gtin": "08936000000021", "name": "Gạo Tám", "name_en": "Tam rice", "category": "rice",
         "ocop": {"id": rating, "product_id": ids.rice, "stars": 4, "decision_number": "QĐ-4", "issued_on": "2025-06-01",
                  "valid_until": "2027-06-01", "issuing_level": "province"}},
    ]


def test_a_suspended_certificate_is_not_valid_today(ward):
    session, ids = ward
    session.add(CertificateStatusChange(certificate_id=ids.vietgap, status="suspended", effective_on=TODAY))
    session.flush()
    first = suppliers.supplier_profile(session, ids.coop, TODAY)["certificates"][0]
    assert (first["status"], first["valid_today"]) == ("suspended", False)


@pytest.mark.parametrize("which", ["shop", "missing", "zero", "huge", "text", "none"])
def test_supplier_profile_of_anything_but_a_producer_is_not_found(ward, which):
    session, ids = ward
    given = {"shop": ids.shop, "missing": 9999, "zero": 0, "huge": 2**31, "text": "abc", "none": None}[which]
    with pytest.raises(NotFound):
        suppliers.supplier_profile(session, given, TODAY)


def test_the_largest_id_a_database_can_hold_is_found_and_no_larger_one_is_looked_up(ward):
    """Ids stop at PostgreSQL's integer; SQLite would store a larger one, and it must still not be found."""
    session, ids = ward
    session.add(Organization(id=MAX_ID, kind="enterprise", name="Công ty cuối"))
    if not ON_POSTGRES:
        session.add(Organization(id=MAX_ID + 1, kind="enterprise", name="Ngoài phạm vi"))
    session.flush()
    assert suppliers.supplier_profile(session, MAX_ID, TODAY)["organization"]["name"] == "Công ty cuối"
    with pytest.raises(NotFound):
        suppliers.supplier_profile(session, MAX_ID + 1, TODAY)


def test_current_ocop_takes_the_most_stars_in_force_on_the_day_including_its_first_and_last_day(ward):
    session, ids = ward
    assert certificates.current_ocop(session, ids.rice, date(2024, 12, 31)) is None
    assert certificates.current_ocop(session, ids.rice, date(2025, 1, 1)).stars == 3
    assert certificates.current_ocop(session, ids.rice, date(2025, 6, 1)).stars == 4
    assert certificates.current_ocop(session, ids.rice, date(2026, 6, 15)).stars == 4
    assert certificates.current_ocop(session, ids.rice, date(2026, 6, 16)).stars == 5
    assert certificates.current_ocop(session, ids.rice, date(2028, 1, 2)).stars == 5
    assert certificates.current_ocop(session, ids.rice, date(2029, 1, 2)) is None
    assert certificates.current_ocop(session, ids.bran, date(2026, 6, 14)).decision_number == "QĐ-old"
    assert certificates.current_ocop(session, ids.bran, TODAY) is None


def test_current_ocop_prefers_the_longer_validity_among_equal_stars(ward):
    session, ids = ward
    session.add(OcopRating(product_id=ids.bran, stars=2, decision_number="short", issued_on=date(2026, 1, 1),
                           valid_until=date(2026, 12, 31), issuing_level="district"))
    session.add(OcopRating(product_id=ids.bran, stars=2, decision_number="long", issued_on=date(2026, 1, 1),
                           valid_until=date(2027, 12, 31), issuing_level="district"))
    session.flush()
    assert certificates.current_ocop(session, ids.bran, TODAY).decision_number == "long"


def certificate(valid_from=date(2025, 1, 1), valid_to=date(2025, 12, 31)):
    return SimpleNamespace(valid_from=valid_from, valid_to=valid_to)


def change(status, effective_on, id):
    return SimpleNamespace(status=status, effective_on=effective_on, id=id)


@pytest.mark.parametrize("day, status", [
    (date(2024, 12, 31), "not_yet_valid"),
    (date(2025, 1, 1), "active"),
    (date(2025, 12, 31), "active"),
    (date(2026, 1, 1), "expired"),
])
def test_status_from_dates_alone_counts_the_first_and_last_day_as_valid(day, status):
    assert certificates.status_from(certificate(), [], day) == status


def test_status_from_dated_changes_the_latest_in_effect_wins():
    changes = [change("suspended", date(2025, 3, 1), 1), change("active", date(2025, 4, 1), 2),
               change("revoked", date(2025, 9, 1), 3)]
    assert certificates.status_from(certificate(), changes, date(2025, 2, 28)) == "active"
    assert certificates.status_from(certificate(), changes, date(2025, 3, 1)) == "suspended"
    assert certificates.status_from(certificate(), changes, date(2025, 4, 1)) == "active"
    assert certificates.status_from(certificate(), changes, date(2025, 9, 1)) == "revoked"
    # A revocation outlives the certificate's own dates.
    assert certificates.status_from(certificate(), changes, date(2030, 1, 1)) == "revoked"
    # Reinstated before the start: not yet valid, by the dates.
    reinstated = [change("active", date(2024, 6, 1), 1)]
    assert certificates.status_from(certificate(), reinstated, date(2024, 12, 1)) == "not_yet_valid"


def test_status_from_two_changes_on_one_day_the_later_entry_wins():
    changes = [change("revoked", date(2025, 5, 1), 9), change("suspended", date(2025, 5, 1), 4)]
    assert certificates.status_from(certificate(), changes, date(2025, 5, 2)) == "revoked"
    assert certificates.status_from(certificate(), list(reversed(changes)), date(2025, 5, 2)) == "revoked"



def test_certificate_statuses_give_each_supplier_its_certificates_newest_first_with_the_status_on_the_day(ward):
    """The supplier list shows at a glance whether a VietGAP or organic claim still holds, suspensions included."""
    session, ids = ward
    session.add(CertificateStatusChange(certificate_id=ids.vietgap, status="suspended", effective_on=TODAY))
    session.flush()
    listed = [session.get(Organization, ids.coop), session.get(Organization, ids.farm)]
    assert suppliers.certificate_statuses(session, listed, TODAY) == {
        ids.coop: [("VietGAP", "VG-01", "suspended"), ("organic", "OR-7", "expired")], ids.farm: []}
    assert suppliers.certificate_statuses(session, listed, date(2026, 6, 14)) == {
        ids.coop: [("VietGAP", "VG-01", "active"), ("organic", "OR-7", "expired")], ids.farm: []}


def _ago(**delta) -> str:
    return (datetime.now(ZoneInfo(ZONE)) - timedelta(**delta)).isoformat(timespec="minutes")


def _deliver(session, sender, receiver, reference, lots, shipped, received):
    """`sender` ships the lots (code, quantity) under `reference`, and `receiver` takes them in."""
    from trace.services import movements
    from trace.services.ledger import record_one

    from .conftest import lot_named
    from .test_services_safety import _user
    sender, receiver = _user(session, sender), _user(session, receiver)
    event = record_one(session, sender.organization_id, sender.id, ZONE, movements.record_shipping, {
        "to_organization_id": receiver.organization_id, "reference": reference, "time": shipped,
        "lines": [{"lot_id": lot_named(session, code).id, "quantity": quantity} for code, quantity in lots]})
    return record_one(session, receiver.organization_id, receiver.id, ZONE, movements.record_receiving,
                      event.shipment_id, {"time": received})


def _received(session, buyer, supplier) -> list:
    from .test_services_safety import _user
    return [(shipment.reference, lot.code, line.quantity) for _event, shipment, line, lot, _product in
            suppliers.received_from(session, _user(session, buyer).organization_id, _user(session, supplier).organization_id)]


def test_what_a_shop_received_from_a_supplier_is_listed_newest_first_and_by_lot_code_within_a_receipt(session):
    """Only this supplier's goods, and not a receipt the shop declared erroneous."""
    from trace.models import Event

    from .test_services_epcis import _declare
    _deliver(session, "htx.lua@demo.vn", "sieuthi@demo.vn", "PXK-NEW", [("GAO-XAT-2611", "50")],
             _ago(hours=5), _ago(hours=4))
    _deliver(session, "chebien@demo.vn", "sieuthi@demo.vn", "PXK-MD-01", [("TND-2611-01", "20")],
             _ago(hours=5), _ago(hours=3))
    wrong = _deliver(session, "htx.lua@demo.vn", "sieuthi@demo.vn", "PXK-WRONG", [("GAO-BH-2610A", "10")],
                     _ago(hours=3), _ago(hours=2))
    _declare(session, session.get(Event, wrong.id), {"reason": "Nhập nhầm phiếu"})
    assert _received(session, "sieuthi@demo.vn", "htx.lua@demo.vn") == [
        ("PXK-NEW", "GAO-XAT-2611", Decimal("50.000")), ("PXK-2611-015", "GAO-BH-2610A", Decimal("1000.000"))]
    # One receipt of two lots, recorded A7 first.
    assert _received(session, "chebien@demo.vn", "thuysan@demo.vn") == [
        ("HĐ-0004521", "TOM-A3-2608", Decimal("800.000")), ("HĐ-0004521", "TOM-A7-2611", Decimal("1200.000"))]


def test_a_shop_sees_the_50_newest_lines_it_received_from_a_supplier(session):
    from trace.services import movements
    from trace.services.ledger import Ledger

    from .conftest import lot_named
    from .test_services_safety import _user
    farmer, market = _user(session, "htx.lua@demo.vn"), _user(session, "sieuthi@demo.vn")
    rice = lot_named(session, "GAO-BH-2610A")
    sending = Ledger(session, farmer.organization_id, farmer.id, ZONE)
    shipped = [movements.record_shipping(sending, {
        "to_organization_id": market.organization_id, "reference": f"PXK-{n:02d}", "time": _ago(days=2, minutes=-n),
        "lines": [{"lot_id": rice.id, "quantity": "1"}]}) for n in range(51)]
    sending.flush()
    taking = Ledger(session, market.organization_id, market.id, ZONE)
    for n, event in enumerate(shipped):
        movements.record_receiving(taking, event.shipment_id, {"time": _ago(days=1, minutes=-n)})
    taking.flush()
    assert [reference for reference, *_ in _received(session, "sieuthi@demo.vn", "htx.lua@demo.vn")] == [
        f"PXK-{n:02d}" for n in range(50, 0, -1)]
