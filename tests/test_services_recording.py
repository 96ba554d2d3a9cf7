"""Recording at the service: OCOP ratings of one to five stars, a certificate's change of status with its reason,
product photos scaled to fit 480 px whatever their shape, a product's category, certificates told apart by
scheme, certifier and number, a batch's first event, an input's unit and note, and a timeline's corrections; a
product's unit, shelf life and GTIN length, the length limits of certificates, OCOP decisions and sites, a
certificate's days of validity, what a production area needs, a batch's harvests, and a timeline's order and lots;
a harvest's lot code, told its length over 20 characters or refused when its product has it already, the harvest
recorded with its user, area and details, and flagged inside pre-harvest intervals."""
import io
from trace.models import Certificate, Event, EventLot, Lot, LotFlag, Organization, Product, Site, User
from trace.services import corrections, movements, recording
from trace.services.errors import ValidationError
from trace.services.ledger import Ledger, record_one

import pytest
from PIL import Image
from sqlmodel import select

RICE = "Gạo Bắc Hương Thủy Nguyên"
ZONE = "Asia/Ho_Chi_Minh"


def _rice(session) -> Product:
    return session.exec(select(Product).where(Product.name_vi == RICE)).one()


def _rating(session, stars):
    product = _rice(session)
    return recording.add_ocop_rating(session, product.organization_id, product.id, {
        "stars": stars, "decision_number": "125/QĐ-UBND", "issued_on": "2026-03-02", "issuing_level": "city"})


def test_an_ocop_rating_has_one_to_five_stars(session):
    assert [(_rating(session, stars).stars) for stars in ("1", "5")] == [1, 5]
    for stars in ("0", "6"):
        with pytest.raises(ValidationError) as refused:
            _rating(session, stars)
        assert refused.value.errors == {"stars": "Must be between 1 and 5."}
    rating = _rating(session, "3")
    assert (rating.decision_number, rating.issued_on.isoformat(), rating.valid_until.isoformat(),
            rating.issuing_level) == ("125/QĐ-UBND", "2026-03-02", "2029-03-01", "city")  # 36 months by default


def test_a_certificate_status_change_keeps_its_reason(session):
    certificate = session.exec(select(Certificate)).first()
    change = recording.change_certificate_status(session, certificate.organization_id, certificate.id, {
        "status": "suspended", "effective_on": "2026-11-20", "reason": "Vượt ngưỡng dư lượng trong mẫu giám sát"})
    assert (change.certificate_id, change.status, change.effective_on.isoformat(), change.reason) == (
        certificate.id, "suspended", "2026-11-20", "Vượt ngưỡng dư lượng trong mẫu giám sát")
    assert recording.change_certificate_status(session, certificate.organization_id, certificate.id, {
        "status": "active", "effective_on": "2026-11-25"}).reason == ""


def _png(width, height) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 60)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("size", "stored"), [((600, 1200), (240, 480)), ((1200, 600), (480, 240)),
                                               ((2000, 2000), (480, 480)), ((300, 120), (300, 120))])
def test_a_photo_is_stored_as_jpeg_no_side_over_480_px_its_shape_kept(size, stored):
    data, kind = recording.prepare_image(_png(*size))
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, image.mode, kind) == ("JPEG", stored, "RGB", "image/jpeg")


def test_an_ocop_rating_issued_on_29_february_runs_to_the_end_of_february_three_years_on(session):
    product = _rice(session)
    rating = recording.add_ocop_rating(session, product.organization_id, product.id, {
        "stars": "4", "decision_number": "88/QĐ-UBND", "issued_on": "2020-02-29", "issuing_level": "city"})
    assert rating.valid_until.isoformat() == "2023-02-27"  # 28 February 2023 is 36 months on, less a day


def test_a_products_category_is_at_most_60_characters(session):
    organization_id = _rice(session).organization_id
    product = recording.create_product(session, organization_id, {
        "name_vi": "Gạo nếp cái hoa vàng", "unit": "kg", "category": "c" * 60})
    assert (product.name_vi, product.unit, product.category) == ("Gạo nếp cái hoa vàng", "kg", "c" * 60)
    with pytest.raises(ValidationError) as refused:
        recording.create_product(session, organization_id, {
            "name_vi": "Gạo nếp cái hoa vàng", "unit": "kg", "category": "c" * 61})
    assert refused.value.errors == {"category": "At most 60 characters."}


def _user(session, email) -> User:
    return session.exec(select(User).where(User.email == email)).one()


