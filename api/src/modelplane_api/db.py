"""Database plumbing: the declarative base, shared columns, and the engine factory.

One async engine per app (psycopg 3, pooled, with connect and statement timeouts), created by
`create_app` and disposed on shutdown. Sessions never autocommit: the request's session
dependency owns the transaction (see `deps.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, Select, Uuid, func, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from modelplane_api.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class CreatedByMixin:
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class SoftDeleteMixin:
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def create_engine(settings: Settings) -> AsyncEngine:
    """The pooled async engine for one app."""
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        # No pre-ping: it costs a round trip on every checkout. A connection that died (database
        # restart) fails one request with 503 and SQLAlchemy invalidates the pool.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Session factory; objects stay usable after commit (responses read them)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def fetch_page(
    session: AsyncSession, query: Select[*tuple[Any, ...]], *, offset: int, limit: int
) -> tuple[list[tuple[Any, ...]], int]:
    """One page of `query` and the total row count, in one round trip (`count(*) OVER ()`).

    Only a page past the end (no rows, offset > 0) needs a second query for the total.
    """
    counted = query.add_columns(func.count().over().label("page_total"))
    rows = (await session.execute(counted.offset(offset).limit(limit))).all()
    if rows:
        return [tuple(row)[:-1] for row in rows], int(rows[0][-1])
    if offset == 0:
        return [], 0
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    return [], int(total or 0)
