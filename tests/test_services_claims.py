"""What a processed lot may claim: each scheme's rule (sources, processing or both), a certificate's scope and
its status on the day of the harvest or the processing, and what the scan page lists behind a claim."""
from datetime import date, datetime, timedelta
from trace.models import Certificate, CertificateSite, CertificateStatusChange, Organization, Site, User
from trace.services import claims, movements
from trace.services.ledger import record_one
from zoneinfo import ZoneInfo

from sqlmodel import select

from .conftest import lot_named

SHRIMP_FARM, PROCESSOR = "Công ty TNHH Thủy sản nước lợ Bạch Đằng", "Công ty CP Chế biến Thực phẩm Minh Đức"


def _organization(session, name) -> Organization:
    return session.exec(select(Organization).where(Organization.name == name)).one()


def _certify(session, owner, scheme, number, sites=(), valid_from=date(2025, 1, 1), valid_to=date(2029, 1, 1)):
    certificate = Certificate(organization_id=_organization(session, owner).id, scheme=scheme, certifier="ICERT",
                              number=number, valid_from=valid_from, valid_to=valid_to)
    session.add(certificate)
    session.flush()
    for name in sites:
        site = session.exec(select(Site).where(Site.name == name)).one()
        session.add(CertificateSite(certificate_id=certificate.id, site_id=site.id))
    session.flush()
    return certificate


def _claims(session):
    derived = claims.derive(session, lot_named(session, "TND-2611-01"))
    return {scheme: (claim.holds, [(c.number, s.label) for c, s in claim.supporting], claim.missing)
            for scheme, claim in derived.by_scheme.items()}, derived


def test_organic_needs_its_sources_and_its_processing_certified(session):
    processing_day = lot_named(session, "TND-2611-01").produced_on.strftime("%d/%m/%Y")
    _certify(session, SHRIMP_FARM, "organic", "ORG-BD-1")
    found, _ = _claims(session)
    assert found["organic"] == (False, [("ORG-BD-1", "Tôm thẻ chân trắng Bạch Đằng · TOM-A3-2608"),
                                        ("ORG-BD-1", "Tôm thẻ chân trắng Bạch Đằng · TOM-A7-2611")], [
        f"Processing freezing on {processing_day} at Xưởng chế biến Minh Đức ({PROCESSOR}): no organic certificate "
        "in force that day."])
    _certify(session, PROCESSOR, "organic", "ORG-MD-1")
    found, derived = _claims(session)
    assert found["organic"][0] is True and found["organic"][1][-1] == ("ORG-MD-1", "freezing")
    assert derived.standards() == ["halal", "organic", "vietgap"]


def test_halal_looks_at_the_processing_only_and_vietgap_at_the_sources_only(session):
    found, _ = _claims(session)
    assert found["halal"] == (True, [("HALCERT-2025-1188", "freezing")], [])
    assert found["vietgap"] == (True, [("VietGAP-TS-25-06-0044", "Tôm thẻ chân trắng Bạch Đằng · TOM-A3-2608"),
                                       ("VietGAP-TS-25-06-0044", "Tôm thẻ chân trắng Bạch Đằng · TOM-A7-2611")], [])


