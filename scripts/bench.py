"""Scan-page and label-rendering benchmarks, each as a ratio to a reference timed in the same run.

References: a bare Flask view returning a short HTML string (the floor of any page), and
qrcode's own PIL image of the same URL (the floor of any label). The machine is shared and
noisy, so each figure is the median of several rounds.
"""
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trace import create_app, key_store  # noqa: E402
from trace.db import get_session, session_scope, upgrade  # noqa: E402
from trace.models import LabelRun  # noqa: E402
from trace.services import labels, layouts  # noqa: E402
from trace.services.demo import create_demo, new_password  # noqa: E402

import qrcode  # noqa: E402
from flask import Flask  # noqa: E402
from sqlmodel import select  # noqa: E402

ROUNDS, PER_ROUND = 7, 200


def per_call(fn, n) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def median_of(fn, n=PER_ROUND) -> float:
    fn()
    return statistics.median(per_call(fn, n) for _ in range(ROUNDS))


def main():
    tmp = Path(tempfile.mkdtemp())
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}", "TRACE_KEYS_DIR": str(tmp / "keys"),
                      "SECRET_KEY": "bench", "TRACE_BASE_URL": "http://127.0.0.1:5000",
                      "TRACE_QUEUE_FILE": str(tmp / "queue.sqlite"), "RATELIMIT_ENABLED": False})
    engine = app.extensions["trace.engine"]
    upgrade(engine)
    with session_scope(engine) as session:
        create_demo(session, key_store(app), app.config["TRACE_BASE_URL"], new_password())
    with app.app_context():
        session = get_session()
        run = session.exec(select(LabelRun)).first()
        label = labels.labels_for_run(session, key_store(app), app.config["TRACE_BASE_URL"], run,
                                      range(run.first_serial, run.first_serial + 1))[0]
        sheet = layouts.RunSheet.of(session, key_store(app), app.config["TRACE_BASE_URL"], run, date.today())
        serial = run.first_serial
    path = label.url.removeprefix(app.config["TRACE_BASE_URL"])
    client = app.test_client()

    bare = Flask("reference")
    bare.add_url_rule("/", "index", lambda: "<!doctype html><title>x</title><p>hello</p>")
    bare_client = bare.test_client()

    page = client.get(path)
    image = client.get("/media/products/1.jpg")
    assert page.status_code == 200 and b"verdict ok" in page.data

    reference = median_of(lambda: bare_client.get("/"))
    scan_html = median_of(lambda: client.get(path))
    scan_json = median_of(lambda: client.get(path, headers={"Accept": "application/json"}))
    verify_api = median_of(lambda: client.post("/api/v1/verify", json={"url": label.url}))

    def qr_reference():
        qrcode.make(label.url, error_correction=qrcode.constants.ERROR_CORRECT_M).save(tmp / "ref.png")

    qr_ref = median_of(qr_reference, 20)
    png = median_of(lambda: layouts.render_png(sheet, serial, layouts.LAYOUTS["roll-50x30"]), 20)
    page_of_24 = range(serial, serial + 24)
    pdf_page = median_of(lambda: layouts.render_pdf(sheet, page_of_24, layouts.LAYOUTS["a4-3x8"]), 2)

    print(f"scan page: {len(page.data):,} bytes of HTML (CSS inline, no script) + product photo {len(image.data):,} bytes")
    print(f"reference, bare Flask page:      {reference * 1e3:7.2f} ms")
    print(f"scan page (HTML), verified:      {scan_html * 1e3:7.2f} ms  = {scan_html / reference:5.1f} × reference")
    print(f"scan page (JSON), verified:      {scan_json * 1e3:7.2f} ms  = {scan_json / reference:5.1f} × reference")
    print(f"POST /api/v1/verify:             {verify_api * 1e3:7.2f} ms  = {verify_api / reference:5.1f} × reference")
    print(f"reference, qrcode PIL image:     {qr_ref * 1e3:7.2f} ms")
    print(f"one 50×30 mm label PNG, 300 dpi: {png * 1e3:7.2f} ms  = {png / qr_ref:5.1f} × reference")
    print(f"A4 PDF page of 24 labels (3×8):  {pdf_page * 1e3:7.2f} ms  = {pdf_page / qr_ref:5.1f} × reference "
          f"(a whole file: fonts embedded once; see scripts/bench-labels for runs)")


if __name__ == "__main__":
    main()
