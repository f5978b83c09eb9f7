"""Alembic's environment for the service database (run by `tutor db upgrade` or `alembic`).

The target is SQLModel.metadata as tutor/models.py fills it; the index's chunk rows have
their own MetaData (tutor/index.py) and never appear here. tutor/db.py hands over an open
connection (config.attributes["connection"]); the `alembic` command line gets its URL
from TUTOR_DATABASE_URL like the service.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from tutor import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def configure(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table,
    # and on PostgreSQL the same batch block is a plain ALTER.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        configure(connection)
        return
    from tutor.config import load_settings
    from tutor.db import connect

    engine = connect(context.config.get_main_option("sqlalchemy.url") or load_settings().database_url)
    with engine.connect() as connection:
        configure(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `tutor db upgrade` against the database")
run()
