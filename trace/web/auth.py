"""Log in and out, and the language switch that sticks (cookie, and the user's preference)."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import LOCALES, login_manager
from ..db import get_session
from ..models import User
from ..services import accounts

bp = Blueprint("auth", __name__)
HOME_BY_ROLE = {"producer": "producer.home", "retailer": "retailer.home", "inspector": "ward.home"}


@login_manager.user_loader
def load_user(user_id: str):
    return get_session().get(User, int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: a `next` pointing elsewhere is an open redirect."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and not urlsplit(target).netloc):
        return target
    return default  # also for control characters (a CR/LF would split the Location header) and backslashes


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "scan.index")))
    error = None
    if request.method == "POST":
        user = accounts.authenticate(get_session(), request.form.get("email", ""), request.form.get("password", ""))
        if user:
            login_user(user, remember=True)
            return redirect(_safe_next(request.args.get("next"), url_for(HOME_BY_ROLE.get(user.role, "scan.index"))))
        error = _("Wrong e-mail or password.")
    return render_template("auth/login.html", error=error, email=request.form.get("email", "")), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    return redirect(url_for("scan.index"))


@bp.route("/lang/<code>")
def set_language(code: str):
    if code not in LOCALES:
        code = "vi"
    response = redirect(_safe_next(request.args.get("next"), url_for("scan.index")))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    if current_user.is_authenticated and current_user.locale != code:
        session = get_session()
        current_user.locale = code
        session.add(current_user)
        session.commit()
    return response


@bp.app_context_processor
def _navigation():
    return {"home_endpoint": HOME_BY_ROLE.get(getattr(current_user, "role", None), "scan.index")}


def role_required(*roles):
    """Logged in, with one of `roles`; others get a 403 page."""
    def decorator(view):
        from functools import wraps

        from flask import abort

        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator
