"""Errors every caller (HTML form, JSON API, CLI) turns into a clear message."""


def _l(text: str, **variables):
    """flask_babel's lazy_gettext, imported on first use: the offline verifier never loads Flask."""
    from flask_babel import lazy_gettext
    return lazy_gettext(text, **variables)


class ValidationError(Exception):
    """Input that breaks a rule; `errors` maps a field name to a human message. Nothing was written."""

    def __init__(self, errors: dict):
        self.errors = {field: str(message) for field, message in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class NotFound(Exception):
    """The thing does not exist, or belongs to another organization: callers must not tell which."""

    def __init__(self, what=None):
        super().__init__(str(what or _l("Not found.")))