def test_a_certificate_covers_only_the_areas_it_lists_and_only_while_in_force(session):
    halal = session.exec(select(Certificate).where(Certificate.number == "HALCERT-2025-1188")).one()
    made = lot_named(session, "TND-2611-01").produced_on
    session.add(CertificateStatusChange(certificate_id=halal.id, status="suspended", effective_on=made))
    session.flush()
    found, _ = _claims(session)
    assert found["halal"][0] is False  # suspended on the day of the processing
    vietgap = session.exec(select(Certificate).where(Certificate.number == "VietGAP-TS-25-06-0044")).one()
    listed = session.exec(select(Site.name).join(CertificateSite, CertificateSite.site_id == Site.id)
                          .where(CertificateSite.certificate_id == vietgap.id).order_by(Site.name)).all()
    assert listed == ["Ao lót bạt số 7 (thâm canh công nghệ cao)", "Ao nuôi số 3 (bán thâm canh)"]
    pond3 = session.exec(select(Site).where(Site.name == "Ao nuôi số 3 (bán thâm canh)")).one()
    session.delete(session.get(CertificateSite, (vietgap.id, pond3.id)))  # the certificate no longer lists pond 3
    session.flush()
    found, _ = _claims(session)
    harvested = lot_named(session, "TOM-A3-2608").produced_on.strftime("%d/%m/%Y")
    assert found["vietgap"] == (False, [("VietGAP-TS-25-06-0044", "Tôm thẻ chân trắng Bạch Đằng · TOM-A7-2611")], [
        f"Tôm thẻ chân trắng Bạch Đằng · TOM-A3-2608, harvested on {harvested} at Ao nuôi số 3 (bán thâm canh) "
        f"({SHRIMP_FARM}): no VietGAP certificate in force that day."])
    # another certificate of the same scheme that lists pond 3 and was in force at its harvest restores the claim
    _certify(session, SHRIMP_FARM, "vietgap", "VG-AO3", sites=["Ao nuôi số 3 (bán thâm canh)"],
             valid_from=lot_named(session, "TOM-A3-2608").produced_on,
             valid_to=lot_named(session, "TOM-A3-2608").produced_on + timedelta(days=1))
    assert _claims(session)[0]["vietgap"][0] is True


def test_the_scan_page_lists_each_certificate_behind_a_claim_once(session):
    _, derived = _claims(session)
    rows = claims.scan_certifications(session, derived, date(2026, 12, 1))
    assert [(row["number"], row["holder"], row["holder_en"], row["covers"], row["valid_at_production"],
             row["status_today"]) for row in rows] == [
        ("HALCERT-2025-1188", PROCESSOR, None, "processing", True, "active"),
        ("VietGAP-TS-25-06-0044", SHRIMP_FARM, "Bach Dang Brackish-Water Aquaculture Co., Ltd.", "sources", True,
         "active")]
    later = claims.scan_certifications(session, derived, date(2030, 1, 1))
    assert [row["status_today"] for row in later] == ["expired", "expired"]


def test_a_processing_step_recorded_without_a_place_is_said_to_be_at_its_organization(session):
    """Grading the frozen shrimp without saying where: the halal certificate lists the workshop only, so that
    step is not covered, and the owner is told the organization and the scheme's name."""
    processor = session.exec(select(User).where(User.email == "chebien@demo.vn")).one()
    frozen = lot_named(session, "TND-2611-01")
    moment = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(hours=2)
    event = record_one(session, processor.organization_id, processor.id, "Asia/Ho_Chi_Minh",
                       movements.record_transformation, {
                           "process": "grading", "time": moment.isoformat(timespec="minutes"),
                           "inputs": [{"lot_id": frozen.id, "quantity": "10"}],
                           "outputs": [{"product_id": frozen.product_id, "lot": "TND-2611-01-L1", "quantity": "10"}]})
    assert event.site_id is None
    halal = claims.derive(session, lot_named(session, "TND-2611-01-L1")).by_scheme["halal"]
    assert (halal.holds, [(c.number, s.label) for c, s in halal.supporting]) == (
        False, [("HALCERT-2025-1188", "freezing")])
    assert halal.missing == [f"Processing grading on {moment.strftime('%d/%m/%Y')} at {PROCESSOR} ({PROCESSOR}): "
                             "no Halal certificate in force that day."]


def test_the_scan_lists_every_certificate_behind_a_claim_after_one_it_already_listed(session):
    """Organic: the farm's certificate covers both ponds' harvests (listed once), then the processor's covers the
    freezing, and is listed too."""
    _certify(session, SHRIMP_FARM, "organic", "ORG-BD-1")
    _certify(session, PROCESSOR, "organic", "ORG-MD-1")
    _, derived = _claims(session)
    rows = claims.scan_certifications(session, derived, date(2026, 12, 1))
    assert [(row["number"], row["covers"]) for row in rows] == [
        ("HALCERT-2025-1188", "processing"), ("ORG-BD-1", "sources"), ("ORG-MD-1", "processing"),
        ("VietGAP-TS-25-06-0044", "sources")]