def _certificate(session, organization_id, **data):
    site = session.exec(select(Site.id).where(Site.name == "Cánh đồng Phả Lễ")).one()
    return recording.create_certificate(session, organization_id, {
        "scheme": "organic", "certifier": "Vinacert", "number": "HC-2026-07", "valid_from": "2026-01-05",
        "valid_to": "2027-01-04", "site_ids": [site], **data})


def test_a_certificate_is_the_same_only_with_the_same_scheme_certifier_and_number(session):
    organization_id = _user(session, "htx.lua@demo.vn").organization_id
    first = _certificate(session, organization_id)
    others = [_certificate(session, organization_id, number="HC-2026-08"),
              _certificate(session, organization_id, certifier="Control Union"),
              _certificate(session, organization_id, scheme="vietgap")]
    assert [(c.scheme, c.certifier, c.number) for c in [first, *others]] == [
        ("organic", "Vinacert", "HC-2026-07"), ("organic", "Vinacert", "HC-2026-08"),
        ("organic", "Control Union", "HC-2026-07"), ("vietgap", "Vinacert", "HC-2026-07")]
    with pytest.raises(ValidationError) as refused:
        _certificate(session, organization_id, site_ids=[])
    assert refused.value.errors == {"number": "This certificate is already registered.",
                                    "scope": "Choose the areas and/or products the certificate covers."}


def _start(session, email, site_name, product_name, **data):
    user = _user(session, email)
    site = session.exec(select(Site.id).where(Site.name == site_name)).one()
    product = session.exec(select(Product.id).where(Product.name_vi == product_name)).one()
    batch = record_one(session, user.organization_id, user.id, ZONE, recording.start_batch, {
        "site_id": str(site), "product_id": str(product), "time": "2025-06-02T07:00", **data})
    return batch, session.exec(select(Event).where(Event.batch_id == batch.id)).one()


def test_a_batch_starts_with_planting_and_its_variety_in_a_field_and_stocking_and_its_species_in_a_pond(session):
    seed = {"variety": "Bắc Hương", "seed_quantity": "120.5", "seed_unit": "kg", "seed_source": "Trại giống Hải Phòng"}
    batch, planting = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025",
                             **seed)
    assert (batch.code, batch.started_on.isoformat(), planting.step, planting.details) == (
        "PL-HE-2025", "2025-06-02", "planting",
        {"variety": "Bắc Hương", "quantity": "120.5", "unit": "kg", "source": "Trại giống Hải Phòng"})
    seed = {"variety": "Tôm thẻ chân trắng", "seed_quantity": "300000", "seed_unit": "con",
            "seed_source": "Trại giống Cát Bà"}
    _, stocking = _start(session, "thuysan@demo.vn", "Ao nuôi số 3 (bán thâm canh)", "Tôm thẻ chân trắng Bạch Đằng",
                         code="AO3-V2-2025", **seed)
    assert (stocking.step, stocking.details) == (
        "stocking", {"species": "Tôm thẻ chân trắng", "quantity": "300000", "unit": "con", "source": "Trại giống Cát Bà"})


def test_a_batch_needs_its_area_and_its_product(session):
    user = _user(session, "htx.lua@demo.vn")
    with pytest.raises(ValidationError) as refused:
        record_one(session, user.organization_id, user.id, ZONE, recording.start_batch,
                   {"code": "PL-HE-2025", "time": "2025-06-02T07:00"})
    assert refused.value.errors == {"site_id": "Required.", "product_id": "Required."}


def _input(session, batch, **data):
    user = _user(session, "htx.lua@demo.vn")
    return record_one(session, user.organization_id, user.id, ZONE, recording.record_input, batch.id, {
        "category": "fertiliser", "input_name": "NPK 16-16-8", "dose": "250", "time": "2025-06-20T08:00", **data})


def test_an_inputs_dose_unit_is_at_most_20_characters_and_its_note_300(session):
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    applied = _input(session, batch, dose_unit="u" * 20, note="n" * 300)
    assert session.get(Event, applied.id).details == {
        "category": "fertiliser", "input_name": "NPK 16-16-8", "dose": "250", "dose_unit": "u" * 20, "note": "n" * 300}
    with pytest.raises(ValidationError) as refused:
        _input(session, batch, dose_unit="u" * 21, note="n" * 301)
    assert refused.value.errors == {"dose_unit": "At most 20 characters.", "note": "At most 300 characters."}


