"""Bearer-token authentication for the API: `Authorization: Bearer trc_…`, and the roles a route admits."""
from functools import wraps

from flask import g, request

from ..db import get_session
from ..services import accounts
from . import errors

# Organizations that hold goods: they ship, receive, store, unpack, destroy and capture EPCIS documents.
HOLDERS = ("producer", "retailer")


def token_user():
    """The user whose API token the request carries, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return accounts.user_for_token(get_session(), token.strip())


def token_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = token_user()
        if user is None:
            return errors.problem(401, "Unauthorized", "Send 'Authorization: Bearer <token>' with a valid API token.")
        get_session().commit()  # the token's last use
        g.api_user = user
        return view(*args, **kwargs)
    return wrapped


def role_required(*roles):
    def decorator(view):
        @wraps(view)
        @token_required
        def wrapped(*args, **kwargs):
            if g.api_user.role not in roles:
                return errors.problem(403, "Forbidden", f"Only a {' or '.join(roles)} may do this.")
            return view(*args, **kwargs)
        return wrapped
    return decorator


producer_required = role_required("producer")


def organization_id() -> int:
    """The organization of the token's user: everything a route records or lists is its."""
    return g.api_user.organization_id


def inspecting() -> bool:
    """An inspector sees every organization's data."""
    return g.api_user.role == "inspector"