def test_the_lots_a_processed_lot_was_made_from_come_earliest_harvest_first_whatever_their_codes(session):
    pond_3, pond_7 = lot_named(session, "TOM-A3-2608"), lot_named(session, "TOM-A7-2611")
    pond_7.produced_on = pond_3.produced_on - timedelta(days=5)  # harvested first, though its code sorts last
    session.add(pond_7)
    session.flush()
    derived = claims.derive(session, lot_named(session, "TND-2611-01"))
    assert [(source.lot.code, source.day, source.label) for source in derived.sources] == [
        ("TOM-A7-2611", pond_7.produced_on, "Tôm thẻ chân trắng Bạch Đằng · TOM-A7-2611"),
        ("TOM-A3-2608", pond_3.produced_on, "Tôm thẻ chân trắng Bạch Đằng · TOM-A3-2608")]


VEGETABLES, ORGANIC_FIELD = "Tổ hợp tác Rau hữu cơ Hoa Động", "Ruộng rau hữu cơ Hoa Động"


def test_of_two_certificates_covering_a_lot_the_one_that_runs_longest_is_shown(session):
    choy_sum = lot_named(session, "RHC-2611-03")
    renewed = _certify(session, VEGETABLES, "organic", "HC-2026-0999", sites=[ORGANIC_FIELD],
                       valid_from=date(2026, 1, 1), valid_to=date(2031, 12, 31))
    found = claims.derive(session, choy_sum)
    assert [certificate.number for certificate, _ in found.by_scheme["organic"].supporting] == ["HC-2026-0999"]
    assert [row["number"] for row in claims.scan_certifications(session, found, date(2026, 12, 1))] == [renewed.number]


def test_a_certificate_that_lists_products_covers_those_only(session):
    from trace.models import CertificateProduct
    choy_sum = lot_named(session, "RHC-2611-03")
    assert claims.derive(session, choy_sum).standards() == ["organic"]
    (listed,) = session.exec(select(CertificateProduct).where(CertificateProduct.product_id == choy_sum.product_id)).all()
    spinach = lot_named(session, "RMA-2611-01").product_id
    session.delete(listed)
    session.add(CertificateProduct(certificate_id=listed.certificate_id, product_id=spinach))
    session.flush()
    assert claims.derive(session, choy_sum).standards() == []  # the certificate now names water spinach only


def test_lots_harvested_the_same_day_come_by_code(session):
    pond_3, pond_7 = lot_named(session, "TOM-A3-2608"), lot_named(session, "TOM-A7-2611")
    assert pond_7.id < pond_3.id  # the database's own order would put pond 7 first
    pond_3.produced_on = pond_7.produced_on
    session.add(pond_3)
    session.flush()
    derived = claims.derive(session, lot_named(session, "TND-2611-01"))
    assert [source.lot.code for source in derived.sources] == ["TOM-A3-2608", "TOM-A7-2611"]


def test_a_processing_certificate_that_lists_products_covers_the_steps_that_made_them_only(session):
    from trace.models import CertificateProduct
    frozen, dried = lot_named(session, "TND-2611-01"), lot_named(session, "TK-2611-01")
    halal = session.exec(select(Certificate).where(Certificate.scheme == "halal")).one()
    session.add(CertificateProduct(certificate_id=halal.id, product_id=dried.product_id))
    session.flush()
    assert claims.derive(session, dried).standards() == ["halal", "vietgap"]
    assert claims.derive(session, frozen).standards() == ["vietgap"]  # made by a step the certificate leaves out


def test_a_processing_certificate_covers_a_step_by_what_it_made_not_by_what_went_in(session):
    from trace.models import CertificateProduct
    frozen = lot_named(session, "TND-2611-01")
    halal = session.exec(select(Certificate).where(Certificate.scheme == "halal")).one()
    raw_shrimp = lot_named(session, "TOM-A3-2608").product_id  # what the step took in
    session.add(CertificateProduct(certificate_id=halal.id, product_id=raw_shrimp))
    session.flush()
    assert claims.derive(session, frozen).standards() == ["vietgap"]


def test_a_lot_made_by_no_processing_is_halal_when_its_producers_certificate_covers_its_harvest(session):
    pond_7 = lot_named(session, "TOM-A7-2611")
    assert claims.derive(session, pond_7).standards() == ["globalgap", "vietgap"]
    _certify(session, SHRIMP_FARM, "halal", "HL-2026-0042")
    assert claims.derive(session, pond_7).standards() == ["globalgap", "halal", "vietgap"]
