"""Rate limits (Flask-Limiter) per client on scans, verification and login, and per account on failed logins:
in memory by default, or in a shared store (TRACE_RATELIMIT_STORAGE, e.g. redis://…) when several processes
serve the site."""
import time

from flask import Flask, make_response, render_template, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _login_account() -> str:
    return "account:" + request.form.get("email", "").strip().lower()[:254]


def _account_locked(limit):
    """The login page again, saying why: guessing one account's password from many addresses stops here too."""
    retry = max(1, limit.reset_at - int(time.time()))
    message = _("Too many failed logins for this account. Try again in %(minutes)s minutes, or ask the ward "
                "administrator to reset the password.", minutes=max(1, round(retry / 60)))
    page = render_template("auth/login.html", error=message, email=request.form.get("email", ""))
    return make_response(page, 429, {"Retry-After": str(retry)})


def apply_limits(app: Flask) -> Limiter:
    """One limiter per app (its settings are the app's); the limits wrap views already registered."""
    limiter = Limiter(get_remote_address, app=app)
    # Every way of asking "is this label genuine?" shares one allowance per client.
    verify = limiter.shared_limit(lambda: app.config["TRACE_VERIFY_RATE"], scope="verify")
    limits = {
        "scan.label": limiter.limit(lambda: app.config["TRACE_SCAN_RATE"]),
        "scan.report": limiter.limit(lambda: app.config["TRACE_REPORT_RATE"]),
        "auth.login": limiter.limit(lambda: app.config["TRACE_LOGIN_RATE"], methods=["POST"]),
        "auth.login ": limiter.limit(lambda: app.config["TRACE_LOGIN_ACCOUNT_RATE"], key_func=_login_account,
                                     methods=["POST"], scope="login-account", on_breach=_account_locked,
                                     deduct_when=lambda response: response.status_code == 401),
        "api.verify": verify, "api.verify_batch": verify, "retailer.verify": verify,
    }
    for endpoint, limit in limits.items():
        endpoint = endpoint.strip()  # a trailing space: a second limit on the same view
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])
    app.extensions["trace.limiter"] = limiter  # the views hold it only weakly
    return limiter
