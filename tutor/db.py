"""Database engine and schema: SQLite in WAL mode with a busy timeout by default (readers
never wait for the writer, writers queue for each other), any SQLAlchemy URL through
TUTOR_DATABASE_URL (PostgreSQL for several replicas).

The schema is versioned by Alembic revisions (tutor/migrations/). `make_engine` opens a
database the code can use as it is: an empty one is created at the newest revision (so a
fresh SQLite file or PostgreSQL database needs no step), one whose schema is behind is
refused with a message naming `tutor db upgrade`, which is `upgrade()` here. Upgrading is
never implicit for a database that holds data: an operator chooses when.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from tutor import models  # noqa: F401  (registers the tables)
from tutor.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant will do: every process that upgrades takes the same PostgreSQL advisory lock,
# so two replicas starting on an empty database do not both create the tables.
UPGRADE_LOCK = 53162601
# How long a SQLite writer waits for another's lock before "database is locked". Every
# connection of the service, the CLI and Alembic comes through `connect`, so gets it; each
# write transaction is short (one turn, one grading), so 50 writers at once wait far less
# (tests/test_concurrency.py).
BUSY_TIMEOUT_SECONDS = 30


class SchemaBehind(ConfigError):
    """The database's schema is older (or newer) than this code's migrations."""

    http_status = 503


def connect(url: str) -> Engine:
    """An engine on `url`, with no schema work (`tutor db` commands start here)."""
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(conn, _record):
                cursor = conn.cursor()
                # The driver's timeout sets this too; said again so no connection can miss it
                cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

            _queue_writers(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        with engine.connect():
            pass
    except Exception as exc:  # bad URL, missing driver, unreachable server
        raise ConfigError(f"cannot open database {_safe(url)!r} ({type(exc).__name__}: {_first_line(exc)}); "
                          "check TUTOR_DATABASE_URL") from None
    return engine


def _queue_writers(engine: Engine) -> None:
    """Let the threads of this process take SQLite's write lock in turn.

    SQLite's busy handler polls with sleeps of up to 100 ms, so among many waiting writers
    the ones that slept least keep winning: with 50 writers a few waited 17-19 s of the
    30 s timeout. A lock in the process, taken at the statement where SQLite takes its
    write lock (the first INSERT, UPDATE or DELETE: the driver begins the transaction
    there) and released with the transaction, makes the threads queue instead of poll;
    only one writer per process then polls SQLite. A thread that already holds it through
    another connection (nested sessions) waits out the busy timeout and goes on, as before."""
    queue = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn, _cursor, statement, _params, _context, _many):
        if "write_turn" not in conn.info and statement.lstrip()[:7].rstrip().upper() in _WRITES:
            conn.info["write_turn"] = queue.acquire(timeout=BUSY_TIMEOUT_SECONDS)

    def _give(info: dict) -> None:
        if info.pop("write_turn", False):
            queue.release()

    def _give_back(conn) -> None:
        if not conn.invalidated:  # an invalidated one gave its turn back in "invalidate" below
            _give(conn.info)

    event.listen(engine, "commit", _give_back)
    event.listen(engine, "rollback", _give_back)
    event.listen(engine.pool, "reset", lambda _dbapi, record, *_: _give(record.info))
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _give(record.info) if record else None)
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _give(record.info))  # before info is cleared


_WRITES = {"INSERT", "UPDATE", "DELETE", "REPLACE"}


def make_engine(url: str) -> Engine:
    """An engine on a database whose schema is the code's: an empty database is created at
    head; a database behind (or ahead of) the migrations raises SchemaBehind."""
    engine = connect(url)
    if is_empty(engine):
        upgrade(engine)
    check_schema(engine)
    return engine


def check_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    where = _safe(str(engine.url))
    if current is None:
        raise SchemaBehind(f"the database {where} was made before migrations (no schema revision): "
                           "run `tutor db upgrade` to bring it to this version")
    if current not in _known_revisions():
        raise SchemaBehind(f"the database {where} is at revision {current}, which this version of the tutor "
                           "does not know (a newer version migrated it): run that version, or a newer one")
    raise SchemaBehind(f"the database {where} is at revision {current}, this version needs {head}: "
                       "run `tutor db upgrade`")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; returns (before, after). Safe to run from several processes
    at once on PostgreSQL (an advisory lock serialises them; the later ones find nothing to do)."""
    from alembic import command

    before = current_revision(engine)
    if before is not None and before not in _known_revisions():
        check_schema(engine)  # a newer version's database: says so rather than fail in alembic
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
            command.upgrade(_config(conn), revision)
    except Exception as exc:  # a failed migration is rolled back where the database allows
        raise ConfigError(f"could not migrate {_safe(str(engine.url))} to {revision} "
                          f"({type(exc).__name__}: {_first_line(exc)})") from None
    return before, current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return _scripts().get_current_head()


def is_empty(engine: Engine) -> bool:
    """No tutor table and no revision: nothing to lose by creating the schema."""
    names = set(inspect(engine).get_table_names())
    return not names & (set(SQLModel.metadata.tables) | {"alembic_version"})


def _config(conn: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


@lru_cache(maxsize=1)
def _scripts():
    """The revisions on disk (read once: they do not change while a process runs)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the configured database"


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
