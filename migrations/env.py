"""Alembic environment: the URL comes from the caller's config or from cellprov's settings."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from service.config import Settings
from service.search.queries import include_in_comparison, include_name
from service.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().sqlalchemy_url


def run_offline() -> None:
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=include_name,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
        with engine.connect() as connection:
            _migrate(connection)
    else:
        _migrate(connectable)


def _migrate(connection: object) -> None:
    # Batch mode lets ALTERs work on SQLite, which rebuilds the table instead. The full-text index objects
    # (FTS5 tables, the tsvector column) are dialect-specific and no model declares them: autogenerate
    # leaves them alone.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=include_name,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
