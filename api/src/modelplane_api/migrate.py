"""Schema migrations (Alembic) for the facade, callable from code.

The scripts live in `api/migrations/`; wheels carry them inside the package as
`modelplane_api/_migrations` (see api/pyproject.toml), so both layouts are looked up.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def migrations_dir() -> Path:
    """Where the Alembic scripts are, installed or in the source tree."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_migrations", here.parents[1] / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("Alembic scripts of modelplane_api not found")


def alembic_config(database_url: str) -> Config:
    """An Alembic config bound to one database (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)
