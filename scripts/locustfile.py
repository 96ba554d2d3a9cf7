"""Clients of ./scripts/load (run by scripts/load_test.py, not on its own): shoppers opening scanned labels, and
systems asking the verify API about one label or a batch. Each client sends its next request as soon as it has
its answer. A request counts as failed unless it is answered 2xx and says the label is genuine.

Read from the environment: TRACE_LOAD_URLS (a file of label URLs, one a line), TRACE_LOAD_TOKEN (an API token,
for the batch) and TRACE_LOAD_BATCH (URLs in a batch). The user class is named on locust's command line:
Scanner, or Hello for the reference run against a hello-world app.
"""
import itertools
import os
import random
from pathlib import Path
from urllib.parse import urlsplit

from locust import FastHttpUser, constant, task

GENUINE_HTML = b'<div class="verdict ok" role="status">'
URLS = Path(os.environ["TRACE_LOAD_URLS"]).read_text().split() if "TRACE_LOAD_URLS" in os.environ else []
BATCH = int(os.environ.get("TRACE_LOAD_BATCH", "100"))


def _check(response, genuine: bool, problem: str):
    if response.status_code // 100 != 2:
        response.failure(f"HTTP {response.status_code}")
    elif not genuine:
        response.failure(problem)


class Hello(FastHttpUser):
    """The reference: the same clients against a hello-world Flask app under the same gunicorn settings."""

    wait_time = constant(0)

    @task
    def hello(self):
        with self.client.get("/", name="hello-world", catch_response=True) as response:
            _check(response, response.content == b"Hello, World!", "not the hello-world page")


class Scanner(FastHttpUser):
    """Shoppers and shops: the scan page in HTML, POST /api/v1/verify, and batches of URLs from a shop's system."""

    wait_time = constant(0)

    def on_start(self):
        self.urls = itertools.cycle(random.sample(URLS, len(URLS)))  # each client its own order through the run
        self.token = os.environ["TRACE_LOAD_TOKEN"]

    @task(6)
    def scan_page(self):
        path = urlsplit(next(self.urls))
        with self.client.get(f"{path.path}?{path.query}", name="scan page (HTML)", catch_response=True,
                             headers={"Accept": "text/html", "Accept-Language": "vi"}) as response:
            _check(response, GENUINE_HTML in (response.content or b""), "the page does not say 'genuine'")

    @task(3)
    def verify(self):
        with self.client.post("/api/v1/verify", name="POST /api/v1/verify", json={"url": next(self.urls)},
                              catch_response=True) as response:
            status = response.json()["verification"]["status"] if response.status_code == 200 else None
            _check(response, status == "genuine", f"verdict {status}")

    @task(1)
    def verify_batch(self):
        urls = [next(self.urls) for _ in range(BATCH)]
        with self.client.post("/api/v1/verify/batch", name=f"POST /api/v1/verify/batch ({BATCH} URLs)",
                              json={"urls": urls}, headers={"Authorization": f"Bearer {self.token}"},
                              catch_response=True) as response:
            results = response.json()["results"] if response.status_code == 200 else []
            verdicts = {result["verification"]["status"] for result in results}
            _check(response, [result["url"] for result in results] == urls and verdicts == {"genuine"},
                   f"verdicts {sorted(verdicts)} for {len(results)} of {len(urls)} URLs")
