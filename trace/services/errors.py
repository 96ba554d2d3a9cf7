"""Errors every caller (HTML form, JSON API, CLI) turns into a clear message."""
from flask_babel import lazy_gettext as _l


class ValidationError(Exception):
    """Input that breaks a rule; `errors` maps a field name to a human message. Nothing was written."""

    def __init__(self, errors: dict):
        self.errors = {field: str(message) for field, message in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class NotFound(Exception):
    """The thing does not exist, or belongs to another organization: callers must not tell which."""

    def __init__(self, what=None):
        super().__init__(str(what or _l("Not found.")))

