"""Producer pages for label runs: issue, cancel, print files rendered in the background, PNG of one label."""
from flask import Response, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import event

from .. import key_store
from ..clock import today
from ..db import get_session
from ..models import LabelFile, LabelRun, Lot
from ..services import label_files, labels, layouts
from ..services.errors import ValidationError
from ..services.units import count_text
from .producer import _form_page, _owned, bp


def issue_from_form(session, lot) -> tuple:
    """Issue a run from the lot page, and queue its printable file in the chosen layout."""
    layout = request.form.get("layout") or layouts.DEFAULT_LAYOUT
    if layout not in layouts.LAYOUTS:
        raise ValidationError({"layout": _("Choose a layout from the list.")})
    run = labels.issue_labels(session, key_store(current_app), lot, request.form.get("count"), current_user.id,
                              request.form.get("over_issue_reason"))
    label_file = label_files.request_file(session, run, layout, user_id=current_user.id)
    _enqueue_after_commit(session, label_file)
    return run, label_file


def _enqueue_after_commit(session, label_file: LabelFile) -> None:
    """The worker must find the file's row: queue it once the request's transaction is committed."""

    @event.listens_for(session, "after_commit", once=True)
    def _queue(_session):
        current_app.extensions["trace.render_label_file"](label_file.id)


def issued_message(result) -> str:
    run = result[0]
    return _("Issued %(count)s labels: serials %(first)s to %(last)s. Their file is being prepared.",
             count=count_text(run.count), first=run.first_serial, last=run.last_serial)


def lot_context(session, lot) -> dict:
    runs = labels.runs_of_lot(session, lot.id, issued_only=True)[::-1]  # newest first
    capacity, issued = labels.label_capacity(session, lot), labels.labels_issued(session, lot.id)
    return {"runs": runs, "capacity": capacity, "issued": issued, "suggested_count": max(capacity - issued, 0) or "",
            "label_files": label_files.files_of_runs(session, [run.id for run in runs])[:10],
            **_layout_choices(),
            "sample_url": labels.labels_for_run(session, key_store(current_app), current_app.config["TRACE_BASE_URL"],
                                                runs[0], range(runs[0].first_serial, runs[0].first_serial + 1))[0].url
            if runs else None}


def _layout_choices() -> dict:
    return {"layouts": layouts.LAYOUTS, "default_layout": layouts.DEFAULT_LAYOUT,
            "layout_options": [(layout.name, layout.title) for layout in layouts.LAYOUTS.values()]}


def _run(run_id: int) -> LabelRun:
    run = get_session().get(LabelRun, run_id)
    if run is None:
        abort(404)
    _owned(Lot, run.lot_id)
    return run


@bp.route("/label-runs/<id:run_id>", methods=["GET", "POST"])
def label_run(run_id: int):
    """One run: cancel it, or print it again whole or in part, in any layout."""
    session, run = get_session(), _run(run_id)
    form = request.form.get("form")

    def call():
        if form == "cancel":
            return labels.cancel_run(session, run, request.form.get("cancel_reason"), current_user.id)
        label_file = label_files.request_file(session, run, request.form.get("layout"), request.form.get("first"),
                                              request.form.get("last"), current_user.id)
        _enqueue_after_commit(session, label_file)
        return label_file

    def success(result):
        return url_for(".label_file", file_id=result.id) if isinstance(result, LabelFile) else \
            url_for(".label_run", run_id=run.id)

    def message(result):
        return _("Run cancelled: its labels now verify as cancelled.") if form == "cancel" else \
            _("The file is being prepared.")

    return _form_page("producer/label_run.html", call, success, lambda: {
        "run": run, "lot": session.get(Lot, run.lot_id), "form": form, **_layout_choices(),
        "label_files": label_files.files_of_runs(session, [run.id])}, message)


def _file(file_id: int) -> LabelFile:
    label_file = get_session().get(LabelFile, file_id)
    if label_file is None:
        abort(404)
    _run(label_file.run_id)
    return label_file


@bp.route("/label-files/<id:file_id>")
def label_file(file_id: int):
    """A file's progress (the page refreshes itself until it is ready), then its download link."""
    item = _file(file_id)
    run = get_session().get(LabelRun, item.run_id)
    return render_template("producer/label_file.html", file=item, run=run, lot=get_session().get(Lot, run.lot_id),
                           layout=layouts.LAYOUTS[item.layout])


@bp.route("/label-files/<id:file_id>.pdf")
def label_file_pdf(file_id: int):
    item = _file(file_id)
    path = label_files.path_of(current_app.config["TRACE_FILES_DIR"], item)
    if item.status != "ready" or not path.exists():
        abort(404)
    return send_file(path, mimetype="application/pdf", as_attachment=True,
                     download_name=f"labels-run{item.run_id}-{item.first_serial}-{item.last_serial}-{item.layout}.pdf")


@bp.route("/label-runs/<id:run_id>/png")
def run_png_form(run_id: int):
    """The run page's 'one label as PNG' form: on to that label's PNG."""
    run = _run(run_id)
    serial = request.args.get("serial", "")
    if not serial.isascii() or not serial.isdigit() or not run.first_serial <= int(serial) <= run.last_serial:
        abort(404)
    return redirect(url_for(".run_png", run_id=run.id, serial=int(serial), layout=request.args.get("layout"),
                            dpi=request.args.get("dpi")))


@bp.route("/label-runs/<id:run_id>/<id:serial>.png")
def run_png(run_id: int, serial: int):
    """One label as PNG, in a layout's label size, at a chosen resolution (?layout=&dpi=)."""
    run = _run(run_id)
    if not run.first_serial <= serial <= run.last_serial:
        abort(404)
    layout = layouts.LAYOUTS.get(request.args.get("layout", "roll-50x30"))
    dpi = request.args.get("dpi", "300")
    if layout is None or not dpi.isdigit() or not 72 <= int(dpi) <= 1200:
        abort(400)
    sheet = layouts.RunSheet.of(get_session(), key_store(current_app), current_app.config["TRACE_BASE_URL"], run,
                                today())
    return Response(layouts.render_png(sheet, serial, layout, int(dpi)), mimetype="image/png", headers={
        "Content-Disposition": f'inline; filename="label-{sheet.gtin}-{serial}.png"'})
