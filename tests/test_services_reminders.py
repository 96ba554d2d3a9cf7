"""A producer's to-do list: which certificates and OCOP ratings it names, on which day, in which order."""
from datetime import date, timedelta
from decimal import Decimal
from trace.db import get_session
from trace.models import Certificate, CertificateStatusChange, Holding, Lot, OcopRating, Organization, Product
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


def test_lots_held_past_their_date_and_a_revoked_certificate_come_first_and_an_ocop_rating_ending_in_its_turn(app, farm):
    """Lapsed certificates and lots past their best-before date are equally pressing, by day then name; a lot
    whose date is today, one no longer held and one without a shelf life are not named."""
    session, farm_id, honey = farm
    revoked = Certificate(organization_id=farm_id, scheme="organic", certifier="QUACERT", number="REVOKED",
                          valid_from=date(2024, 1, 1), valid_to=days(300))
    session.add(revoked)
    session.flush()
    session.add(CertificateStatusChange(certificate_id=revoked.id, status="revoked", effective_on=days(-3)))
    kept, fresh = (Product(organization_id=farm_id, gtin=gtin, name_vi=name, shelf_life_days=shelf) for gtin, name, shelf
                   in (("08936045009963", "Chuối sấy", 10), ("08936045009956", "Rau mầm", None)))
    session.add_all([kept, fresh])
    session.flush()
    session.add(OcopRating(product_id=kept.id, stars=3, decision_number="CS-3/QĐ", issued_on=days(-900),
                           valid_until=days(30), issuing_level="district"))
    lots = {}
    for code, product, produced, held in (("LOT-B", kept, days(-11), "5"), ("LOT-A", kept, days(-11), "5"),
                                          ("LOT-TODAY", kept, days(-10), "5"), ("LOT-GONE", kept, days(-20), "0"),
                                          ("LOT-NO-DATE", fresh, days(-400), "5")):
        lots[code] = Lot(organization_id=farm_id, product_id=product.id, code=code, quantity=Decimal(held),
                         unit="kg", produced_on=produced)
        session.add(lots[code])
        session.flush()
        session.add(Holding(lot_id=lots[code].id, organization_id=farm_id, quantity=Decimal(held)))
    session.flush()
    found = [(r.kind, r.subject, r.day, r.link) for r in reminders.for_producer(session, farm_id, TODAY)]
    certificates = ("producer.certificates_page", {})

    def lot(code):
        return ("producer.lot", {"lot_id": lots[code].id})
    assert found == [
        ("certificate_lapsed", "LAPSED-365", days(-365), certificates),
        ("certificate_lapsed", "LAPSED-1", days(-1), certificates),
        ("lot_past_date", "LOT-A", days(-1), lot("LOT-A")),  # the same day: by code
        ("lot_past_date", "LOT-B", days(-1), lot("LOT-B")),
        ("certificate_lapsed", "REVOKED", TODAY, certificates),  # revoked three days ago: lapsed, as of today
        ("certificate_lapsed", "SUSPENDED", TODAY, certificates),
        ("ocop_ending", "Chuối sấy", days(30), ("producer.product", {"product_id": kept.id})),
        ("certificate_ending", "ENDS-60", days(60), certificates),
        ("ocop_ending", "Mật ong hoa nhãn", days(90), ("producer.product", {"product_id": honey})),
    ]
