"""Label runs to PDF: labels per second on each layout, as a ratio to bare signing plus bare QR encoding of the
same URLs in the same run; and peak memory of a 10,000- and a 100,000-label run, in the command and in the
background worker (each in a process of its own, peak resident set size from the kernel).

    ./scripts/bench-labels [--count 10000] [--big 100000]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trace import create_app, key_store  # noqa: E402
from trace.db import get_session, session_scope, upgrade  # noqa: E402
from trace.services import labels, layouts, lots  # noqa: E402
from trace.services.demo import create_demo, new_password  # noqa: E402
from trace.services.gs1 import element_string  # noqa: E402

import zxingcpp  # noqa: E402

GTIN, LOT = "08936045000014", "GAO-BH-2610A"
WORKER_RUN = """
import sys, time
from trace import create_app, key_store
from trace.db import get_session
from trace.queue import run_pending
from trace.services import label_files, labels, lots
app = create_app()
with app.app_context():
    session = get_session()
    lot = lots.find_lot(session, "{gtin}", "{lot}")
    run = labels.issue_labels(session, key_store(app), lot, {count}, over_issue_reason="benchmark")
    label_file = label_files.request_file(session, run, "a4-3x8")
    session.commit()
    app.extensions["trace.render_label_file"](label_file.id)
    start = time.perf_counter()
    run_pending(app)
    session.refresh(label_file)
    print(label_file.status, round(time.perf_counter() - start, 1))
"""


def environment(tmp: Path) -> dict:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}", "TRACE_KEYS_DIR": str(tmp / "keys"),
            "TRACE_BASE_URL": "http://127.0.0.1:5000", "TRACE_QUEUE_FILE": str(tmp / "queue.sqlite"),
            "TRACE_FILES_DIR": str(tmp / "files"), "SECRET_KEY": "bench"}


def peak_of(command: list, env: dict) -> tuple:
    """(peak resident memory in MB, seconds, output) of a command run to its end."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _pid, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode()
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start, output.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    env = environment(tmp)
    os.environ.update(env)
    app = create_app({"RATELIMIT_ENABLED": False})
    engine = app.extensions["trace.engine"]
    upgrade(engine)
    with session_scope(engine) as session:
        create_demo(session, key_store(app), app.config["TRACE_BASE_URL"], new_password())

    print(f"{args.count:,} labels a run; each figure from one run in this process (the machine is shared and noisy)")
    with app.app_context():
        session = get_session()
        lot = lots.find_lot(session, GTIN, LOT)
        runs = {}
        for name in layouts.LAYOUTS:
            runs[name] = labels.issue_labels(session, key_store(app), lot, args.count, over_issue_reason="benchmark")
        session.commit()
        first = next(iter(runs.values()))
        sheet = layouts.RunSheet.of(session, key_store(app), app.config["TRACE_BASE_URL"], first, date.today())

        serials = range(first.first_serial, first.last_serial + 1)
        start = time.perf_counter()
        urls = [sheet.url(serial) for serial in serials]
        signing = time.perf_counter() - start
        key = sheet.signer.private
        messages = [element_string(GTIN, LOT, str(serial)).encode() for serial in serials]
        start = time.perf_counter()
        for message in messages:
            key.sign(message)
        bare_sign = time.perf_counter() - start
        start = time.perf_counter()
        for url in urls:
            zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
        bare_encode = time.perf_counter() - start
        reference = bare_sign + bare_encode
        print(f"reference: bare Ed25519 signing {bare_sign:6.2f} s + bare zxing-cpp QR encoding {bare_encode:6.2f} s"
              f" = {reference:6.2f} s ({args.count / reference:,.0f} labels/s); signed URLs alone {signing:.2f} s")
        for name, run in runs.items():
            sheet = layouts.RunSheet.of(session, key_store(app), app.config["TRACE_BASE_URL"], run, date.today())
            path = tmp / f"{name}.pdf"
            start = time.perf_counter()
            with path.open("wb") as out:
                pages = layouts.write_pdf(out, sheet, range(run.first_serial, run.last_serial + 1),
                                          layouts.LAYOUTS[name])
            took = time.perf_counter() - start
            print(f"{name:<11} {took:6.2f} s  {args.count / took:7,.0f} labels/s  = {took / reference:4.2f} × reference"
                  f"   {pages:,} pages, {path.stat().st_size / 1e6:5.1f} MB")

    flask = [sys.executable, "-m", "flask", "--app", "trace", "labels", "issue", GTIN, LOT, "--layout", "a4-3x8",
             "--over-issue-reason", "benchmark"]
    print("peak memory (resident set, whole process):")
    for count in (args.count, args.big):
        memory, took, _output = peak_of([*flask, "--count", str(count), "--out", str(tmp / f"cli-{count}.pdf")], env)
        print(f"  command, {count:>7,} labels: {memory:6.0f} MB   ({took:5.1f} s with start-up)")
    for count in (args.count, args.big):
        memory, took, output = peak_of([sys.executable, "-c", WORKER_RUN.format(gtin=GTIN, lot=LOT, count=count)], env)
        print(f"  worker,  {count:>7,} labels: {memory:6.0f} MB   (file {output})")


if __name__ == "__main__":
    main()
