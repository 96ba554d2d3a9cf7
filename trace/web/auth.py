"""Log in and out, and the language switch that sticks (cookie, and the user's preference)."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import LOCALES, login_manager
from ..db import get_session
from ..services import accounts

bp = Blueprint("auth", __name__)
HOME_BY_ROLE = {"producer": "producer.home", "retailer": "retailer.home", "inspector": "ward.home",
                "admin": "admin.home"}


@login_manager.user_loader
def load_user(login_id: str):
    """The user of a login still open: a cookie of a login that was logged out no longer works."""
    user = accounts.user_of_login(get_session(), login_id)
    if user is not None:
        g.login_id = login_id
    return user


def _safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: a `next` pointing elsewhere is an open redirect, and is not followed. One with a
    control character (a CR/LF would split the Location header) is refused outright."""
    if target and not target.isprintable():
        abort(400)
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not urlsplit(target).netloc:
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = _safe_next(request.args.get("next"), None)  # a bad one is refused before anything is written
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "scan.index")))
    error = None
    if request.method == "POST":
        user = accounts.authenticate(get_session(), request.form.get("email", ""), request.form.get("password", ""))
        if user and not user.is_active:
            return render_template("auth/login.html", email=request.form.get("email", ""), error=_(
                "This account is disabled. Ask the ward administrator.")), 403
        if user:
            remember = request.form.get("remember") == "1"  # remembered on this device only when asked
            g.login_id = accounts.start_login(get_session(), user, remember)
            get_session().commit()
            login_user(user, remember=remember)
            return redirect(target or url_for(HOME_BY_ROLE.get(user.role, "scan.index")))
        error = _("Wrong e-mail or password.")
    return render_template("auth/login.html", error=error, email=request.form.get("email", "")), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends this login: its session cookie and its remember-me cookie stop working, here and wherever copied."""
    if current_user.is_authenticated:
        accounts.end_login(get_session(), g.get("login_id"))
        get_session().commit()
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
