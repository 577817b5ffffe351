"""Alembic environment: the registry's metadata, the URL from the caller or the settings."""

from alembic import context

from registry.models import metadata

config = context.config


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from registry.db import make_engine
    from registry.settings import load_settings

    engine = make_engine(config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
