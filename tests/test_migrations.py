"""The schema comes from Alembic migrations, and they match the models exactly (on SQLite and PostgreSQL)."""
from trace.db import get_session

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel


def test_migrations_match_the_models(app):
    engine = app.extensions["trace.engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    engine = app.extensions["trace.engine"]
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_every_table_is_created_by_the_migration(app):
    with app.app_context():
        tables = set(inspect(get_session().get_bind()).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables and "alembic_version" in tables
