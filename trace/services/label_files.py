"""Printable label files, rendered by the background worker so that web workers stay free to answer scans."""
import logging
import time
from datetime import date
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..models import LabelFile, LabelRun, utcnow
from . import layouts
from .errors import ValidationError
from .labels import serial_range

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.02  # of the file's labels between two progress updates


def request_file(session: Session, run: LabelRun, layout_name, first=None, last=None,
                 user_id: int | None = None) -> LabelFile:
    """A file of a run's labels (all, or a serial range) to be rendered; the same URLs as every time before."""
    if layout_name not in layouts.LAYOUTS:
        raise ValidationError({"layout": _l("Choose a layout from the list.")})
    if run.status != "issued":
        raise ValidationError({"first": _l("This run is not issued.")})
    serials = serial_range(run, first, last)
    label_file = LabelFile(run_id=run.id, first_serial=serials.start, last_serial=serials.stop - 1,
                           layout=layout_name, requested_by_user_id=user_id)
    session.add(label_file)
    session.flush()
    return label_file


def path_of(files_dir, label_file: LabelFile) -> Path:
    return Path(files_dir) / f"labels-{label_file.id}.pdf"


def files_of_runs(session: Session, run_ids: list) -> list:
    if not run_ids:
        return []
    return session.exec(select(LabelFile).where(LabelFile.run_id.in_(run_ids)).order_by(LabelFile.id.desc())).all()


def render_file(engine: Engine, store, base_url: str, files_dir, file_id: int, today: date,
                cpu_share: float = 1.0) -> None:
    """Render one requested file to disk, saying how far it got as it goes; a failure is recorded, not lost.

    With `cpu_share` below 1 the worker rests after each page, so that on a small machine the web workers
    answering scans keep most of the processors (scheduling priority alone does not give them that)."""
    with Session(engine, expire_on_commit=False) as session:
        label_file = session.get(LabelFile, file_id)
        if label_file is None or label_file.status == "ready":
            return
        label_file.status, label_file.done, label_file.error = "rendering", 0, None
        session.commit()
        run = session.get(LabelRun, label_file.run_id)
        target = path_of(files_dir, label_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        step = max(1, int(label_file.total * PROGRESS_EVERY))
        reported, page_started = [0], [time.monotonic()]

        def progress(done: int) -> None:
            if cpu_share < 1:
                time.sleep((time.monotonic() - page_started[0]) * (1 / cpu_share - 1))
                page_started[0] = time.monotonic()
            if done - reported[0] >= step or done == label_file.total:
                reported[0] = done
                label_file.done = done
                session.commit()

        try:
            sheet = layouts.RunSheet.of(session, store, base_url, run, today)
            with partial.open("wb") as out:
                layouts.write_pdf(out, sheet, range(label_file.first_serial, label_file.last_serial + 1),
                                  layouts.LAYOUTS[label_file.layout], progress)
            partial.replace(target)
            label_file.status, label_file.done, label_file.finished_at = "ready", label_file.total, utcnow()
            session.commit()
        except Exception as exc:
            session.rollback()
            log.exception("label file %s failed", file_id)
            label_file = session.get(LabelFile, file_id)
            label_file.status, label_file.error, label_file.finished_at = "failed", str(exc)[:500], utcnow()
            session.commit()
            partial.unlink(missing_ok=True)