def test_a_timeline_gives_each_event_declared_erroneous_its_declaration(session):
    batch, planting = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    applied = _input(session, batch, dose_unit="kg/ha")
    user = _user(session, "htx.lua@demo.vn")
    declaration = record_one(session, user.organization_id, user.id, ZONE, corrections.declare_error, applied.id,
                             {"reason": "Nhập nhầm lô", "time": "2025-06-21T08:00"})
    _, entries = recording.timeline(session, user.organization_id, batch.id)
    assert [(entry.event.id, entry.correction.id if entry.correction else None) for entry in entries] == [
        (planting.id, None), (applied.id, declaration.id)]


def test_a_certificate_status_change_gives_its_reason_up_to_300_characters(session):
    certificate = session.exec(select(Certificate)).first()
    change = recording.change_certificate_status(session, certificate.organization_id, certificate.id, {
        "status": "suspended", "effective_on": "2026-11-20", "reason": "r" * 300})
    assert change.reason == "r" * 300
    with pytest.raises(ValidationError) as refused:
        recording.change_certificate_status(session, certificate.organization_id, certificate.id, {
            "status": "suspended", "effective_on": "2026-11-21", "reason": "r" * 301})
    assert refused.value.errors == {"reason": "At most 300 characters."}


def _harvest(session, batch, time, code="PL-HE-2025-01"):
    user = _user(session, "htx.lua@demo.vn")
    return record_one(session, user.organization_id, user.id, ZONE, recording.record_harvest, batch.id, {
        "lot_code": code, "quantity": "1200", "unit": "kg", "time": time})


def _flag_details(session, lot):
    return [flag.details for flag in session.exec(select(LotFlag).where(LotFlag.lot_id == lot.id)).all()]


