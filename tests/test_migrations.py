"""The schema comes from Alembic migrations, and they match the models exactly (on SQLite and PostgreSQL)."""
from trace.db import get_session

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from .conftest import ON_POSTGRES


def test_migrations_match_the_models(app):
    engine = app.extensions["trace.engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_the_database_refuses_a_row_whose_foreign_key_points_nowhere(app):
    """On both databases: SQLite only when foreign keys are switched on for each connection."""
    from trace.models import Site

    from sqlmodel import Session, select
    engine = app.extensions["trace.engine"]
    assert engine.dialect.name == ("postgresql" if ON_POSTGRES else "sqlite")
    with Session(engine) as session:
        session.add(Site(organization_id=999_999, name="Nowhere", kind="rice_field"))
        with pytest.raises(IntegrityError, match="(?i)foreign key"):
            session.flush()
    with Session(engine) as session:
        assert session.exec(select(Site)).all() == []


@pytest.mark.skipif(ON_POSTGRES, reason="journal mode and PRAGMA foreign_keys are SQLite settings; PostgreSQL's "
                                        "foreign keys are checked by the test above")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    engine = app.extensions["trace.engine"]
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_every_table_is_created_by_the_migration(app):
    with app.app_context():
        tables = set(inspect(get_session().get_bind()).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables and "alembic_version" in tables


def test_a_database_from_before_lineage_upgrades_with_its_data(databases):
    """Lots recorded before stock was kept are held whole by their maker; old events get their hash IDs."""
    import os
    from trace.db import alembic_config, make_engine, upgrade
    from trace.models import Event, Holding
    from trace.services import epcis

    from alembic import command
    from sqlmodel import Session, select

    url = databases._create(f"old_{os.getpid()}")
    engine = make_engine(url)
    try:
        config = alembic_config(url)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.begin() as connection:
            connection.info["trace.migrating"] = True  # an old database: no revision table to raise yet
            for statement in (
                "INSERT INTO organization (id, kind, name, address, phone, registration_number, created_at) "
                "VALUES (1, 'cooperative', 'HTX', '', '', '', '2026-01-01 00:00:00')",
                "INSERT INTO site (id, organization_id, name, kind, crop, address, created_at) "
                "VALUES (1, 1, 'Ruộng', 'rice_field', 'Lúa', '', '2026-01-01 00:00:00')",
                "INSERT INTO product (id, organization_id, gtin, name_vi, name_en, category, unit, created_at) "
                "VALUES (1, 1, '08936045000014', 'Gạo', '', '', 'kg', '2026-01-01 00:00:00')",
                "INSERT INTO batch (id, organization_id, site_id, product_id, code, started_on, created_at) "
                "VALUES (1, 1, 1, 1, 'B1', '2026-03-01', '2026-01-01 00:00:00')",
                "INSERT INTO lot (id, organization_id, product_id, batch_id, code, quantity, unit, produced_on, created_at) "
                "VALUES (1, 1, 1, 1, 'L1', 1234.5, 'kg', '2026-06-01', '2026-01-01 00:00:00')",
                "INSERT INTO event (id, organization_id, batch_id, site_id, step, epcis_type, action, biz_step, event_time, "
                "event_time_zone_offset, details, recorded_at) VALUES (1, 1, 1, 1, 'harvest', 'ObjectEvent', 'ADD', "
                "'https://ref.gs1.org/cbv/BizStep-commissioning', '2026-05-31 23:00:00', '+07:00', "
                "'{\"lot_code\": \"L1\", \"quantity\": \"1234.5\", \"unit\": \"kg\"}', '2026-06-01 00:00:00')",
                "INSERT INTO eventlot (event_id, lot_id, role, quantity, unit) VALUES (1, 1, 'output', 1234.5, 'kg')",
            ):
                connection.exec_driver_sql(statement)
            connection.info.pop("trace.migrating")
        upgrade(engine)
        with Session(engine) as session:
            (holding,) = session.exec(select(Holding)).all()
            assert (holding.lot_id, holding.organization_id, str(holding.quantity)) == (1, 1, "1234.500")
            (event,) = session.exec(select(Event)).all()
            (view,) = epcis.views(session, [event])
            assert event.hash_id == epcis.hash_of(view) and event.hash_id.startswith("ni:///sha-256;")
            assert epcis.epcis_event(view)["quantityList"] == [
                {"epcClass": "https://id.gs1.org/01/08936045000014/10/L1", "quantity": 1234.5, "uom": "KGM"}]
    finally:
        engine.dispose()
        databases.drop(url)
