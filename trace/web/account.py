"""Every user's own account: change the password, name and revoke API tokens; and the one-time links an
administrator passes on (an invitation, or a password reset)."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..db import get_session
from ..models import Organization
from ..services import accounts, organizations
from ..services.errors import NotFound, ValidationError
from .auth import HOME_BY_ROLE

bp = Blueprint("account", __name__)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def home():
    session, errors, new_token = get_session(), {}, None
    form = request.form.get("form")
    if request.method == "POST":
        try:
            if form == "password":
                ended = accounts.change_password(session, current_user, request.form.get("current_password", ""),
                                                 request.form.get("password", ""),
                                                 request.form.get("password_again", ""), g.get("login_id"))
                session.commit()
                flash(_("Password changed. Your other logins (%(n)s) have ended.", n=ended))
                return redirect(url_for(".home"))
            if form == "token":
                new_token = accounts.create_token(session, current_user, request.form.get("name", ""))
                session.commit()
            elif form == "english" and current_user.role in ("producer", "retailer"):
                organizations.set_english_names(session, session.get(Organization, current_user.organization_id),
                                                request.form)
                session.commit()
                flash(_("Saved. English pages show these names."))
                return redirect(url_for(".home"))
            else:
                abort(400)
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
    organization = session.get(Organization, current_user.organization_id)
    return render_template("account/home.html", errors=errors, form=form, values=request.form, new_token=new_token,
                           organization=organization,
                           tokens=[token for token, _user in accounts.tokens(session, current_user.id)]), \
        (422 if errors else 200)


@bp.route("/account/tokens/<id:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    session = get_session()
    try:
        token = accounts.revoke_token(session, token_id, current_user.id)
    except NotFound:
        abort(404)
    session.commit()
    flash(_("Token %(prefix)s… no longer works.", prefix=token.prefix))
    return redirect(url_for(".home"))


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def welcome(token: str):
    """Open an invited account, or set a new password, once; then the new user is logged in."""
    session = get_session()
    link = accounts.open_link(session, token)
    if link is None:
        return render_template("account/link_gone.html"), 410
    errors = {}
    if request.method == "POST":
        try:
            user = accounts.use_link(session, token, request.form)
        except ValidationError as exc:
            session.rollback()
            errors = exc.errors
        except NotFound:
            session.rollback()
            return render_template("account/link_gone.html"), 410
        else:
            g.login_id = accounts.start_login(session, user, remember=False)
            session.commit()
            if current_user.is_authenticated:
                logout_user()
            login_user(user)
            flash(_("Welcome. Your password is set."))
            return redirect(url_for(HOME_BY_ROLE.get(user.role, "scan.index")))
    return render_template("account/welcome.html", link=link, errors=errors, values=request.form), \
        (422 if errors else 200)
