"""What the browser tests share: Debian's Chromium through Playwright, a live HTTP server, logging in.

Without /usr/bin/chromium a browser test is skipped, unless TRACE_REQUIRE_BROWSER=1 makes that a failure.
"""
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from .conftest import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NARROWEST = 320  # the smallest phone width a page must fit without scrolling sideways
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PRODUCER_EMAIL = "htx.lua@demo.vn"
RICE_LOT = "GAO-BH-2610A"  # the rice cooperative's lot in the demo ward


def no_browser(reason: str):
    if os.environ.get("TRACE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"TRACE_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def serving(app):
    """`app` on a real HTTP server in a thread; yields its base URL, e.g. http://127.0.0.1:40123."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _context(browser, viewport=PHONE, **options):
    phone = viewport["width"] < 600
    return browser.new_context(viewport=viewport, device_scale_factor=2 if phone else 1,
                               is_mobile=phone, has_touch=phone, **options)


def _assert_no_horizontal_overflow(page, width: int = PHONE["width"]):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"page is {scroll_width}px wide at a {width}px viewport: it scrolls sideways"


def _log_in(page, live_server, email):
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("load")
