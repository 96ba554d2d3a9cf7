"""The ward administrator's pages: register organizations and their GTINs, invite their people, disable an account
or reset its password, and manage the signing keys."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import key_store
from ..db import get_session
from ..models import User
from ..services import accounts, keys, mail, organizations
from ..services.errors import NotFound, ValidationError
from .auth import role_required
from .shared import form_page

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required("admin")
def _administrators_only():
    return None


def _kinds():
    return organizations.ORGANIZATION_KINDS


@bp.route("/", methods=["GET", "POST"])
def home():
    session = get_session()
    return form_page("admin/home.html", lambda: organizations.register(session, request.form),
                     lambda organization: url_for(".organization", organization_id=organization.id),
                     lambda: {"organizations": organizations.all_organizations(session), "kinds": _kinds()},
                     lambda organization: _("%(name)s is registered. Invite its people below.", name=organization.name))


def _organization(organization_id: int):
    try:
        return organizations.organization_or_404(get_session(), organization_id)
    except NotFound:
        abort(404)


@bp.route("/organizations/<id:organization_id>", methods=["GET", "POST"])
def organization(organization_id: int):
    session, item = get_session(), _organization(organization_id)
    form = request.form.get("form", "details")
    calls = {
        "details": lambda: organizations.update(session, item, request.form),
        "gtin": lambda: organizations.assign_gtin(session, item, request.form.get("gtin")),
    }
    if request.method == "POST" and form not in calls:
        abort(400)

    return form_page("admin/organization.html", calls.get(form, calls["details"]),
                     lambda _result: url_for(".organization", organization_id=item.id),
                     lambda: _organization_context(item, form))


def _organization_context(item, form: str) -> dict:
    """The organization's page: its details (as posted when they were refused), GTINs, people and open links."""
    session = get_session()
    details = request.form if request.method == "POST" and form == "details" else {
        "kind": item.kind, "name": item.name, "address": item.address, "name_en": item.name_en,
        "address_en": item.address_en, "phone": item.phone, "tax_code": item.tax_code,
        "registration_number": item.registration_number, "gln": item.gln or "",
        "prefixes": " ".join(organizations.prefixes_of(session, item.id))}
    return {"organization": item, "form": form, "details": details, "kinds": _kinds(),
            "roles": organizations.ROLES_OF_KIND[item.kind], "users": accounts.users_of(session, item.id),
            "links": accounts.pending_links(session, item.id), "prefixes": organizations.prefixes_of(session, item.id),
            "gtins": organizations.assigned_gtins_of(session, item.id)}


@bp.route("/organizations/<id:organization_id>/invitations", methods=["POST"])
def invite(organization_id: int):
    """A one-time link to open an account, shown here to pass on, and e-mailed when a server is set up."""
    session, item = get_session(), _organization(organization_id)
    try:
        link, token = accounts.invite(session, current_user, item, request.form)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return render_template("admin/organization.html", errors=exc.errors, values=request.form,
                               **_organization_context(item, "invite")), 422
    return _link_page(link.email, token, "invite", item)


def _link_page(email: str, token: str, purpose: str, item):
    url = current_app.config["TRACE_BASE_URL"] + url_for("account.welcome", token=token)
    days = accounts.LINK_LIFETIME[purpose].days
    subject = _("Your account at Thủy Nguyên traceability") if purpose == "invite" else \
        _("Set a new password for Thủy Nguyên traceability")
    body = _("Open this link within %(days)s days to set your password:\n\n%(url)s\n\nIt works once.", days=days, url=url)
    sent, not_sent = False, None
    if current_app.config["TRACE_SMTP_HOST"]:
        not_sent = mail.send(current_app.config, email, subject, body)
        sent = not_sent is None
    return render_template("admin/link.html", email=email, url=url, purpose=purpose, days=days, organization=item,
                           sent=sent, not_sent=not_sent)


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<id:user_id>/disable", methods=["POST"])
def disable(user_id: int):
    return _set_disabled(_user(user_id), True)


@bp.route("/users/<id:user_id>/enable", methods=["POST"])
def enable(user_id: int):
    return _set_disabled(_user(user_id), False)


def _set_disabled(user: User, disabled: bool):
    session = get_session()
    try:
        accounts.set_disabled(session, current_user, user, disabled)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(next(iter(exc.errors.values())))
    else:
        flash(_("%(email)s is disabled: its logins have ended and its tokens no longer work.", email=user.email)
              if disabled else _("%(email)s can log in again.", email=user.email))
    return redirect(url_for(".organization", organization_id=user.organization_id))


@bp.route("/users/<id:user_id>/reset", methods=["POST"])
def reset(user_id: int):
    session, user = get_session(), _user(user_id)
    token = accounts.reset_password(session, current_user, user)
    session.commit()
    return _link_page(user.email, token, "reset", _organization(user.organization_id))


@bp.route("/keys", methods=["GET", "POST"])
def signing_keys():
    """Rotate the signing key, or revoke one (its labels then verify as revoked_key)."""
    session, store = get_session(), key_store(current_app)
    form = request.form.get("form")
    call = (lambda: keys.rotate(session, store)) if form == "rotate" else \
        (lambda: keys.revoke(session, store, request.form.get("kid"), request.form.get("reason")))

    def context():
        keys.sync_from_disk(session, store)
        session.commit()
        return {"keys": keys.jwks(session, store)["keys"], "form": form}
    return form_page("admin/keys.html", call, lambda _result: url_for(".signing_keys"), context,
                     lambda _result: _("Key rotated.") if form == "rotate" else _("Key revoked."))
