"""First start of a facade database: migrate, then create the first admin once.

`modelplane dev up` calls `bootstrap(database_url)` and prints the returned credentials; on every
later start the admin exists and nothing is returned, so the password is shown exactly once.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import create_async_engine

from modelplane_api import migrate
from modelplane_api.auth import repository
from modelplane_api.auth.models import User
from modelplane_api.db import create_sessionmaker
from modelplane_api.security import Passwords

DEFAULT_ADMIN_EMAIL = "admin@modelplane.local"


@dataclass(frozen=True)
class AdminCredentials:
    """The first admin's sign-in; returned once, never stored in clear."""

    email: str
    password: str
    user_id: uuid.UUID


def bootstrap(
    database_url: str, *, admin_email: str = DEFAULT_ADMIN_EMAIL, admin_password: str | None = None
) -> AdminCredentials | None:
    """Apply migrations; create the first user when there is none and return its credentials."""
    migrate.upgrade(database_url)
    return asyncio.run(
        _ensure_first_user(
            database_url, admin_email.lower(), admin_password or secrets.token_urlsafe(18)
        )
    )


async def _ensure_first_user(
    database_url: str, email: str, password: str
) -> AdminCredentials | None:
    engine = create_async_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if await repository.count_users(session) > 0:
                return None
            user = User(
                id=uuid.uuid4(),
                email=email,
                display_name="Administrator",
                password_hash=Passwords().hash(password),
            )
            session.add(user)
        return AdminCredentials(email=email, password=password, user_id=user.id)
    finally:
        await engine.dispose()
