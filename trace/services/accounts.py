"""Users, their logins, passwords, one-time account links and API tokens (tokens stored only as SHA-256 hashes)."""
import hashlib
import os
import re
import secrets
from datetime import UTC, timedelta
from functools import lru_cache

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import AccountLink, ApiToken, LoginSession, Organization, User, utcnow
from .errors import NotFound, ValidationError, _l
from .organizations import ROLES_OF_KIND
from .parse import Reader

ROLES = ("producer", "retailer", "inspector", "admin")
MIN_PASSWORD_LENGTH = 10
LINK_LIFETIME = {"invite": timedelta(days=7), "reset": timedelta(days=2)}
WARD_OFFICE = "UBND phường Thủy Nguyên"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def create_user(session: Session, organization: Organization, email: str, password: str, role: str, name="") -> User:
    user = User(organization_id=organization.id, email=email.strip().lower(), name=name,
                password_hash=_password_hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def _password_hash(password: str) -> str:
    """Werkzeug's scrypt, at its own cost (about 0.15 s a hash here) unless TRACE_PASSWORD_HASH names another
    method: the test suite's cheaper scrypt, since it hashes and checks passwords thousands of times."""
    return generate_password_hash(password, method=os.environ.get("TRACE_PASSWORD_HASH") or "scrypt")


@lru_cache(maxsize=1)
def _nobody_hash() -> str:
    """A hash no password matches, made like every user's, to check an unknown e-mail's password against."""
    return _password_hash(secrets.token_hex(16))


def authenticate(session: Session, email: str, password: str) -> User | None:
    email = (email or "").strip().lower()
    if "\x00" in email:  # PostgreSQL cannot even compare such a string
        return None
    user = session.exec(select(User).where(User.email == email)).first()
    # An unknown e-mail costs the same hashing as a known one, so the answer's time does not tell them apart.
    matches = check_password_hash(user.password_hash if user else _nobody_hash(), password or "")
    return user if user and matches else None


def start_login(session: Session, user: User, remember: bool) -> str:
    """A new login of `user`: the 'user id.token' its cookies carry (only the token's hash is stored)."""
    token = secrets.token_urlsafe(24)
    session.add(LoginSession(user_id=user.id, token_hash=_token_hash(token), remember=remember))
    session.flush()
    return f"{user.id}.{token}"


def user_of_login(session: Session, login_id: str) -> User | None:
    """The user of a login that has not ended, or None (a forged, old or logged-out cookie)."""
    user_id, _dot, token = (login_id or "").partition(".")
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 9 or not token:
        return None
    return session.exec(select(User).join(LoginSession, LoginSession.user_id == User.id).where(
        User.id == int(user_id), LoginSession.token_hash == _token_hash(token), LoginSession.ended_at.is_(None),
        User.disabled_at.is_(None))).first()


def end_login(session: Session, login_id: str) -> None:
    _user_id, _dot, token = (login_id or "").partition(".")
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == _token_hash(token))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User | str, name: str = "") -> str:
    """A new API token for the user; the plain token is returned once and never stored."""
    if isinstance(user, str):
        email = user
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise LookupError(f"no user with e-mail {email}")
    name = Reader({"name": name}).text("name", required=False, max_length=80)
    if name is None or any(character in name for character in "\t\r\n"):  # one line of `tokens list`
        raise ValidationError({"name": _l("At most %(n)s characters, no control characters.", n=80)})
    token = "trc_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), prefix=token[:8]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                              ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return user


def tokens(session: Session, user_id: int | None = None) -> list:
    """(token, its owner), oldest first: one user's, or everyone's when no user is given."""
    query = select(ApiToken, User).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.exec(query).all()


def revoke_token(session: Session, token_id, user_id: int | None = None) -> ApiToken:
    """Stop a token working; only its owner's own tokens when a user is given (the CLI may revoke any)."""
    row = session.get(ApiToken, token_id) if str(token_id).isdigit() and int(token_id) < 2**31 else None
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row


