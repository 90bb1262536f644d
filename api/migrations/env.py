"""Alembic environment: runs migrations synchronously over psycopg 3.

The URL comes from `config.attributes["database_url"]` (set by `modelplane_api.migrate`) or the
`MODELPLANE_API_DATABASE_URL` environment variable when `alembic` is run by hand.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from modelplane_api.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("MODELPLANE_API_DATABASE_URL")
    if not url:
        raise RuntimeError("set MODELPLANE_API_DATABASE_URL")
    return str(url)


def run_migrations_offline() -> None:
    """Emit SQL without a connection (`alembic upgrade --sql`)."""
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply migrations over a real connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
