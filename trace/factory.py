"""The application factory: configuration, database, extensions, blueprints, the job queue."""
from flask import Flask, g, has_request_context, render_template, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter, PathConverter

from .config import ROOT, from_environment
from .db import close_session, get_session, make_engine  # noqa: F401  (trace.get_session)
from .models import MAX_ID
from .services.errors import NotFound
from .services.keys import KeyStore

LOCALES = ("vi", "en")
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()


def select_locale() -> str:
    if not has_request_context():
        return "en"  # CLI output
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LOCALES) or "en"
    chosen = request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in LOCALES:
        return current_user.locale
    return "vi"


class IdConverter(IntegerConverter):
    """A database id in a URL: a larger number is simply not found, never an overflow."""

    regex = r"[0-9]+"  # ASCII digits only: \d would take '٣' and '１２'

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


class LotCodeConverter(PathConverter):
    """A lot code in a URL: its %2F arrive decoded, and one may even lead, so any run of characters."""

    regex = ".+?"
    part_isolating = False


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder=str(ROOT / "templates"))
    app.config.from_mapping(from_environment(app.instance_path))
    if config:
        app.config.update(config)
    key_store(app).check_permissions()
    app.extensions["trace.engine"] = make_engine(app.config["DATABASE_URL"])
    app.url_map.converters.update(id=IdConverter, lot=LotCodeConverter)
    app.url_map.merge_slashes = False  # a lot code may begin with '/', sent as %2F
    app.teardown_appcontext(close_session)
    from .queue import make_queue
    make_queue(app)

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"

    from . import cli
    from .api import bp as api_bp
    from .web import account, admin, auth, producer, retailer, scan, ward
    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(producer.bp)
    app.register_blueprint(retailer.bp)
    app.register_blueprint(scan.bp)
    app.register_blueprint(ward.bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    csrf.exempt(scan.report)  # anonymous and harmless to forge; a scan page may be served from cache
    register_error_handlers(app)
    from .web import filters
    filters.register(app)
    cli.register(app)
    from .limits import apply_limits
    apply_limits(app)
    compress_public_pages(app)
    secure_responses(app)
    return app


# The HTTP errors a client can meet, and the title each is answered with.
ERROR_TITLES = {400: _l("Bad request"), 403: _l("Forbidden"), 404: _l("Not found"), 405: _l("Method not allowed"),
                413: _l("Request too large"), 429: _l("Too many requests"), 500: _l("Internal error")}


def register_error_handlers(app: Flask) -> None:
    """One handler per HTTP error for the whole site: problem details under /api/, an HTML page elsewhere.

    A service's NotFound (missing, or another organization's) is a 404 like any other; the API blueprint
    answers its own ValidationError, NotFound and Forbidden with their details."""
    from .api.errors import problem

    def handler_for(code: int):
        def handler(error):
            title = str(ERROR_TITLES[code])  # in the page's language (the API's: its Accept-Language, else English)
            session = g.get("db_session")
            if session is not None:
                session.rollback()  # a failed statement must not break the error page itself
            detail = getattr(error, "description", title)
            if code == 429 and getattr(error, "response", None) is not None:
                return error.response  # a limit that says itself why (a locked account on the login page)
            headers = dict(error.get_response().headers) if code == 429 else {}  # Retry-After, X-RateLimit-*
            if code == 429:
                detail = f"Too many requests from your connection ({detail}). Wait a minute and try again."
            if request.path.startswith("/api/"):
                return problem(code, title, detail, headers=headers)
            return render_template("error.html", code=code, title=title), code, \
                {key: value for key, value in headers.items() if key.lower() != "content-type"}
        return handler

    for code in ERROR_TITLES:
        app.register_error_handler(code, handler_for(code))
    app.register_error_handler(NotFound, handler_for(404))


# No script, except our own files on the few pages that ask for them (g.own_scripts: "use my location" on the
# areas form); never inline script. Styles are inline in the page; images our own (data: kept for safety).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")


def secure_responses(app: Flask) -> None:
    """Security headers on every response, and cookies that stay on our site (and on https only, when we are)."""
    https = app.config["TRACE_BASE_URL"].startswith("https://")
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=https,
                      REMEMBER_COOKIE_SAMESITE="Lax", REMEMBER_COOKIE_SECURE=https)

    @app.after_request
    def _headers(response):
        scripts = "'self'" if g.get("own_scripts") else "'none'"
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(scripts=scripts))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")  # a label's signed URL stays with us
        if https:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


# Public pages only: a page carrying a secret (a CSRF token, a new API token) beside text an attacker can put
# in the request is not compressed (BREACH).
COMPRESSED_ENDPOINTS = ("scan.index", "scan.label", "scan.jwks_document")


def compress_public_pages(app: Flask) -> None:
    """gzip (or brotli, zstd) for the scan page and the public keys when the client accepts it: a phone on a
    slow network gets the scan page in about a third of the bytes."""
    from flask_compress import Compress
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress = Compress(app)
    for endpoint in COMPRESSED_ENDPOINTS:
        app.view_functions[endpoint] = compress.compressed()(app.view_functions[endpoint])


def key_store(app: Flask) -> KeyStore:
    return KeyStore(app.config["TRACE_KEYS_DIR"], app.config["TRACE_KEY_PASSPHRASE"])


def label_bases(app: Flask) -> tuple:
    """The base URLs our labels live under: TRACE_BASE_URL, and earlier ones kept for a domain move."""
    return (app.config["TRACE_BASE_URL"], *app.config["TRACE_OTHER_BASE_URLS"])