def test_a_harvest_inside_a_pre_harvest_interval_is_flagged_with_its_local_day_and_hour_and_the_intervals_end(session):
    """The flag's reason is worded from these in the reader's language: day/month/year and 24-hour time."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    lot = _harvest(session, batch, "2025-06-25T16:30")
    assert _flag_details(session, lot) == [
        {"harvest": "25/06/2025 16:30", "input": "Validamycin 5SL", "end": "27/06/2025 08:05"}]


def test_an_input_entered_after_the_harvest_it_concerns_flags_that_harvest_alike(session):
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    lot = _harvest(session, batch, "2025-06-25T16:30")
    assert _flag_details(session, lot) == []
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    assert _flag_details(session, lot) == [
        {"harvest": "25/06/2025 16:30", "input": "Validamycin 5SL", "end": "27/06/2025 08:05"}]


def test_a_products_ocop_ratings_are_its_own_latest_first(session):
    rice = _rice(session)
    other = session.exec(select(Product).where(Product.organization_id == rice.organization_id,
                                               Product.id != rice.id)).first()
    before = [rating.id for rating in recording.ocop_ratings(session, rice.id)]
    issued = {day: recording.add_ocop_rating(session, rice.organization_id, rice.id, {
        "stars": "4", "decision_number": f"{n}/QĐ-UBND", "issued_on": day, "issuing_level": "city"}).id
        for n, day in enumerate(("2021-05-10", "2027-05-10", "2024-05-10"))}
    recording.add_ocop_rating(session, other.organization_id, other.id, {
        "stars": "3", "decision_number": "9/QĐ-UBND", "issued_on": "2026-01-10", "issuing_level": "city"})
    found = recording.ocop_ratings(session, rice.id)
    assert {rating.product_id for rating in found} == {rice.id}
    assert [rating.id for rating in found if rating.id not in before] == [
        issued["2027-05-10"], issued["2024-05-10"], issued["2021-05-10"]]
    assert [rating.issued_on for rating in found] == sorted((rating.issued_on for rating in found), reverse=True)


def test_a_photo_of_exactly_3_mb_is_taken_and_one_a_byte_larger_refused():
    photo = _png(640, 480)
    at_limit = photo + bytes(recording.MAX_IMAGE_BYTES - len(photo))  # padding after the image's end
    assert Image.open(io.BytesIO(recording.prepare_image(at_limit)[0])).size == (480, 360)
    with pytest.raises(ValidationError) as refused:
        recording.prepare_image(at_limit + b"\0")
    assert refused.value.errors == {"image": "The image is larger than 3 MB."}


def _jpeg(mode, width, height) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, format="JPEG")
    return out.getvalue()


def test_a_50_megapixel_photo_is_taken_and_a_larger_one_refused_before_it_is_decoded():
    data, _ = recording.prepare_image(_jpeg("L", 10_000, 5_000))
    assert Image.open(io.BytesIO(data)).size == (480, 240)
    with pytest.raises(ValidationError) as refused:
        recording.prepare_image(_jpeg("L", 10_000, 5_001))
    assert refused.value.errors == {"image": "The image is too large: at most 50 megapixels."}


def test_a_photo_cut_short_is_refused_as_no_photo():
    """Its header reads well; the pixels that should follow it are missing."""
    with pytest.raises(ValidationError) as refused:
        recording.prepare_image(_png(600, 400)[:200])
    assert refused.value.errors == {"image": "This file is not a photo: use JPEG, PNG or WebP."}


def test_a_png_with_transparency_is_stored_as_an_rgb_jpeg():
    out = io.BytesIO()
    Image.new("RGBA", (200, 100), (40, 120, 60, 128)).save(out, format="PNG")
    data, kind = recording.prepare_image(out.getvalue())
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.mode, image.size, kind) == ("JPEG", "RGB", (200, 100), "image/jpeg")


def test_a_photo_is_stored_at_jpeg_quality_80_with_huffman_tables_fitted_to_it():
    """Quality 80 and fitted tables keep a product photo small for a phone on 3G without visible loss."""
    source = Image.new("RGB", (480, 360))
    source.putdata([((x * 7) % 256, (y * 5) % 256, (x * y) % 256) for y in range(360) for x in range(480)])
    raw = io.BytesIO()
    source.save(raw, format="PNG")
    data, _ = recording.prepare_image(raw.getvalue())
    plain, quality_80 = io.BytesIO(), io.BytesIO()
    source.save(plain, format="JPEG", quality=80)
    Image.new("RGB", (8, 8)).save(quality_80, format="JPEG", quality=80)
    assert Image.open(io.BytesIO(data)).quantization == Image.open(quality_80).quantization
    assert len(data) < len(plain.getvalue())  # the same quality with the standard tables is larger


def test_a_products_unit_is_required_and_kept_as_chosen(session):
    """A product sold by the litre is not counted in kilograms, the unit a product has when none is set."""
    organization_id = _rice(session).organization_id
    assert recording.create_product(session, organization_id, {"name_vi": "Nước mắm cốt", "unit": "lít"}).unit == "lít"
    with pytest.raises(ValidationError) as refused:
        recording.create_product(session, organization_id, {"name_vi": "Nước mắm cốt"})
    assert refused.value.errors == {"unit": "Required."}


def test_a_products_shelf_life_is_one_day_to_ten_years(session):
    organization_id = _rice(session).organization_id
    kept = [recording.create_product(session, organization_id, {
        "name_vi": "Bún tươi", "unit": "kg", "shelf_life_days": days}).shelf_life_days for days in ("1", "3650")]
    assert kept == [1, 3650]
    for days in ("0", "3651"):
        with pytest.raises(ValidationError) as refused:
            recording.create_product(session, organization_id, {
                "name_vi": "Bún tươi", "unit": "kg", "shelf_life_days": days})
        assert refused.value.errors == {"shelf_life_days": "Must be between 1 and 3650."}


def test_a_gtin_longer_than_20_characters_is_refused_as_too_long(session):
    """Twenty-one digits are not "not digits": the message says what is wrong."""
    with pytest.raises(ValidationError) as refused:
        recording.create_product(session, _rice(session).organization_id, {
            "name_vi": "Gạo tám thơm", "unit": "kg", "gtin": "893850000100101234567"})
    assert refused.value.errors == {"gtin": "At most 20 characters."}


def test_an_ocop_decision_number_is_at_most_60_characters(session):
    product = _rice(session)
    data = {"stars": "4", "issued_on": "2026-03-02", "issuing_level": "city"}
    rating = recording.add_ocop_rating(session, product.organization_id, product.id, {
        **data, "decision_number": "d" * 60})
    assert rating.decision_number == "d" * 60
    with pytest.raises(ValidationError) as refused:
        recording.add_ocop_rating(session, product.organization_id, product.id, {**data, "decision_number": "d" * 61})
    assert refused.value.errors == {"decision_number": "At most 60 characters."}


def test_a_certificates_standard_english_certifier_and_number_have_their_length_limits(session):
    organization_id = _user(session, "htx.lua@demo.vn").organization_id
    certificate = _certificate(session, organization_id, standard="s" * 120, certifier_en="e" * 200, number="n" * 60)
    assert (certificate.standard, certificate.certifier_en, certificate.number) == ("s" * 120, "e" * 200, "n" * 60)
    with pytest.raises(ValidationError) as refused:
        _certificate(session, organization_id, standard="s" * 121, certifier_en="e" * 201, number="n" * 61)
    assert refused.value.errors == {"standard": "At most 120 characters.", "certifier_en": "At most 200 characters.",
                                    "number": "At most 60 characters."}


def test_a_certificate_without_an_english_certifier_name_has_an_empty_one(session):
    """English pages then show the certifier's own name."""
    certificate = _certificate(session, _user(session, "htx.lua@demo.vn").organization_id)
    assert (certificate.certifier, certificate.certifier_en) == ("Vinacert", "")


