"""Users, passwords and API tokens (stored only as SHA-256 hashes)."""
import hashlib
import secrets
from functools import lru_cache

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ApiToken, LoginSession, Organization, User, utcnow


def create_organization(session: Session, **fields) -> Organization:
    organization = Organization(**fields)
    session.add(organization)
    session.flush()
    return organization


def create_user(session: Session, organization: Organization, email: str, password: str, role: str, name="") -> User:
    user = User(organization_id=organization.id, email=email.strip().lower(), name=name,
                password_hash=generate_password_hash(password), role=role)
    session.add(user)
    session.flush()
    return user


@lru_cache(maxsize=1)
def _nobody_hash() -> str:
    """A hash no password matches, made like every user's, to check an unknown e-mail's password against."""
    return generate_password_hash(secrets.token_hex(16))


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
        User.id == int(user_id), LoginSession.token_hash == _token_hash(token), LoginSession.ended_at.is_(None))).first()


def end_login(session: Session, login_id: str) -> None:
    _user_id, _dot, token = (login_id or "").partition(".")
    row = session.exec(select(LoginSession).where(LoginSession.token_hash == _token_hash(token))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str) -> str:
    """A new API token for the user; the plain token is returned once and never stored."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise LookupError(f"no user with e-mail {email}")
    token = "trc_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), prefix=token[:8]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_hash(token),
                                              ApiToken.revoked_at.is_(None))).first()
    if row is None:
        return None
    row.last_used_at = utcnow()
    session.add(row)
    return session.get(User, row.user_id)
