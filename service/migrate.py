"""Applying Alembic migrations from code (the CLI, the tests), without an alembic.ini."""

from functools import lru_cache
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


@lru_cache
def heads() -> frozenset[str]:
    """The revisions this code expects the database to be at (read from the migration scripts once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
