"""Label runs: how many labels a lot may carry, the counts and serial ranges people type, cancelling, signing."""
from trace import key_store
from trace.models import Event, LabelRun
from trace.services import labels
from trace.services.errors import ValidationError
from trace.services.gs1 import parse_digital_link
from trace.services.keys import keyset
from trace.services.lots import lot_events
from trace.services.verification import check_signature
from types import SimpleNamespace

import pytest

from .conftest import BASE_URL
from .conftest import lot_named as lot


@pytest.mark.parametrize("given, count", [(1, 1), ("1", 1), (" 250 ", 250), (100_000, 100_000), ("100000", 100_000)])
def test_validate_count_takes_a_whole_number_from_one_to_a_hundred_thousand(given, count):
    assert labels.validate_count(given) == count


@pytest.mark.parametrize("given, message", [
    (0, "Issue between 1 and 100,000 labels at a time."),
    ("123456789", "Issue between 1 and 100,000 labels at a time."),
    (100_001, "Issue between 1 and 100,000 labels at a time."),
    ("0", "Issue between 1 and 100,000 labels at a time."),
    (-3, "Issue between 1 and 100,000 labels at a time."),
    ("-3", "Enter a whole number of labels."),
    ("2.5", "Enter a whole number of labels."),
    ("", "Enter a whole number of labels."),
    ("١٢", "Enter a whole number of labels."),
    ("1234567890", "Enter a whole number of labels."),
    (True, "Enter a whole number of labels."),
    (2.0, "Enter a whole number of labels."),
    (None, "Enter a whole number of labels."),
])
def test_validate_count_refuses_anything_else_with_a_message(given, message):
    with pytest.raises(ValidationError) as refused:
        labels.validate_count(given)
    assert refused.value.errors == {"count": message}


def run(first=11, last=20, cancelled_at=None):
    return SimpleNamespace(first_serial=first, last_serial=last, cancelled_at=cancelled_at)


@pytest.mark.parametrize("first, last, serials", [
    (None, None, (11, 21)), ("", "", (11, 21)), ("11", "20", (11, 21)), (" 12 ", None, (12, 21)),
    (None, "15", (11, 16)), ("14", "14", (14, 15)), (20, 20, (20, 21)),
])
def test_serial_range_is_the_whole_run_or_the_part_asked_for(first, last, serials):
    chosen = labels.serial_range(run(), first, last)
    assert (chosen.start, chosen.stop) == serials


@pytest.mark.parametrize("first, last", [("10", None), (None, "21"), ("15", "14"), ("0", "5")])
def test_serial_range_outside_the_run_or_backwards_is_refused(first, last):
    with pytest.raises(ValidationError) as refused:
        labels.serial_range(run(), first, last)
    assert refused.value.errors == {"first": "Give serials from 11 to 20, the first not after the last."}


@pytest.mark.parametrize("first, last, field", [("a", None, "first"), (None, "1.5", "last"), ("-12", None, "first"),
                                                 ("1234567890", None, "first"), ("٣", None, "first")])
def test_serial_range_needs_numbers(first, last, field):
    with pytest.raises(ValidationError) as refused:
        labels.serial_range(run(), first, last)
    assert refused.value.errors == {field: "Enter a serial number."}


def test_serial_range_takes_nine_digit_serials():
    chosen = labels.serial_range(run(first=1, last=999_999_999), "123456789", "999999999")
    assert (chosen.start, chosen.stop) == (123_456_789, 1_000_000_000)


def test_serial_range_of_a_cancelled_run_is_refused():
    with pytest.raises(ValidationError) as refused:
        labels.serial_range(run(cancelled_at="2026-01-01"))
    assert refused.value.errors == {"first": "This run was cancelled: its labels would verify as cancelled."}


def test_label_capacity_counts_consumer_packs_else_whole_units(session):
    # GAO-BH-2610A: 3,700 bags, then cartons of them under two SSCCs, which do not add labels.
    assert labels.label_capacity(session, lot(session, "GAO-BH-2610A")) == 3700
    assert labels.label_capacity(session, lot(session, "RMA-2611-01")) == 900  # 900 kg, not packed
    assert labels.label_capacity(session, lot(session, "TK-2611-01")) == 60


def test_label_capacity_counts_the_packing_of_this_lot_not_of_another_lot_of_the_same_batch(session):
    """NA-2611-01 was packed into 440 boxes; NA-2611-02, a later harvest of the same orchard batch, was not
    packed: its 650 kg carry 650 labels, not 440."""
    first, second = lot(session, "NA-2611-01"), lot(session, "NA-2611-02")
    assert first.batch_id == second.batch_id
    assert labels.label_capacity(session, first) == 440
    assert labels.label_capacity(session, second) == 650


def test_a_packing_declared_erroneous_no_longer_counts_towards_the_labels(session):
    milled = lot(session, "GAO-XAT-2611")  # 14,300 kg packed into 2,860 bags
    assert labels.label_capacity(session, milled) == 2860
    packing = next(event for event, _ in lot_events(session, milled) if event.step == "packing")
    session.add(Event(organization_id=packing.organization_id, step="error_declaration", epcis_type=packing.epcis_type,
                      biz_step=packing.biz_step, event_time=packing.event_time, event_time_zone_offset="+07:00",
                      details={"reason": "wrong count"}, corrects_event_id=packing.id))
    session.flush()
    assert labels.label_capacity(session, milled) == 14300


