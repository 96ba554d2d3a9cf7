"""Fixtures: every test gets its own real database (SQLite file or PostgreSQL database) and keys directory.

Databases are cloned from two templates made once per run: the migrated empty schema, and the
demo ward. DATABASE_URL=postgresql+psycopg://… runs everything on PostgreSQL.
"""
import itertools
import os
import re
import shutil
from html.parser import HTMLParser
from trace import create_app
from trace.db import get_session, make_engine, session_scope, upgrade
from trace.services.demo import create_demo
from trace.services.keys import KeyStore

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Scrypt at 1/32 of its served cost: the suite hashes and checks the demo's passwords thousands of times.
os.environ.setdefault("TRACE_PASSWORD_HASH", "scrypt:1024:8:1")
BASE_URL = "http://trace.test"
DEMO_PASSWORD = "demo1234"  # the test ward's; a served demo gets a random one
ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgresql")


class Databases:
    def __init__(self, tmp):
        self.tmp = tmp
        self.counter = itertools.count()
        self.templates = {}
        if ON_POSTGRES:
            self.server = make_url(os.environ["DATABASE_URL"])
            self.admin = create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def _url(self, name):
        if ON_POSTGRES:
            return self.server.set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.tmp / (name + '.sqlite')}"

    def _create(self, name, template=None):
        if ON_POSTGRES:
            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        elif template:
            shutil.copy(self.tmp / f"{template}.sqlite", self.tmp / f"{name}.sqlite")
        return self._url(name)

    def template(self, kind):
        """('tmpl_<kind>', its keys directory), made on first use."""
        if kind not in self.templates:
            name, keys = f"tmpl_{kind}", self.tmp / f"keys_{kind}"
            engine = make_engine(self._create(name))
            upgrade(engine)
            if kind == "demo":
                with session_scope(engine) as session:
                    create_demo(session, KeyStore(keys), BASE_URL, DEMO_PASSWORD)
            engine.dispose()
            self.templates[kind] = (name, keys)
        return self.templates[kind]

    def clone(self, kind, keys_dir):
        name, keys = self.template(kind)
        if keys.exists():
            shutil.copytree(keys, keys_dir)
        return self._create(f"t{next(self.counter)}_{os.getpid()}", name)

    def drop(self, url):
        if ON_POSTGRES:
            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    return Databases(tmp_path_factory.mktemp("db"))


def _make_app(databases, tmp_path, kind, **extra):
    keys_dir = tmp_path / "keys"
    url = databases.clone(kind, keys_dir)
    app = create_app({"DATABASE_URL": url, "TRACE_KEYS_DIR": str(keys_dir), "TRACE_BASE_URL": BASE_URL,
                      "SECRET_KEY": "test-secret", "TESTING": True,
                      "TRACE_QUEUE_FILE": str(tmp_path / "queue.sqlite"), "TRACE_FILES_DIR": str(tmp_path / "files"),
                      "RATELIMIT_ENABLED": False, "TRACE_DEMO_PASSWORD_FILE": str(tmp_path / "demo-password"),
                      **extra})
    yield app
    app.extensions["trace.engine"].dispose()
    databases.drop(url)


@pytest.fixture
def app(databases, tmp_path):
    """An empty, migrated database."""
    yield from _make_app(databases, tmp_path, "empty")


@pytest.fixture
def demo_app(databases, tmp_path):
    """The demo ward, with its signing key and issued labels."""
    yield from _make_app(databases, tmp_path, "demo")


@pytest.fixture
def session(demo_app):
    """A database session on the demo ward, in the app's context (a test module may define its own)."""
    with demo_app.app_context():
        yield get_session()


def lot_named(session, code: str):
    from trace.models import Lot

    from sqlmodel import select
    return session.exec(select(Lot).where(Lot.code == code)).one()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email, password=DEMO_PASSWORD):
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post_form(client, path, data, form_page=None, **kwargs):
    """POST a form the way a browser does: with the CSRF token of the page that shows it."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)}, **kwargs)


class _Feedback(HTMLParser):
    """The fields a page marks aria-invalid, and the text of each element by id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.invalid = []  # (field name, id of its message)
        self.texts = {}
        self.open = []  # ids of the elements being read

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("aria-invalid") == "true":
            self.invalid.append((attrs.get("name"), attrs.get("aria-describedby")))
        if attrs.get("id") and tag not in ("input", "br", "img"):
            self.open.append((tag, attrs["id"]))
            self.texts[attrs["id"]] = ""

    def handle_endtag(self, tag):
        if self.open and self.open[-1][0] == tag:
            self.open.pop()

    def handle_data(self, data):
        for _, element_id in self.open:
            self.texts[element_id] += data


def field_errors(page: str) -> dict:
    """{field name: the message its aria-describedby points at} for every field the page marks aria-invalid."""
    parser = _Feedback()
    parser.feed(page)
    errors = {}
    for name, message_id in parser.invalid:
        assert name not in errors or errors[name] == parser.texts.get(message_id), f"{name} marked twice"
        errors[name] = " ".join(parser.texts.get(message_id, "(no message)").split())
    return errors


class _Texts(HTMLParser):
    def __init__(self, tags):
        super().__init__(convert_charrefs=True)
        self.tags, self.found, self.open = tags, [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.tags:
            self.open.append(len(self.found))
            self.found.append([tag, ""])

    def handle_endtag(self, tag):
        if tag in self.tags and self.open:
            self.open.pop()

    def handle_data(self, data):
        for index in self.open:
            self.found[index][1] += data


def element_texts(page: str, *tags) -> list:
    """(tag, text with whitespace collapsed) of every element of the given tags, in page order."""
    parser = _Texts(set(tags))
    parser.feed(page)
    return [(tag, " ".join(text.split())) for tag, text in parser.found]


def definitions(page: str) -> dict:
    """{term: description} of the page's <dt>/<dd> pairs."""
    items = element_texts(page, "dt", "dd")
    return {term: text for (kind, term), (_, text) in zip(items, items[1:]) if kind == "dt"}


def table_rows(app, but=()) -> dict:
    """Every row of every table (`but` those named), in primary-key order: what a refused request must leave
    exactly as it was. A request through a login or a token notes its use: leave out 'loginsession' or 'apitoken'."""
    from sqlmodel import SQLModel
    with app.app_context():
        session = get_session()
        return {name: [tuple(row) for row in session.execute(table.select().order_by(*table.primary_key.columns))]
                for name, table in SQLModel.metadata.tables.items() if name not in but}


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, started once per module."""
    from . import browsing
    if not browsing.CHROMIUM.exists():
        browsing.no_browser(f"{browsing.CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browsing.no_browser("the playwright Python package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browsing.CHROMIUM), args=browsing.CHROMIUM_ARGS)
        yield browser
        browser.close()
