"""Database engine: SQLite in WAL mode by default (readers never wait for the writer),
any SQLAlchemy URL through TUTOR_DATABASE_URL (PostgreSQL for several replicas)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from tutor import models  # noqa: F401  (registers the tables)
from tutor.errors import ConfigError


def make_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(conn, _record):
                cursor = conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()
        else:
            engine = create_engine(url, pool_pre_ping=True)
        SQLModel.metadata.create_all(engine)
        _add_new_columns(engine)
    except Exception as exc:  # bad URL, missing driver, unreachable server
        raise ConfigError(f"cannot open database {url!r} ({type(exc).__name__}: {exc}); "
                          "check TUTOR_DATABASE_URL") from None
    return engine


def _add_new_columns(engine: Engine) -> None:
    """create_all makes missing tables, never missing columns: add the nullable columns a
    newer version declares to a database made by an older one (additive only; nothing is
    dropped or changed), so an existing var/tutor.db keeps working after an upgrade."""
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(engine.dialect)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