def test_labels_issued_counts_standing_runs_only(session, demo_app):
    rice = lot(session, "RMA-2611-01")
    assert labels.labels_issued(session, rice.id) == 6
    store = key_store(demo_app)
    labels.issue_labels(session, store, rice, 4)
    pending = labels.issue_labels(session, store, rice, 5, pending=True)
    labels.cancel_run(session, labels.issue_labels(session, store, rice, 7), "sheet destroyed")
    assert labels.labels_issued(session, rice.id) == 10
    labels.confirm_run(session, pending)
    assert labels.labels_issued(session, rice.id) == 15
    assert labels.labels_issued(session, lot(session, "TK-2611-01").id) == 0


def test_issue_labels_takes_the_next_serials_and_refuses_more_than_the_lot_holds_without_a_reason(session, demo_app):
    rice = lot(session, "RMA-2611-01")  # 900 labels possible, 6 issued
    store = key_store(demo_app)
    made = labels.issue_labels(session, store, rice, 894, user_id=2)
    assert (made.first_serial, made.last_serial, made.status, made.over_issue_reason, made.issued_by_user_id) == (
        7, 900, "issued", None, 2)
    with pytest.raises(ValidationError) as refused:
        labels.issue_labels(session, store, rice, 1, over_issue_reason="   ")
    assert refused.value.errors == {"over_issue_reason": (
        "The lot holds 900 units and 900 labels are issued: 1 more make 901. "
        "To issue more labels than the lot holds, confirm with a reason.")}
    session.rollback()


def test_issue_labels_beyond_capacity_keeps_the_reason_and_a_reason_has_a_limit(session, demo_app):
    rice = lot(session, "RMA-2611-01")
    store = key_store(demo_app)
    extra = labels.issue_labels(session, store, rice, 1000, over_issue_reason="  reprint of torn sheet  ")
    assert (extra.first_serial, extra.last_serial, extra.over_issue_reason) == (7, 1006, "reprint of torn sheet")
    with pytest.raises(ValidationError) as refused:
        labels.issue_labels(session, store, rice, 1, over_issue_reason="x" * 501)
    assert refused.value.errors == {"over_issue_reason": "At most 500 characters."}
    assert labels.issue_labels(session, store, rice, 1, over_issue_reason="x" * 500).first_serial == 1007


def test_a_pending_run_is_issued_only_when_confirmed(session, demo_app):
    rice = lot(session, "RMA-2611-01")
    pending = labels.issue_labels(session, key_store(demo_app), rice, 3, pending=True)
    assert pending.status == "pending"
    confirmed = labels.confirm_run(session, pending)
    assert confirmed.status == "issued"
    assert session.get(LabelRun, pending.id).status == "issued"


def test_cancel_run_needs_a_reason_and_happens_once(session, demo_app):
    rice = lot(session, "RMA-2611-01")
    made = labels.issue_labels(session, key_store(demo_app), rice, 2)
    for reason in ("", "   ", None, 5, "x" * 501):
        with pytest.raises(ValidationError) as refused:
            labels.cancel_run(session, made, reason, user_id=1)
        assert refused.value.errors == {"cancel_reason": "Say why the run is cancelled (1 to 500 characters)."}
    assert made.cancelled_at is None
    labels.cancel_run(session, made, "  misprint  ", user_id=1)
    assert (made.cancel_reason, made.cancelled_by_user_id) == ("misprint", 1)
    assert made.cancelled_at is not None
    with pytest.raises(ValidationError) as refused:
        labels.cancel_run(session, made, "again", user_id=1)
    assert refused.value.errors == {"cancel_reason": "This run was already cancelled."}
    assert labels.cancel_run(session, labels.issue_labels(session, key_store(demo_app), rice, 1),
                             "x" * 500).cancel_reason == "x" * 500


def test_labels_and_csv_lines_of_a_run_carry_signed_urls_that_verify(session, demo_app):
    rice = lot(session, "RMA-2611-01")
    store = key_store(demo_app)
    made = labels.issue_labels(session, store, rice, 3)
    every = labels.labels_for_run(session, store, BASE_URL, made)
    assert [label.serial for label in every] == ["7", "8", "9"]
    assert {(label.gtin, label.lot_code) for label in every} == {("08936046000020", "RMA-2611-01")}
    keys_now = keyset(session, store)
    for label in every:
        link = parse_digital_link(label.url)
        assert (link.gtin, link.lot, link.serial) == ("08936046000020", "RMA-2611-01", label.serial)
        assert check_signature(label.url, keys_now, (BASE_URL,)).status == "genuine"
    part = labels.labels_for_run(session, store, BASE_URL, made, range(8, 10))
    assert [(label.serial, label.url) for label in part] == [(label.serial, label.url) for label in every[1:]]
    lines = list(labels.csv_lines(session, store, BASE_URL, made, range(8, 10)))
    assert lines == ["serial,url\r\n", f"8,{every[1].url}\r\n", f"9,{every[2].url}\r\n"]


def test_a_lots_runs_are_listed_oldest_first_those_still_being_written_unless_only_issued_ones_are_asked_for(
        session, demo_app):
    rice = lot(session, "RMA-2611-01")
    store = key_store(demo_app)
    before = [run.id for run in labels.runs_of_lot(session, rice.id)]
    issued = labels.issue_labels(session, store, rice, 2)
    pending = labels.issue_labels(session, store, rice, 3, pending=True)
    assert [run.id for run in labels.runs_of_lot(session, rice.id)] == before + [issued.id, pending.id]
    assert [run.id for run in labels.runs_of_lot(session, rice.id, issued_only=True)] == before + [issued.id]
