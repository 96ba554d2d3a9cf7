"""A load test with Locust (headless): the site started by ./scripts/serve itself — gunicorn with
trace/gunicorn_conf.py and the label worker — on a throwaway database, keys and demo ward in a temporary
directory and a free loopback port, with 64 clients for 60 s on the scan page and the verify API.

First the demo lot gets a run of labels (the CLI's `labels issue`) and a shop an API token (`tokens create`);
clients go through the run's real URLs: the scan page in HTML, POST /api/v1/verify, and POST
/api/v1/verify/batch with 100 URLs, in the ratio 6 : 3 : 1 (scripts/locustfile.py). Rate limits stay on, set
high enough (TRACE_SCAN_RATE, TRACE_VERIFY_RATE) that one machine playing every client stays under them.
The same clients first run against a hello-world Flask app under the same gunicorn settings: the reference.

Prints requests/s, failures and p50/p95/p99 per endpoint; exits 1 on any failure (non-2xx, 429 included, or a
verdict other than genuine).

    ./scripts/load [--seconds 60] [--users 64] [--batch 100] [--reference-seconds 20]
"""
import argparse
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import HELLO, free_port  # noqa: E402  (the same hello-world app and port picking)

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GUNICORN_CONF = ROOT / "trace" / "gunicorn_conf.py"
UNLIMITED = "1000000 per minute"  # one machine is every client: the limiter runs, the limits are not reached
PRODUCT, LOT = "08936045000014", "GAO-BH-2610A"  # the demo's rice
SHOP = "sieuthi@demo.vn"


def wait_until_answering(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing answers at {url}:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """The whole process group: scripts/serve's shell, gunicorn and its workers, the label worker."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_locust(user_class: str, base: str, seconds: float, users: int, out: Path, env: dict) -> list[dict]:
    """Locust headless against base; one row per endpoint and the aggregate, from its CSV."""
    log = out.with_suffix(".log")
    with log.open("w") as output:
        subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "scripts" / "locustfile.py"), user_class,
                        "--headless", "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds:g}s",
                        "--host", base, "--csv", str(out), "--only-summary", "--stop-timeout", "30",
                        "--loglevel", "WARNING"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    for line in log.read_text().splitlines():
        if "CPU usage" in line:  # Locust's own warning that the load generator is the bottleneck
            print(f"  locust: {line.split(']', 1)[-1].strip()}")
    with open(f"{out}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    failures = Path(f"{out}_failures.csv")
    if failures.exists() and len(failures.read_text().splitlines()) > 1:
        print(f"  failures ({failures}):\n    " + "\n    ".join(failures.read_text().splitlines()[1:11]))
    return rows


def table(rows: list[dict], reference: dict | None = None) -> str:
    lines = [f"  {'endpoint':<40} {'requests':>9} {'req/s':>8} {'failures':>8} {'p50':>7} {'p95':>7} {'p99':>7}"]
    for row in rows:
        name = "all" if row["Name"] == "Aggregated" else row["Name"]
        lines.append(f"  {name:<40} {int(row['Request Count']):>9,} {float(row['Requests/s']):>8.1f} "
                     f"{int(row['Failure Count']):>8} {row['50%']:>5}ms {row['95%']:>5}ms {row['99%']:>5}ms")
    if reference:
        lines.append(f"  = {float(rows[-1]['Requests/s']) / float(reference['Requests/s']):.2f} of hello-world's "
                     f"requests/s")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--batch", type=int, default=100, help="URLs in a POST /api/v1/verify/batch")
    parser.add_argument("--labels", type=int, default=1000, help="labels in the run the clients go through")
    parser.add_argument("--reference-seconds", type=float, default=20, help="0 skips the hello-world reference")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="trace-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'trace.sqlite'}", "TRACE_KEYS_DIR": str(tmp / "keys"),
           "TRACE_QUEUE_FILE": str(tmp / "queue.sqlite"), "TRACE_FILES_DIR": str(tmp / "files"),
           "TRACE_DEMO_PASSWORD_FILE": str(tmp / "demo-password"),
           "TRACE_BASE_URL": base, "SECRET_KEY": "load-test", "BIND": f"127.0.0.1:{port}",
           "TRACE_SCAN_RATE": UNLIMITED, "TRACE_VERIFY_RATE": UNLIMITED, "RATELIMIT_ENABLED": "1",
           "PYTHONPATH": str(ROOT)}
    flask = [str(BIN / "flask"), "--app", "trace"]
    for command in (["init-db"], ["keys", "ensure"], ["demo"],
                    ["labels", "issue", PRODUCT, LOT, "--count", str(args.labels), "--out", str(tmp / "run.csv")]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run(flask + ["tokens", "create", SHOP], cwd=ROOT, env=env, check=True, capture_output=True,
                           text=True).stdout.strip()
    urls = [line.split(",", 1)[1] for line in (tmp / "run.csv").read_text().splitlines()[1:]]
    (tmp / "urls.txt").write_text("\n".join(urls) + "\n")
    clients = {**env, "TRACE_LOAD_URLS": str(tmp / "urls.txt"), "TRACE_LOAD_TOKEN": token,
               "TRACE_LOAD_BATCH": str(args.batch)}
    print(f"{args.users} clients, each sending its next request on the answer to the last; "
          f"{os.cpu_count()} CPUs shared by the server and Locust; files in {tmp}")

    reference = None
    if args.reference_seconds:
        (tmp / "hello_app.py").write_text(HELLO)
        hello_port = free_port()
        log = tmp / "hello.log"
        with log.open("w") as output:
            hello = subprocess.Popen([str(BIN / "gunicorn"), "--config", str(GUNICORN_CONF), "--bind",
                                      f"127.0.0.1:{hello_port}", "hello_app:app"], cwd=tmp, env=env,
                                     stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_answering(f"http://127.0.0.1:{hello_port}/", hello, log)
            rows = run_locust("Hello", f"http://127.0.0.1:{hello_port}", args.reference_seconds, args.users,
                              tmp / "hello", clients)
        finally:
            stop(hello)
        reference = rows[-1]
        print(f"\nreference: hello-world Flask under the same gunicorn settings, {args.reference_seconds:g} s")
        print(table(rows[-1:]))

    log = tmp / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen([str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, stdout=output,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answering(f"{base}/.well-known/jwks.json", server, log)
        rows = run_locust("Scanner", base, args.seconds, args.users, tmp / "trace", clients)
    finally:
        stop(server)
    print(f"\nscan page and verify API, as ./scripts/serve runs them, {args.seconds:g} s")
    print(table(rows, reference))
    failed = sum(int(row["Failure Count"]) for row in rows if row["Name"] != "Aggregated")
    missing = [row["Name"] for row in rows if row["Name"] != "Aggregated" and not int(row["Request Count"])]
    if failed or missing or len(rows) < 4:
        raise SystemExit(f"FAILED: {failed} failed requests; endpoints never reached: {missing or 'none'}")
    print("no errors")


if __name__ == "__main__":
    main()