def test_a_certificate_may_be_valid_for_a_single_day(session):
    organization_id = _user(session, "htx.lua@demo.vn").organization_id
    certificate = _certificate(session, organization_id, valid_from="2026-03-10", valid_to="2026-03-10")
    assert (certificate.valid_from.isoformat(), certificate.valid_to.isoformat()) == ("2026-03-10", "2026-03-10")
    with pytest.raises(ValidationError) as refused:
        _certificate(session, organization_id, number="HC-2026-09", valid_from="2026-03-10", valid_to="2026-03-09")
    assert refused.value.errors == {"valid_to": "Must not be before the start of validity."}


def test_a_vietgap_certificate_runs_two_years_to_the_day_and_no_longer(session):
    organization_id = _user(session, "htx.lua@demo.vn").organization_id
    certificate = _certificate(session, organization_id, scheme="vietgap", valid_to="2028-01-05")
    assert (certificate.valid_from.isoformat(), certificate.valid_to.isoformat()) == ("2026-01-05", "2028-01-05")
    with pytest.raises(ValidationError) as refused:
        _certificate(session, organization_id, scheme="vietgap", number="HC-2026-08", valid_to="2028-01-06")
    assert refused.value.errors == {"valid_to": "A VietGAP certificate is valid for at most 2 years."}


def _site(session, **data):
    return recording.create_site(session, _user(session, "htx.lua@demo.vn").organization_id,
                                 {"name": "Ruộng Kiền Bái 3", **data})


def test_a_production_area_needs_its_crop_and_area_and_a_pond_its_farming_method(session):
    with pytest.raises(ValidationError) as refused:
        _site(session, kind="rice_field")
    assert refused.value.errors == {"crop": "Required.", "area_ha": "Required."}
    with pytest.raises(ValidationError) as refused:
        _site(session, kind="freshwater_pond", crop="Cá rô phi", area_ha="0.8")
    assert refused.value.errors == {"farming_method": "Required."}
    pond = _site(session, kind="freshwater_pond", crop="Cá rô phi", area_ha="0.8", farming_method="semi_intensive")
    assert (pond.kind, pond.crop, str(pond.area_ha), pond.farming_method) == (
        "freshwater_pond", "Cá rô phi", "0.8", "semi_intensive")


def test_a_sites_crop_is_at_most_120_characters_and_its_address_300(session):
    site = _site(session, kind="rice_field", area_ha="2.5", crop="c" * 120, address="a" * 300)
    assert (site.crop, site.address) == ("c" * 120, "a" * 300)
    with pytest.raises(ValidationError) as refused:
        _site(session, kind="rice_field", area_ha="2.5", crop="c" * 121, address="a" * 301)
    assert refused.value.errors == {"crop": "At most 120 characters.", "address": "At most 300 characters."}


def test_a_batchs_harvests_are_counted_with_the_day_of_the_last(session):
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    assert recording.harvests_of(session, [batch.id]) == {}
    _harvest(session, batch, "2025-09-20T07:00", code="PL-HE-2025-01")
    _harvest(session, batch, "2025-09-24T07:00", code="PL-HE-2025-02")
    assert {batch_id: (count, last.isoformat()) for batch_id, (count, last)
            in recording.harvests_of(session, [batch.id]).items()} == {batch.id: (2, "2025-09-24")}


def test_a_timeline_is_in_the_order_things_happened_with_what_became_of_the_batchs_lots(session):
    """An input entered after the harvest comes before it; a shipment of the harvested lot is part of the story,
    the lots of other batches are not."""
    user = _user(session, "htx.lua@demo.vn")
    batch, planting = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    lot = _harvest(session, batch, "2025-09-20T07:00")
    applied = _input(session, batch, dose_unit="kg/ha", time="2025-07-01T08:00")
    buyer = session.exec(select(Organization.id).where(Organization.id != user.organization_id)).first()
    shipping = record_one(session, user.organization_id, user.id, ZONE, movements.record_shipping, {
        "to_organization_id": str(buyer), "reference": "HĐ-0925", "time": "2025-09-21T09:00",
        "lines": [{"lot_id": str(lot.id), "quantity": "500"}]})
    harvest = session.exec(select(Event).where(Event.batch_id == batch.id, Event.step == "harvest")).one()
    _, entries = recording.timeline(session, user.organization_id, batch.id)
    assert [(entry.event.id, [item.id for item in entry.lots]) for entry in entries] == [
        (planting.id, []), (applied.id, []), (harvest.id, [lot.id]), (shipping.id, [lot.id])]


