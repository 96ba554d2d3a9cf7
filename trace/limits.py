"""Per-client rate limits on scans, verification and login (Flask-Limiter): in memory by default, or in a shared
store (TRACE_RATELIMIT_STORAGE, e.g. redis://…) when several processes serve the site."""
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def apply_limits(app: Flask) -> Limiter:
    """One limiter per app (its settings are the app's); the limits wrap views already registered."""
    limiter = Limiter(get_remote_address, app=app)
    # Every way of asking "is this label genuine?" shares one allowance per client.
    verify = limiter.shared_limit(lambda: app.config["TRACE_VERIFY_RATE"], scope="verify")
    limits = {
        "scan.label": limiter.limit(lambda: app.config["TRACE_SCAN_RATE"]),
        "auth.login": limiter.limit(lambda: app.config["TRACE_LOGIN_RATE"], methods=["POST"]),
        "api.verify": verify, "api.verify_batch": verify, "retailer.verify": verify,
    }
    for endpoint, limit in limits.items():
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])
    app.extensions["trace.limiter"] = limiter  # the views hold it only weakly
    return limiter
