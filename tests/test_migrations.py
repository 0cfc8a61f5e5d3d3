"""Alembic is the only way the schema changes: its head must be exactly what the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from service import migrate
from service.config import Settings
from service.search.queries import include_in_comparison, include_name
from service.tables import metadata


def _engine(url: str):
    return create_engine(Settings(database_url=url).sqlalchemy_url)


def test_upgrade_head_gives_the_models_schema(empty_database_url):
    url = Settings(database_url=empty_database_url).sqlalchemy_url
    migrate.upgrade(url)
    engine = _engine(url)
    with engine.connect() as connection:
        # The full-text objects (FTS5 tables, the tsvector column) are outside the models by design.
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": include_name,
                "include_object": include_in_comparison,
            },
        )
        drift = compare_metadata(context, metadata)
    engine.dispose()
    assert drift == [], f"models and migrations disagree: {drift}"


def test_downgrade_base_removes_everything_and_upgrade_rebuilds_it(empty_database_url):
    url = Settings(database_url=empty_database_url).sqlalchemy_url
    migrate.upgrade(url)
    migrate.downgrade(url)
    engine = _engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    migrate.upgrade(url)
    engine = _engine(url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