def test_a_batchs_area_and_product_ids_are_read_between_1_and_the_largest_id_a_row_can_have(session):
    """An id no row can have is refused as out of range, before any look-up (PostgreSQL would fail on one over
    its integer range)."""
    user = _user(session, "htx.lua@demo.vn")
    with pytest.raises(ValidationError) as refused:
        record_one(session, user.organization_id, user.id, ZONE, recording.start_batch,
                   {"site_id": "0", "product_id": 2**31, "code": "PL-HE-2025", "time": "2025-06-02T07:00"})
    assert refused.value.errors == {"site_id": "Must be between 1 and 2147483647.",
                                    "product_id": "Must be between 1 and 2147483647."}


def test_a_batchs_code_is_at_most_40_characters_and_its_seed_unit_20(session):
    batch, planting = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="c" * 40,
                             seed_unit="u" * 20)
    assert (batch.code, planting.details) == ("c" * 40, {"unit": "u" * 20})
    with pytest.raises(ValidationError) as refused:
        _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="d" * 41,
               seed_unit="u" * 21)
    assert refused.value.errors == {"code": "At most 40 characters.", "seed_unit": "At most 20 characters."}


def test_an_input_is_recorded_by_its_user_at_its_batchs_area(session):
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    applied = session.get(Event, _input(session, batch, dose_unit="kg/ha").id)
    assert (applied.actor_user_id, applied.site_id, applied.batch_id) == (
        _user(session, "htx.lua@demo.vn").id, batch.site_id, batch.id)


def _harvest_event(session, lot) -> Event:
    return session.exec(select(Event).join(EventLot, EventLot.event_id == Event.id)
                        .where(EventLot.lot_id == lot.id, EventLot.role == "output")).one()


def _flagged(session, *lots) -> dict:
    return {lot.code: len(_flag_details(session, lot)) for lot in lots}


def test_an_input_entered_late_flags_the_harvests_of_its_batch_from_its_start_to_the_end_of_its_interval(session):
    """Only a harvest in force, of this batch, from the minute of the input to the minute before its interval ends:
    a lot harvested before and only packed inside the interval took up no residue from it."""
    user = _user(session, "htx.lua@demo.vn")
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    other, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025-B")
    lots = [_harvest(session, batch, "2025-06-20T08:04", code="L-BEFORE"),
            _harvest(session, batch, "2025-06-20T08:05", code="L-AT-START"),
            _harvest(session, batch, "2025-06-27T08:04", code="L-LAST-MINUTE"),
            _harvest(session, batch, "2025-06-27T08:05", code="L-AT-END"),
            _harvest(session, other, "2025-06-25T16:30", code="L-OTHER-BATCH"),
            _harvest(session, batch, "2025-06-25T16:30", code="L-WITHDRAWN")]
    record_one(session, user.organization_id, user.id, ZONE, corrections.declare_error,
               _harvest_event(session, lots[-1]).id, {"reason": "Ghi nhầm", "time": "2025-06-26T08:00"})
    record_one(session, user.organization_id, user.id, ZONE, movements.record_packing, lots[0].id,
               {"package_count": "24", "time": "2025-06-22T09:00"})
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    assert _flagged(session, *lots) == {"L-BEFORE": 0, "L-AT-START": 1, "L-LAST-MINUTE": 1, "L-AT-END": 0,
                                        "L-OTHER-BATCH": 0, "L-WITHDRAWN": 0}


def test_an_input_after_harvests_in_the_same_document_flags_those_from_its_start_to_the_end_of_its_interval(session):
    """The harvests are not written yet when the input is read: the same bounds hold for them."""
    user = _user(session, "htx.lua@demo.vn")
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    document = Ledger(session, user.organization_id, user.id, ZONE)
    for code, time in (("L-AT-START", "2025-06-20T08:05"), ("L-LAST-MINUTE", "2025-06-27T08:04"),
                       ("L-AT-END", "2025-06-27T08:05")):
        recording.record_harvest(document, batch.id, {"lot_code": code, "quantity": "100", "unit": "kg", "time": time})
    recording.record_input(document, batch.id, {
        "category": "pesticide", "input_name": "Validamycin 5SL", "dose": "1", "dose_unit": "l/ha",
        "withholding_days": "7", "time": "2025-06-20T08:05"})
    document.flush()
    lots = session.exec(select(Lot).where(Lot.batch_id == batch.id).order_by(Lot.id)).all()
    assert _flagged(session, *lots) == {"L-AT-START": 1, "L-LAST-MINUTE": 1, "L-AT-END": 0}


