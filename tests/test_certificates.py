"""A certificate's status on any date, computed from its validity and its dated suspensions and revocations:
not yet valid before its start, active, expired after its end; shown so on the producer's page and in the API."""
from datetime import date, timedelta
from trace.clock import today
from trace.db import get_session
from trace.models import Site, User
from trace.services import certificates, recording
from trace.services.errors import NotFound, ValidationError

import pytest
from sqlmodel import select

from .conftest import element_texts, login, table_rows
from .test_api import token_for

RICE = "htx.lua@demo.vn"


def register(app, valid_from: date, valid_to: date, number="HC-2026-01", changes=()) -> int:
    """An organic certificate of the rice cooperative's Phả Lễ field, with (status, effective on) changes."""
    with app.app_context():
        session = get_session()
        organization = session.exec(select(User).where(User.email == RICE)).one().organization_id
        site = session.exec(select(Site.id).where(Site.name == "Cánh đồng Phả Lễ")).one()
        certificate = recording.create_certificate(session, organization, {
            "scheme": "organic", "certifier": "Vinacert", "number": number, "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat(), "site_ids": [site]})
        for status, effective_on in changes:
            recording.change_certificate_status(session, organization, certificate.id, {
                "status": status, "effective_on": effective_on.isoformat(), "reason": "Kiểm tra giám sát"})
        session.commit()
        return certificate.id


def statuses(app, certificate_id: int, days: list) -> list:
    with app.app_context():
        session = get_session()
        certificate = session.get(certificates.Certificate, certificate_id)
        return [certificates.status_on(session, certificate, day) for day in days]


def test_before_its_first_day_a_certificate_is_not_yet_valid(demo_app):
    certificate = register(demo_app, date(2026, 3, 1), date(2027, 2, 28))
    days = [date(2025, 12, 31), date(2026, 2, 28), date(2026, 3, 1), date(2027, 2, 28), date(2027, 3, 1)]
    assert statuses(demo_app, certificate, days) == ["not_yet_valid", "not_yet_valid", "active", "active", "expired"]


def test_suspension_reinstatement_and_revocation_count_from_their_dates(demo_app):
    certificate = register(demo_app, date(2026, 3, 1), date(2027, 2, 28), changes=[
        ("suspended", date(2026, 6, 1)), ("active", date(2026, 7, 1)), ("revoked", date(2026, 9, 1))])
    days = [date(2026, 5, 31), date(2026, 6, 1), date(2026, 6, 30), date(2026, 7, 1), date(2026, 8, 31),
            date(2026, 9, 1), date(2027, 6, 1)]
    assert statuses(demo_app, certificate, days) == ["active", "suspended", "suspended", "active", "active",
                                                     "revoked", "revoked"]


def test_a_suspension_decided_before_the_start_still_reads_not_yet_valid_once_lifted(demo_app):
    certificate = register(demo_app, date(2026, 3, 1), date(2027, 2, 28), changes=[
        ("suspended", date(2026, 2, 1)), ("active", date(2026, 2, 15))])
    days = [date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 15), date(2026, 3, 1)]
    assert statuses(demo_app, certificate, days) == ["not_yet_valid", "suspended", "not_yet_valid", "active"]


def test_a_certificate_starting_next_month_is_shown_not_yet_valid(demo_app, demo_client):
    start = today() + timedelta(days=30)
    register(demo_app, start, start + timedelta(days=364), number="HC-NEXT")
    demo_client.set_cookie("lang", "en")
    login(demo_client, RICE)
    cards = [text for _, text in element_texts(demo_client.get("/producer/certificates").get_data(as_text=True), "div")
             if "HC-NEXT" in text and text.startswith("Organic")]
    assert len(cards) == 1 and cards[0].startswith("Organic Not yet valid Vinacert · no. HC-NEXT · ")
    with demo_app.app_context():
        rice = get_session().exec(select(User).where(User.email == RICE)).one().organization_id
    profile = demo_client.get(f"/api/v1/suppliers/{rice}", headers=token_for(demo_app, "sieuthi@demo.vn")).get_json()
    (listed,) = [c for c in profile["certificates"] if c["number"] == "HC-NEXT"]
    assert (listed["status"], listed["valid_today"], listed["valid_from"]) == ("not_yet_valid", False,
                                                                                start.isoformat())


def test_a_status_change_is_checked_and_only_for_the_owners_certificates(demo_app):
    certificate = register(demo_app, date(2026, 3, 1), date(2027, 2, 28))
    before = table_rows(demo_app)
    with demo_app.app_context():
        session = get_session()
        owner = session.exec(select(User).where(User.email == RICE)).one().organization_id
        other = session.exec(select(User).where(User.email == "thuysan@demo.vn")).one().organization_id
        with pytest.raises(ValidationError) as refused:
            recording.change_certificate_status(session, owner, certificate, {"status": "expired",
                                                                              "effective_on": "2026-13-01"})
        assert refused.value.errors == {"status": "Choose one of: active, suspended, revoked.",
                                        "effective_on": "Must be a date, YYYY-MM-DD."}
        with pytest.raises(NotFound):
            recording.change_certificate_status(session, other, certificate, {"status": "revoked",
                                                                              "effective_on": "2026-06-01"})
        session.commit()
    assert table_rows(demo_app) == before
