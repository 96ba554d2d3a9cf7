"""Farm-to-market traceability for Thủy Nguyên ward.

The application factory lives in trace.factory. Importing the package itself loads nothing heavy, so the
offline verifier (python -m trace.offline) starts without Flask or the database layer.
"""
FACTORY_NAMES = ("create_app", "key_store", "label_bases", "LOCALES", "babel", "csrf", "login_manager",
                 "select_locale", "get_session")


def __getattr__(name):
    if name in FACTORY_NAMES:
        from . import factory
        return getattr(factory, name)
    raise AttributeError(f"module 'trace' has no attribute {name!r}")


__all__ = ["create_app", "get_session", "key_store", "label_bases"]