def test_a_lot_destroyed_with_its_pre_harvest_flag_is_flagged_again_by_another_input_entered_late(session):
    """The first flag was resolved when nothing was left of the lot; a second input inside whose interval it was
    harvested is a finding of its own."""
    user = _user(session, "htx.lua@demo.vn")
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    lot = _harvest(session, batch, "2025-06-25T16:30")
    record_one(session, user.organization_id, user.id, ZONE, movements.record_destroying, lot.id,
               {"reason": "Tồn dư thuốc", "time": "2025-06-26T08:00"})
    _input(session, batch, category="pesticide", input_name="Regent 800WG", dose="1", dose_unit="kg/ha",
           withholding_days="10", time="2025-06-21T08:00")
    assert _flag_details(session, lot) == [
        {"harvest": "25/06/2025 16:30", "input": "Validamycin 5SL", "end": "27/06/2025 08:05"},
        {"harvest": "25/06/2025 16:30", "input": "Regent 800WG", "end": "01/07/2025 08:00"}]


def test_a_batch_code_taken_in_the_organization_is_refused_with_the_forms_other_mistakes(session):
    """The farmer corrects everything at once rather than one mistake per try."""
    _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    with pytest.raises(ValidationError) as refused:
        _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025",
               seed_quantity="abc")
    assert refused.value.errors == {"seed_quantity": "Must be a number.",
                                    "code": "You already have a batch with this code."}


def test_a_batch_code_another_organization_uses_is_free_for_this_one(session):
    """Batch codes are each farm's own: a cooperative's code says nothing about another's."""
    first, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="VU-HE-2025")
    second, stocking = _start(session, "thuysan@demo.vn", "Ao nuôi số 3 (bán thâm canh)",
                              "Tôm thẻ chân trắng Bạch Đằng", code="VU-HE-2025")
    assert (second.code, stocking.step) == ("VU-HE-2025", "stocking")
    assert second.organization_id != first.organization_id


def test_a_batchs_first_event_is_recorded_by_its_user_at_its_area(session):
    batch, planting = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    assert (planting.actor_user_id, planting.site_id, planting.batch_id) == (
        _user(session, "htx.lua@demo.vn").id, batch.site_id, batch.id)


@pytest.mark.parametrize("code,message", [("L" * 21, "At most 20 characters (this has 21)."),
                                          ("L" * 41, "At most 20 characters (this has 41)."),
                                          ("L" * 201, "At most 200 characters.")])
def test_a_harvests_lot_code_over_20_characters_is_refused_with_its_length(session, code, message):
    """A lot code goes into AI (10) of every label, 20 characters at most, and the producer is told how long the
    one typed is; only text past the 200 any field takes is refused without reading it as a code."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    with pytest.raises(ValidationError) as refused:
        _harvest(session, batch, "2025-06-25T16:30", code=code)
    assert refused.value.errors == {"lot_code": message}


def test_a_lot_code_the_product_already_has_is_refused_with_the_forms_other_mistakes(session):
    """A lot code names one lot under the product's GTIN on every label; the farmer corrects everything at once
    rather than one mistake per try."""
    user = _user(session, "htx.lua@demo.vn")
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    _harvest(session, batch, "2025-06-25T16:30", code="PL-HE-2025-01")
    with pytest.raises(ValidationError) as refused:
        record_one(session, user.organization_id, user.id, ZONE, recording.record_harvest, batch.id, {
            "lot_code": "PL-HE-2025-01", "quantity": "abc", "unit": "kg", "time": "2025-06-26T16:30"})
    assert refused.value.errors == {"quantity": "Must be a number.",
                                    "lot_code": "This product already has a lot with this code."}


def test_a_harvest_is_recorded_by_its_user_at_its_batchs_area_with_its_lot_code_quantity_and_unit(session):
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    harvest = _harvest_event(session, _harvest(session, batch, "2025-06-25T16:30", code="PL-HE-2025-01"))
    assert (harvest.step, harvest.actor_user_id, harvest.site_id, harvest.batch_id, harvest.details) == (
        "harvest", _user(session, "htx.lua@demo.vn").id, batch.site_id, batch.id,
        {"lot_code": "PL-HE-2025-01", "quantity": "1200", "unit": "kg"})


def test_a_harvest_entered_after_an_input_is_flagged_from_the_inputs_minute_to_the_minute_before_its_interval_ends(
        session):
    """The same bounds as for an input entered late: the harvest at the minute the interval ends is clear."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    lots = [_harvest(session, batch, "2025-06-20T08:04", code="L-BEFORE"),
            _harvest(session, batch, "2025-06-20T08:05", code="L-AT-START"),
            _harvest(session, batch, "2025-06-27T08:04", code="L-LAST-MINUTE"),
            _harvest(session, batch, "2025-06-27T08:05", code="L-AT-END")]
    assert _flagged(session, *lots) == {"L-BEFORE": 0, "L-AT-START": 1, "L-LAST-MINUTE": 1, "L-AT-END": 0}


