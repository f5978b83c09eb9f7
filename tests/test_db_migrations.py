"""Alembic migrations of the service database, on SQLite and PostgreSQL: the revisions
build exactly the schema of tutor/models.py (autogenerate finds no drift, so a table or
column added to the models without a revision fails here), a database made before
migrations is adopted by `tutor db upgrade` without losing rows, and a database whose
schema is behind is refused at start-up with a message naming that command."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from tutor.db import SchemaBehind, connect, current_revision, head_revision, make_engine
from tutor.models import Conversation, Message

ROOT = Path(__file__).resolve().parent.parent
TUTOR = str(Path(sys.executable).with_name("tutor"))


def alembic_cli(url: str, monkeypatch) -> Config:
    """The `alembic` command line's configuration (alembic.ini), reading TUTOR_DATABASE_URL."""
    monkeypatch.setenv("TUTOR_DATABASE_URL", url)
    return Config(str(ROOT / "alembic.ini"))


def test_upgrade_head_then_check_finds_no_drift(database_url, monkeypatch):
    config = alembic_cli(database_url, monkeypatch)
    command.upgrade(config, "head")  # `alembic upgrade head`
    command.check(config)  # `alembic check`: raises if autogenerate would write anything
    engine = connect(database_url)
    assert current_revision(engine) == head_revision()
    names = set(engine.dialect.get_table_names(engine.connect()))
    assert names == set(SQLModel.metadata.tables) | {"alembic_version"}
    engine.dispose()


def test_the_index_chunk_rows_stay_out_of_the_service_schema():
    from tutor.index import ChunkRow

    assert ChunkRow.__table__.name not in SQLModel.metadata.tables
    assert ChunkRow.__table__.metadata is not SQLModel.metadata


def test_a_fresh_database_is_created_at_head(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) == head_revision()
    make_engine(database_url).dispose()  # a second open finds it current and changes nothing
    engine.dispose()


def _pre_migration_database(url: str) -> None:
    """What versions before migrations made: create_all's tables, here without the newest
    column (message.held_back) and the newest table (lease), holding one conversation."""
    engine = connect(url)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE message DROP COLUMN held_back"))
        conn.execute(text("DROP TABLE lease"))
        conn.execute(text("DROP TABLE ratecounter"))  # added by revision 0002, after migrations began
        conn.execute(text("INSERT INTO conversation (id, created_at) VALUES ('c1', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO message (id, conversation_id, role, content, status, citations, created_at) "
                          "VALUES ('m1', 'c1', 'user', 'hi', 'ok', '[]', CURRENT_TIMESTAMP)"))
    engine.dispose()


def test_a_database_from_before_migrations_is_refused_then_adopted(database_url, monkeypatch):
    _pre_migration_database(database_url)
    with pytest.raises(SchemaBehind, match="run `tutor db upgrade`"):
        make_engine(database_url)
    env = {**os.environ, "TUTOR_DATABASE_URL": database_url}
    current = subprocess.run([TUTOR, "db", "current"], env=env, capture_output=True, text=True, timeout=120)
    assert current.returncode == 1 and "run `tutor db upgrade`" in current.stdout
    upgraded = subprocess.run([TUTOR, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0 and f"database at {head_revision()} (was unversioned)" in upgraded.stdout
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert [(m.id, m.content, m.held_back) for m in session.exec(select(Message)).all()] == [("m1", "hi", None)]
        assert session.get(Conversation, "c1") is not None
    command.check(alembic_cli(database_url, monkeypatch))  # adopted means the same schema as a fresh one
    again = subprocess.run([TUTOR, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "(was" not in again.stdout
    engine.dispose()


def test_a_database_from_a_newer_version_is_refused(database_url):
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(SchemaBehind, match="does not know"):
        make_engine(database_url)
    env = {**os.environ, "TUTOR_DATABASE_URL": database_url}
    for args in (["db", "upgrade"], ["db", "current"]):
        ran = subprocess.run([TUTOR, *args], env=env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 1 and "does not know" in ran.stdout + ran.stderr
        assert "Traceback" not in ran.stderr


def test_the_service_refuses_to_start_on_a_schema_behind(corpus_index, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _pre_migration_database(url)
    env = {**os.environ, "TUTOR_DATABASE_URL": url, "TUTOR_INDEX_DIR": str(corpus_index.index_dir)}
    served = subprocess.run([TUTOR, "serve", "--backend", "fake", "--port", "1"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert served.returncode == 1
    assert "run `tutor db upgrade`" in served.stderr and "Traceback" not in served.stderr


def test_replicas_starting_on_one_empty_postgresql_create_it_once(postgres_url):
    """Two processes open an empty database at once: the advisory lock lets one create the
    schema; the other waits, then finds it at head."""
    errors = []

    def start():
        try:
            make_engine(postgres_url).dispose()
        except Exception as exc:  # reported below with its message
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    engine = connect(postgres_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_model_table_without_a_revision_is_caught(tmp_path, monkeypatch):
    """What the drift test guards: a table added to the models (here one made on the fly)
    and no revision for it makes `alembic check` fail."""
    import sqlalchemy as sa
    from alembic.util import AutogenerateDiffsDetected

    config = alembic_cli(f"sqlite:///{tmp_path / 'tutor.db'}", monkeypatch)
    command.upgrade(config, "head")
    table = sa.Table("newly_modelled", SQLModel.metadata, sa.Column("id", sa.String, primary_key=True))
    try:
        with pytest.raises(AutogenerateDiffsDetected, match="newly_modelled"):
            command.check(config)
    finally:
        SQLModel.metadata.remove(table)
    command.check(config)
