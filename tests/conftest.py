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
