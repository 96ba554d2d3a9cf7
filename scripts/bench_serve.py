"""Scan throughput under gunicorn as ./scripts/serve runs it, against a hello-world Flask app under the same server
settings, in the same run; then again while the background worker renders a 100,000-label file.

A load generator of 4 processes × 4 threads (16 clients, one request at a time each, a new connection per
request, as phones scanning labels open them) runs for a fixed time against each URL and counts answers;
scan clients cycle through the 1,000 labels of a run (a label is scanned a few times, not thousands).
Rate limits are turned off for the run (one machine plays all 16 clients).

    ./scripts/bench-serve [--seconds 10] [--render 100000]
"""
import argparse
import http.client
import multiprocessing
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, THREADS = 4, 4
GUNICORN = [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "trace" / "gunicorn_conf.py")]  # as serve
HELLO = "from flask import Flask\napp = Flask('hello')\napp.add_url_rule('/', 'hello', lambda: 'Hello, World!')\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def _client(port, paths, headers, stop_at, results):
    latencies, errors = [], 0
    turn = random.randrange(len(paths))
    while time.monotonic() < stop_at:
        turn += 1
        path = paths[turn % len(paths)]
        start = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                errors += 1
                continue
        except OSError:
            errors += 1
            continue
        latencies.append(time.perf_counter() - start)
    results.append((latencies, errors))


def _process(port, paths, headers, stop_at, queue):
    results = []
    threads = [threading.Thread(target=_client, args=(port, paths, headers, stop_at, results)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def load(port: int, paths: list, seconds: float, headers=None) -> dict:
    queue = multiprocessing.Queue()
    stop_at = time.monotonic() + seconds
    processes = [multiprocessing.Process(target=_process, args=(port, paths, headers or {}, stop_at, queue))
                 for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    latencies, errors = [], 0
    for _ in processes:
        for found, failed in queue.get():
            latencies += found
            errors += failed
    for process in processes:
        process.join()
    latencies.sort()
    return {"rate": len(latencies) / seconds, "p50": statistics.median(latencies) * 1e3,
            "p99": latencies[int(len(latencies) * 0.99)] * 1e3, "errors": errors}


def line(name: str, result: dict, reference: dict | None = None) -> str:
    ratio = f"  = {result['rate'] / reference['rate']:.2f} of hello-world" if reference else ""
    return (f"{name:<34} {result['rate']:7.0f} req/s  p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
            f"errors {result['errors']}{ratio}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--render", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'trace.sqlite'}", "TRACE_KEYS_DIR": str(tmp / "keys"),
           "TRACE_QUEUE_FILE": str(tmp / "queue.sqlite"), "TRACE_FILES_DIR": str(tmp / "files"),
           "TRACE_DEMO_PASSWORD_FILE": str(tmp / "demo-password"),
           "SECRET_KEY": "bench", "RATELIMIT_ENABLED": "0", "PYTHONPATH": str(ROOT)}
    flask = [sys.executable, "-m", "flask", "--app", "trace"]
    for command in (["init-db"], ["keys", "ensure"], ["demo"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    # Shoppers scan many labels, each a few times: the clients cycle through a run of 1,000.
    subprocess.run(flask + ["labels", "issue", "08936045000014", "GAO-BH-2610A", "--count", "1000",
                            "--out", str(tmp / "run.csv")], cwd=ROOT, env=env, check=True, capture_output=True)
    paths = [line.split(",", 1)[1].removeprefix("http://127.0.0.1:5000")
             for line in (tmp / "run.csv").read_text().splitlines()[1:]]
    (tmp / "hello_app.py").write_text(HELLO)

    trace_port, hello_port = free_port(), free_port()
    servers = [subprocess.Popen(GUNICORN + ["--bind", f"127.0.0.1:{trace_port}", "trace:create_app()"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
               subprocess.Popen(GUNICORN + ["--bind", f"127.0.0.1:{hello_port}", "hello_app:app"], cwd=tmp,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    worker = None
    try:
        wait_until_up(trace_port)
        wait_until_up(hello_port)
        load(trace_port, paths, 2)  # warm both workers' caches
        print(f"gunicorn as trace/gunicorn_conf.py sets it; {PROCESSES * THREADS} clients for {args.seconds:g} s each; "
              f"{os.cpu_count()} CPUs shared with the load generator")
        hello = load(hello_port, ["/"], args.seconds)
        print(line("hello-world Flask", hello))
        html = load(trace_port, paths, args.seconds)
        print(line("scan page, HTML", html, hello))
        scan_json = load(trace_port, paths, args.seconds, {"Accept": "application/json"})
        print(line("scan, JSON", scan_json, hello))

        # A 100,000-label file rendered by the worker, started as scripts/serve starts it.
        worker = subprocess.Popen(["nice", "-n", "19", str(ROOT / ".venv/bin/huey_consumer"), "trace.worker.queue",
                                   "--workers", "1", "--quiet"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        request = (f"from trace import create_app, key_store\nfrom trace.db import get_session\n"
                   f"from trace.services import label_files, labels, lots\napp = create_app()\n"
                   f"with app.app_context():\n    s = get_session()\n"
                   f"    run = labels.issue_labels(s, key_store(app), lots.find_lot(s, '08936045000014', "
                   f"'GAO-BH-2610A'), {args.render}, over_issue_reason='benchmark')\n"
                   f"    f = label_files.request_file(s, run, 'a4-3x8')\n    s.commit()\n"
                   f"    app.extensions['trace.render_label_file'](f.id)\n    print(f.id)\n")
        file_id = subprocess.run([sys.executable, "-c", request], cwd=ROOT, env=env, check=True,
                                 capture_output=True, text=True).stdout.strip()
        time.sleep(3)  # the worker picks the job up
        busy = load(trace_port, paths, args.seconds, {"Accept": "application/json"})
        with sqlite3.connect(tmp / "trace.sqlite") as database:
            done = "|".join(map(str, database.execute("select status, done from labelfile where id = ?",
                                                       (int(file_id),)).fetchone()))
        print(line(f"scan, JSON, while rendering {args.render:,}", busy, hello)
              + f"\n{'':34} = {busy['rate'] / scan_json['rate']:.2f} of idle (worker's file: {done or 'unknown'})")
    finally:
        for process in servers + ([worker] if worker else []):
            process.terminate()
        for process in servers + ([worker] if worker else []):
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
