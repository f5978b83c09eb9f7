"""Shared fixtures: the real embedder (loaded once), the shipped-corpus index (built once
per session into a temporary directory), and Settings pointed at temporary index dirs.

No test writes under the repository: every index lives in a pytest tmp directory.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything can import huggingface_hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tutor.config import Settings, load_settings  # noqa: E402
from tutor.guard import CANARY_FILE  # noqa: E402

TEST_CANARY = "rt-5ca1ab1ec0ffee5eed00"  # fixed, chosen before any run with it

pytest_plugins = ["tests.fixtures_tutor"]  # tutors with scripted or real LLMs, live server


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 embedder, loaded once (a few seconds)."""
    from tutor.embed import Embedder

    return Embedder(threads=2)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder) -> Settings:
    """Settings whose index_dir holds an index of the whole shipped corpus (built once)."""
    from ingest.build import build_index

    settings = load_settings(index_dir=tmp_path_factory.mktemp("corpus-index"))
    report = build_index(settings, embedder=embedder)
    assert report.version is not None and report.chunks > 0, report
    # One canary for every run, as a deployment has one for all its life: it leads every
    # system prompt, and with a new random one per run the packaged model's answers, and the
    # end-to-end tests' outcomes, changed from run to run (gold a-track-03 was withdrawn in
    # one run and served in the next). The canary's own tests make theirs (test_injection.py).
    (settings.index_dir / CANARY_FILE).write_text(TEST_CANARY)
    return settings


@pytest.fixture
def settings_factory(tmp_path):
    """make_settings(**overrides) -> Settings with a fresh index_dir under tmp_path
    (unless index_dir is given); other fields pass straight to load_settings."""
    made = 0

    def make_settings(**overrides) -> Settings:
        nonlocal made
        made += 1
        overrides.setdefault("index_dir", tmp_path / f"index-{made}")
        return load_settings(**overrides)

    return make_settings


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# -- databases ----------------------------------------------------------------------------
# The database tests run on SQLite and on PostgreSQL. The PostgreSQL server is the one this
# machine and CI run on loopback (trust auth); TUTOR_TEST_POSTGRES_URL names another. Each
# test gets a database of its own, created with a random name and dropped afterwards.

POSTGRES_URL = os.environ.get("TUTOR_TEST_POSTGRES_URL", "postgresql+psycopg://{user}@127.0.0.1:5432/test")


def _postgres_admin_url() -> str | None:
    """A URL that connects to the server's `test` database (as postgres, else root), or None."""
    import psycopg

    for user in ("postgres", "root"):
        url = POSTGRES_URL.format(user=user)
        try:
            with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3):
                return url
        except psycopg.Error:
            continue
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a PostgreSQL server on loopback; skips where none answers."""
    try:
        url = _postgres_admin_url()
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    if url is None:
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL.format(user='postgres|root')} (trust auth, "
                    "database `test`); start one, or set TUTOR_TEST_POSTGRES_URL to use another")
    return url


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"tutor_test_{uuid.uuid4().hex[:12]}"
    admin = postgres_server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """The URL of an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tutor.db'}"
    return request.getfixturevalue("postgres_url")
