"""A producer's to-do list: which certificates and OCOP ratings it names, on which day, in which order."""
from datetime import date, timedelta
from trace.db import get_session
from trace.models import Certificate, CertificateStatusChange, OcopRating, Organization, Product
from trace.services import reminders

import pytest

TODAY = date(2026, 12, 1)


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.fixture
def farm(app):
    """A farm with no lots, certificates ending or lapsed at every boundary and two rated products."""
    with app.app_context():
        session = get_session()
        farm = Organization(kind="farm_household", name="Trang trại thử")
        other = Organization(kind="farm_household", name="Trang trại khác")
        session.add_all([farm, other])
        session.flush()

        def certificate(number, valid_to, valid_from=date(2024, 1, 1), owner=farm, scheme="VietGAP"):
            made = Certificate(organization_id=owner.id, scheme=scheme, certifier="QUACERT", number=number,
                               valid_from=valid_from, valid_to=valid_to)
            session.add(made)
            session.flush()
            return made
        certificate("ENDS-60", days(60))
        certificate("ENDS-61", days(61))
        certificate("LAPSED-1", days(-1), scheme="GlobalGAP")
        certificate("LAPSED-365", days(-365))
        certificate("LAPSED-366", days(-366))
        certificate("NOT-YET", days(30), valid_from=days(5))
        certificate("OTHERS", days(10), owner=other)
        suspended = certificate("SUSPENDED", days(200), scheme="organic")
        session.add(CertificateStatusChange(certificate_id=suspended.id, status="suspended", effective_on=days(-10)))
        honey, ginger, tea = (Product(organization_id=farm.id, gtin=gtin, name_vi=name) for gtin, name in (
            ("08936045009994", "Mật ong hoa nhãn"), ("08936045009987", "Gừng"), ("08936045009970", "Chè xanh")))
        session.add_all([honey, ginger, tea])
        session.flush()

        def rating(product, stars, valid_until):
            session.add(OcopRating(product_id=product.id, stars=stars, decision_number=f"{product.id}-{stars}/QĐ",
                                   issued_on=days(-900), valid_until=valid_until, issuing_level="district"))
        rating(honey, 3, days(90))
        rating(ginger, 3, days(91))
        rating(tea, 3, days(20))  # about to lapse, but the 4 stars it also holds are the rating it shows
        rating(tea, 4, days(400))
        session.commit()
        yield session, farm.id, honey.id


def test_the_to_do_list_names_what_lapsed_first_then_what_is_about_to(app, farm):
    session, farm_id, honey = farm
    found = [(r.kind, r.subject, r.day, r.scheme, r.link) for r in reminders.for_producer(session, farm_id, TODAY)]
    certificates = ("producer.certificates_page", {})
    assert found == [
        ("certificate_lapsed", "LAPSED-365", days(-365), "VietGAP", certificates),  # a year ago, to the day
        ("certificate_lapsed", "LAPSED-1", days(-1), "GlobalGAP", certificates),
        ("certificate_lapsed", "SUSPENDED", TODAY, "organic", certificates),  # suspended: lapsed today, not at its end
        ("certificate_ending", "ENDS-60", days(60), "VietGAP", certificates),
        ("ocop_ending", "Mật ong hoa nhãn", days(90), "", ("producer.product", {"product_id": honey})),
    ]
