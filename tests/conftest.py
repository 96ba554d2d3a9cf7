"""Fixtures: every test gets its own real database (SQLite file or PostgreSQL database) and keys directory.

Databases are cloned from two templates made once per run: the migrated empty schema, and the
demo ward. DATABASE_URL=postgresql+psycopg://… runs everything on PostgreSQL.
"""
import itertools
import os
import re
import shutil
from trace import create_app
from trace.db import make_engine, session_scope, upgrade
from trace.services.demo import create_demo
from trace.services.keys import KeyStore

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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
