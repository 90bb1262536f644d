"""Models and migrations agree; migrations run down and up again; bootstrap creates one admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from modelplane_api.bootstrap import bootstrap
from modelplane_api.migrate import alembic_config, upgrade
from modelplane_api.models import Base
from modelplane_api.security import Passwords


@pytest.fixture
def fresh_database(postgres_admin_url: str) -> Iterator[str]:
    """An empty database of its own, dropped afterwards."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = make_url(postgres_admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_a_freshly_migrated_database_matches_the_models(fresh_database: str) -> None:
    upgrade(fresh_database)
    assert schema_diff(fresh_database) == []


def test_migrations_downgrade_to_nothing_and_upgrade_again(fresh_database: str) -> None:
    upgrade(fresh_database)
    command.downgrade(alembic_config(fresh_database), "base")
    engine = create_engine(fresh_database)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(fresh_database)
    assert schema_diff(fresh_database) == []


def test_bootstrap_creates_the_first_admin_once(fresh_database: str) -> None:
    first = bootstrap(fresh_database, admin_email="Root@Example.com")
    assert first is not None
    assert first.email == "root@example.com"
    assert len(first.password) >= 20
    assert bootstrap(fresh_database) is None
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT password_hash FROM users WHERE email = 'root@example.com'"
            ).scalar_one()
    finally:
        engine.dispose()
    assert Passwords().verify(stored, first.password)