# --- passwords, one-time links, disabled accounts ---

def password_problem(password: str, confirmation: str, email: str) -> dict:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return {"password": _l("At least %(n)s characters.", n=MIN_PASSWORD_LENGTH)}
    if len(password) > 200:
        return {"password": _l("At most %(n)s characters.", n=200)}
    if password.strip().lower() == (email or "").strip().lower():
        return {"password": _l("Not your e-mail address.")}
    if password != confirmation:
        return {"password_again": _l("The two passwords differ.")}
    return {}


def end_logins(session: Session, user_id: int, keep: str | None = None) -> int:
    """End every open login of a user but `keep` (this one): their cookies stop working wherever they are."""
    _user_id, _dot, kept_token = (keep or "").partition(".")
    query = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
    if kept_token:
        query = query.where(LoginSession.token_hash != _token_hash(kept_token))
    return session.execute(query.values(ended_at=utcnow())).rowcount


def change_password(session: Session, user: User, current: str, new: str, confirmation: str, login_id: str) -> int:
    """Set a new password after checking the current one; every other login of the user ends. Returns how many."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError({"current_password": _l("This is not your current password.")})
    problem = password_problem(new, confirmation, user.email)
    if problem:
        raise ValidationError(problem)
    user.password_hash = _password_hash(new)
    session.add(user)
    return end_logins(session, user.id, keep=login_id)


def _new_link(session: Session, purpose: str, organization_id: int, email: str, role: str, name: str,
              by: User | None, user_id: int | None = None) -> tuple:
    """(link, token): only the token's hash is stored, so the token is shown once."""
    token = secrets.token_urlsafe(32)
    link = AccountLink(purpose=purpose, organization_id=organization_id, email=email, role=role, name=name,
                       user_id=user_id, token_hash=_token_hash(token), created_by_user_id=by.id if by else None,
                       expires_at=utcnow() + LINK_LIFETIME[purpose])
    session.add(link)
    session.flush()
    return link, token


def _account_fields(session: Session, organization: Organization, data) -> tuple:
    """(e-mail, role, name) of an account to open in the organization: a free e-mail, a role that fits it."""
    r = Reader(data)
    email = (r.text("email", max_length=254) or "").lower()
    if email and not EMAIL.fullmatch(email):
        r._fail("email", _l("An e-mail address, like name@example.vn."))
    role = r.choice("role", ROLES_OF_KIND.get(organization.kind, ()))
    name = r.text("name", required=False, max_length=120)
    if email and session.exec(select(User.id).where(User.email == email)).first():
        r._fail("email", _l("There is already an account with this e-mail."))
    r.done()
    return email, role, name


def invite(session: Session, by: User, organization: Organization, data) -> tuple:
    """(link, token): a one-time invitation to open an account in the organization with a role that fits it."""
    email, role, name = _account_fields(session, organization, data)
    return _new_link(session, "invite", organization.id, email, role, name, by)


def reset_password(session: Session, by: User | None, user: User) -> str:
    """A one-time link to set a new password. The old password stops working and every login ends at once:
    a reset is asked for when the password is forgotten or may be known to someone else."""
    user.password_hash = _password_hash(secrets.token_hex(16))
    session.add(user)
    end_logins(session, user.id)
    return _new_link(session, "reset", user.organization_id, user.email, user.role, user.name, by, user.id)[1]


def open_link(session: Session, token: str) -> AccountLink | None:
    """The link a token names while it can still be used: not used, not expired, its account still possible."""
    if not token or len(token) > 100:
        return None
    link = session.exec(select(AccountLink).where(AccountLink.token_hash == _token_hash(token))).first()
    if link is None or link.used_at is not None or _aware(link.expires_at) <= utcnow():
        return None
    if link.purpose == "reset":
        user = session.get(User, link.user_id)
        return link if user is not None and user.disabled_at is None else None
    return None if session.exec(select(User.id).where(User.email == link.email)).first() else link


