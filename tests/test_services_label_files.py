"""Printable label files: what a request records, and what rendering leaves on disk and in the database."""
import logging
from datetime import date
from pathlib import Path
from trace import key_store
from trace.db import get_session
from trace.models import LabelFile, Lot
from trace.services import keys, label_files, labels
from trace.services.errors import ValidationError

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from .conftest import BASE_URL


@pytest.fixture
def run(demo_app):
    """A fresh run of 30 labels of the demo's unpacked mustard greens."""
    with demo_app.app_context():
        session = get_session()
        lot = session.exec(select(Lot).where(Lot.code == "RMA-2611-01")).one()
        made = labels.issue_labels(session, key_store(demo_app), lot, 30)
        session.commit()
        yield demo_app, session, made


def test_request_file_records_the_serials_and_layout_asked_for(run):
    app, session, made = run
    whole = label_files.request_file(session, made, "a4-3x8", user_id=2)
    assert (whole.run_id, whole.first_serial, whole.last_serial, whole.layout, whole.status, whole.done,
            whole.requested_by_user_id, whole.total) == (made.id, 7, 36, "a4-3x8", "queued", 0, 2, 30)
    part = label_files.request_file(session, made, "a4-3x9", "10", "12")
    assert (part.first_serial, part.last_serial, part.total, part.requested_by_user_id) == (10, 12, 3, None)
    assert [f.id for f in label_files.files_of_runs(session, [made.id])] == [part.id, whole.id]
    assert label_files.files_of_runs(session, []) == []


def test_request_file_refuses_an_unknown_layout_and_a_run_not_issued(run):
    app, session, made = run
    with pytest.raises(ValidationError) as refused:
        label_files.request_file(session, made, "a5-1x1")
    assert refused.value.errors == {"layout": "Choose a layout from the list."}
    pending = labels.issue_labels(session, key_store(app), made_lot(session, made), 2, pending=True)
    with pytest.raises(ValidationError) as refused:
        label_files.request_file(session, pending, "a4-3x8")
    assert refused.value.errors == {"first": "This run is not issued."}
    with pytest.raises(ValidationError) as refused:
        label_files.request_file(session, made, "a4-3x8", "1", "5")
    assert refused.value.errors == {"first": "Give serials from 7 to 36, the first not after the last."}


def made_lot(session, made):
    return session.get(Lot, made.lot_id)


def test_path_of_names_the_file_by_its_id(tmp_path):
    assert label_files.path_of(tmp_path, LabelFile(id=42, run_id=1, first_serial=1, last_serial=1, layout="x")) == (
        tmp_path / "labels-42.pdf")
    assert label_files.path_of(str(tmp_path), LabelFile(id=7, run_id=1, first_serial=1, last_serial=1, layout="x")) == (
        Path(tmp_path) / "labels-7.pdf")


def test_render_file_writes_the_pdf_reports_progress_and_marks_it_ready(run, tmp_path):
    app, session, made = run
    requested = label_files.request_file(session, made, "a4-3x8", "7", "31")  # 25 labels: two pages
    session.commit()
    engine = app.extensions["trace.engine"]
    written = []  # (status, done) each time the worker writes the file's row

    def watch(_mapper, _connection, target):
        written.append((target.status, target.done))
    event.listen(LabelFile, "after_update", watch)
    files = tmp_path / "files" / "nested"
    try:
        label_files.render_file(engine, key_store(app), BASE_URL, files, requested.id, date(2026, 6, 15),
                                cpu_share=0.9)
    finally:
        event.remove(LabelFile, "after_update", watch)
    # Progress after each page of 24 (a step of 2 % is less than one label), and at the end.
    assert written == [("rendering", 0), ("rendering", 24), ("rendering", 25), ("ready", 25)]
    with Session(engine) as fresh:
        done = fresh.get(LabelFile, requested.id)
        assert (done.status, done.done, done.error) == ("ready", 25, None)
        assert done.finished_at is not None
    pdf = files / f"labels-{requested.id}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert not (files / f"labels-{requested.id}.part").exists()
    # Rendering a ready file again does nothing.
    before = pdf.stat().st_mtime_ns
    label_files.render_file(engine, key_store(app), BASE_URL, files, requested.id, date(2026, 6, 15))
    assert pdf.stat().st_mtime_ns == before
    label_files.render_file(engine, key_store(app), BASE_URL, files, 99999, date(2026, 6, 15))  # no such file


def test_a_failed_render_is_recorded_with_its_error_and_leaves_no_partial_file(run, tmp_path):
    app, session, made = run
    requested = label_files.request_file(session, made, "a4-3x8")
    session.commit()
    engine = app.extensions["trace.engine"]
    for key_file in Path(app.config["TRACE_KEYS_DIR"]).glob("*.pem"):  # the run's signing key is gone
        key_file.unlink()
    label_files.render_file(engine, key_store(app), BASE_URL, tmp_path, requested.id, date(2026, 6, 15))
    with Session(engine) as fresh:
        failed = fresh.get(LabelFile, requested.id)
        assert failed.status == "failed"
        key_path = Path(app.config["TRACE_KEYS_DIR"]) / "kid-1.pem"
        assert failed.error == f"[Errno 2] No such file or directory: '{key_path}'"
        assert failed.finished_at is not None
    assert list(tmp_path.glob("labels-*")) == []


@pytest.mark.parametrize("labels_wanted, reports", [
    (3, [1, 2, 3]),  # fewer than 50 labels: every label a page is reported
    (100, list(range(2, 101, 2))),  # 2 % of 100 labels: every second one
])
def test_progress_on_a_roll_is_reported_every_two_percent_of_the_labels(run, tmp_path, labels_wanted, reports):
    app, session, made = run
    more = labels.issue_labels(session, key_store(app), made_lot(session, made), labels_wanted)
    requested = label_files.request_file(session, more, "roll-40x25")
    session.commit()
    engine = app.extensions["trace.engine"]
    written = []

    def watch(_mapper, _connection, target):
        written.append(target.done)
    event.listen(LabelFile, "after_update", watch)
    try:
        label_files.render_file(engine, key_store(app), BASE_URL, tmp_path, requested.id, date(2026, 6, 15))
    finally:
        event.remove(LabelFile, "after_update", watch)
    assert written == [0, *reports, labels_wanted]  # rendering, each report, ready


def test_a_failure_is_logged_for_the_operator_and_its_message_kept_to_500_characters(run, tmp_path, caplog):
    app, session, made = run
    requested = label_files.request_file(session, made, "a4-3x8")
    session.commit()
    engine = app.extensions["trace.engine"]
    far_away = keys.KeyStore(tmp_path / ("k" * 200) / ("e" * 200) / ("y" * 200))  # no key file there
    with caplog.at_level(logging.ERROR, logger="trace.services.label_files"):
        label_files.render_file(engine, far_away, BASE_URL, tmp_path, requested.id, date(2026, 6, 15))
    assert [(r.getMessage(), r.exc_info[0]) for r in caplog.records] == [
        (f"label file {requested.id} failed", FileNotFoundError)]
    with Session(engine) as fresh:
        failed = fresh.get(LabelFile, requested.id)
        expected = f"[Errno 2] No such file or directory: '{far_away.path(1)}'"
        assert len(expected) > 500
        assert (failed.status, failed.error) == ("failed", expected[:500])
