"""Engine, sessions and migrations. SQLite (WAL, foreign keys on) by default, PostgreSQL by URL."""
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# Tables whose rows a scan page does not show: writing them leaves cached scan facts valid.
UNSHOWN_TABLES = frozenset(("scan", "labelfile", "labelrun", "apitoken", "user", "loginsession", "accountlink",
                            "labelreport", "signingkey",
                            "revision", "alembic_version"))
WRITE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def count_revisions(engine: Engine) -> None:
    """Raise the revision once in every transaction that writes a table a scan shows, in that transaction."""

    @event.listens_for(engine, "after_cursor_execute")
    def _after(connection, _cursor, statement, _parameters, _context, _executemany):
        if connection.info.get("trace.revised") or connection.info.get("trace.migrating"):
            return
        match = WRITE.match(statement)
        if match and match.group(1).lower() not in UNSHOWN_TABLES:
            connection.info["trace.revised"] = True
            cursor = connection.connection.cursor()  # a cursor of its own: the statement's results stay readable
            try:
                cursor.execute("UPDATE revision SET value = value + 1 WHERE id = 1")
            finally:
                cursor.close()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _end(connection):
        connection.info.pop("trace.revised", None)


def make_engine(url: str, **options) -> Engine:
    engine = _make_engine(url, **options)
    count_revisions(engine)
    return engine


def _private_file(path: Path) -> None:
    """The database file readable by its owner only (SQLite gives its -wal and -shm files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_uid == os.getuid() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)


def _make_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        _private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # WAL with synchronous=NORMAL: a commit is not an fsync (the WAL is synced at checkpoints). A crash
            # of the process loses nothing; a power cut may lose the last commits, never the database.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Migrate to the latest schema, then give events recorded before hash IDs existed their CBV hash ID."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        connection.info["trace.migrating"] = True  # the revision table may not exist yet
        try:
            _migrate(connection, config, sqlite)
        finally:
            connection.info.pop("trace.migrating", None)  # info lives with the pooled connection
    from .services.epcis import backfill_hash_ids
    with session_scope(engine) as session:
        backfill_hash_ids(session)


def _migrate(connection, config: Config, sqlite: bool) -> None:
    if sqlite:  # SQLite rebuilds a table to alter it, which foreign keys would forbid; checked after
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    with connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
            raise RuntimeError("The migration left rows whose foreign keys point nowhere.")
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def get_session() -> Session:
    """The request's session, closed when the request ends."""
    if "db_session" not in g:
        g.db_session = Session(current_app.extensions["trace.engine"], expire_on_commit=False)
    return g.db_session


def close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def savepoint(session: Session):
    """A SAVEPOINT in the session's transaction: what fails inside is undone, and the caller's earlier work stays
    for it to commit or roll back.

    pysqlite opens a transaction only at the first write, so a SAVEPOINT before it would open one of its own,
    and its RELEASE would commit everything at once: the transaction is begun first."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
    with session.begin_nested():
        yield


@contextmanager
def session_scope(engine: Engine):
    """A session for CLI commands and scripts: committed on success, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