def use_link(session: Session, token: str, data) -> User:
    """Open the invited account, or set the new password, with the password given; the link is then spent.
    Two uses at the same instant: the database lets one through."""
    link = open_link(session, token)
    if link is None:
        raise NotFound(_l("This link has expired or was already used. Ask the ward administrator for a new one."))
    r = Reader(data)
    name = r.text("name", required=False, max_length=120) if link.purpose == "invite" else None
    r.errors.update(password_problem(data.get("password", ""), data.get("password_again", ""), link.email))
    r.done()
    spent = session.execute(update(AccountLink).where(AccountLink.id == link.id, AccountLink.used_at.is_(None))
                            .values(used_at=utcnow())).rowcount
    if spent != 1:
        raise NotFound(_l("This link has expired or was already used. Ask the ward administrator for a new one."))
    if link.purpose == "reset":
        user = session.get(User, link.user_id)
        user.password_hash = _password_hash(data["password"])
        session.add(user)
        end_logins(session, user.id)
        session.flush()
        return user
    try:
        with session.begin_nested():
            organization = session.get(Organization, link.organization_id)
            return create_user(session, organization, link.email, data["password"], link.role, name or link.name)
    except IntegrityError:
        raise ValidationError({"email": _l("There is already an account with this e-mail.")}) from None


def organization_for_new_user(session: Session, organization_id: int | None, role: str) -> Organization:
    """The organization named, or for the ward's own roles its office, registered the first time it is needed."""
    if organization_id is not None:
        organization = session.get(Organization, organization_id) if 0 < organization_id < 2**31 else None
        if organization is None:
            raise NotFound(_l("No organization %(id)s.", id=organization_id))
        return organization
    if role not in ROLES_OF_KIND["authority"]:
        raise ValidationError({"organization": _l("Give the organization a %(role)s belongs to.", role=role)})
    office = session.exec(select(Organization).where(Organization.kind == "authority").order_by(Organization.id)).first()
    if office is None:
        office = Organization(kind="authority", name=WARD_OFFICE)
        session.add(office)
        session.flush()
    return office


def open_account(session: Session, organization: Organization, email: str, role: str, name: str = "") -> tuple:
    """(user, token): an account opened by the administrator, with a one-time link to set its password."""
    email, role, name = _account_fields(session, organization, {"email": email, "role": role, "name": name})
    user = create_user(session, organization, email, secrets.token_hex(16), role, name)
    return user, reset_password(session, None, user)


def user_by_email(session: Session, email: str) -> User:
    user = session.exec(select(User).where(User.email == (email or "").strip().lower())).first()
    if user is None:
        raise NotFound(_l("No account with this e-mail."))
    return user


def all_users(session: Session) -> list:
    return session.exec(select(User, Organization).join(Organization, Organization.id == User.organization_id)
                        .order_by(Organization.name, User.email)).all()


def set_disabled(session: Session, by: User, user: User, disabled: bool) -> None:
    """Disable (every login ends, tokens stop working, the password no longer logs in) or enable an account."""
    if user.id == by.id:
        raise ValidationError({"user": _l("You cannot disable your own account.")})
    user.disabled_at = utcnow() if disabled else None
    session.add(user)
    if disabled:
        end_logins(session, user.id)
    session.flush()


def users_of(session: Session, organization_id: int) -> list:
    return session.exec(select(User).where(User.organization_id == organization_id).order_by(User.email)).all()


def pending_links(session: Session, organization_id: int) -> list:
    """Links of the organization that can still be used, newest first (an invitation whose address has an account
    by now cannot)."""
    taken = select(User.id).where(User.email == AccountLink.email).exists()
    return session.exec(select(AccountLink).where(
        AccountLink.organization_id == organization_id, AccountLink.used_at.is_(None),
        AccountLink.expires_at > utcnow(), (AccountLink.purpose != "invite") | ~taken)
        .order_by(AccountLink.created_at.desc())).all()


def _aware(moment):
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
