"""Recording at the service: OCOP ratings of one to five stars, a certificate's change of status with its reason,
product photos scaled to fit 480 px whatever their shape."""
import io
from trace.models import Certificate, Product
from trace.services import recording
from trace.services.errors import ValidationError

import pytest
from PIL import Image
from sqlmodel import select

RICE = "Gạo Bắc Hương Thủy Nguyên"


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