def test_a_harvest_inside_two_intervals_is_flagged_once_naming_the_input_whose_interval_ends_last(session):
    """The lot is clear only when the longest interval is over: that is the end the producer must wait for."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    _input(session, batch, category="pesticide", input_name="Validamycin 5SL", dose="1", dose_unit="l/ha",
           withholding_days="7", time="2025-06-20T08:05")
    _input(session, batch, category="pesticide", input_name="Regent 800WG", dose="1", dose_unit="kg/ha",
           withholding_days="10", time="2025-06-21T08:00")
    lot = _harvest(session, batch, "2025-06-25T16:30")
    assert _flag_details(session, lot) == [
        {"harvest": "25/06/2025 16:30", "input": "Regent 800WG", "end": "01/07/2025 08:00"}]


def test_a_harvest_inside_two_intervals_ending_together_is_flagged_once(session):
    """Two pesticides sprayed together in one tank with the same withholding days end their intervals together."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    for name in ("Validamycin 5SL", "Regent 800WG"):
        _input(session, batch, category="pesticide", input_name=name, dose="1", dose_unit="l/ha",
               withholding_days="7", time="2025-06-20T08:05")
    flags = _flag_details(session, _harvest(session, batch, "2025-06-25T16:30"))
    assert [(flag["harvest"], flag["end"]) for flag in flags] == [("25/06/2025 16:30", "27/06/2025 08:05")]
    assert flags[0]["input"] in {"Validamycin 5SL", "Regent 800WG"}


def test_a_harvest_on_the_day_the_batch_started_is_taken(session):
    """Only a day before the start is refused: a crop can be planted and picked on one day (sprouts, greens)."""
    batch, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-HE-2025")
    lot = _harvest(session, batch, "2025-06-02T16:00")
    assert (lot.code, lot.batch_id) == ("PL-HE-2025-01", batch.id)


def test_batches_are_listed_latest_started_first_and_the_later_entered_first_on_the_same_day(session):
    """The producer's batch list shows the season's newest work at the top, each with its area and product."""
    first, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-A")
    older, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-B",
                      time="2025-05-01T07:00")
    second, _ = _start(session, "htx.lua@demo.vn", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi", code="PL-C")
    ours = {first.id, older.id, second.id}
    rows = [(batch.code, site.name, product.name_vi)
            for batch, site, product in recording.list_batches(session, first.organization_id) if batch.id in ours]
    assert rows == [("PL-C", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi"),
                    ("PL-A", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi"),
                    ("PL-B", "Cánh đồng Phả Lễ", "Thóc Bắc Hương tươi")]


def test_certificates_are_listed_the_one_valid_longest_first(session):
    organization_id = _user(session, "htx.lua@demo.vn").organization_id
    _certificate(session, organization_id, number="HC-2026-10", valid_to="2026-12-31")
    _certificate(session, organization_id, number="HC-2026-11", valid_to="2028-06-30")
    _certificate(session, organization_id, number="HC-2026-12", valid_to="2027-06-30")
    numbers = [c.number for c in recording.list_certificates(session, organization_id) if c.number.startswith("HC-")]
    assert numbers == ["HC-2026-11", "HC-2026-12", "HC-2026-10"]


def test_an_organizations_products_are_listed_by_their_vietnamese_name(session):
    """The product pickers and the catalogue show them alphabetically, whatever order they were entered in."""
    organization_id = _rice(session).organization_id
    for name in ("Trà xanh", "Bún tươi", "Nước mắm cốt"):
        recording.create_product(session, organization_id, {"name_vi": name, "unit": "kg"})
    listed = recording.list_products(session, organization_id)
    assert {product.organization_id for product in listed} == {organization_id}
    names = [product.name_vi for product in listed]
    assert [name for name in names if name in ("Trà xanh", "Bún tươi", "Nước mắm cốt", RICE)] == [
        "Bún tươi", RICE, "Nước mắm cốt", "Trà xanh"]
