"""Database engine: SQLite in WAL mode by default (readers never wait for the writer),
any SQLAlchemy URL through TUTOR_DATABASE_URL (PostgreSQL for several replicas)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
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
    except Exception as exc:  # bad URL, missing driver, unreachable server
        raise ConfigError(f"cannot open database {url!r} ({type(exc).__name__}: {exc}); "
                          "check TUTOR_DATABASE_URL") from None
    return engine
