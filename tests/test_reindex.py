"""Re-indexing from the operator dashboard: `POST /admin/api/reindex` runs `tutor ingest`'s
build in the running service, which then answers from the new version without a restart.

Real parts: the embedder, ingest, FAISS/BM25 versions, SQLite, the app over HTTP (TestClient);
the LLM is the scripted extractive one.
"""

from __future__ import annotations

import threading
import time

import pytest
import yaml
from fastapi.testclient import TestClient

from ingest.build import build_index
from tests.test_ingest import tiny_roadmap, write_tree
from tutor.answer import Tutor
from tutor.api import create_app
from tutor.db import make_engine
from tutor.index import current_version, load_index
from tutor.llm.fake import FakeLLM

KEY = "reindex-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
QUESTION = "What does the quokkaword pipeline do with gradient clipping?"
NEW_NOTE = ("# Quokka notes\n\n## The quokkaword pipeline\nThe quokkaword pipeline clips gradients at a norm of 1.0 "
            "before every optimiser step. Gradient clipping keeps the quokkaword training from diverging.\n")


@pytest.fixture
def service(settings_factory, embedder, tmp_path):
    """(app, notes folder, settings): a service over a tiny corpus plus an operator folder."""
    corpus = write_tree(tmp_path / "corpus", {"roadmap.yaml": yaml.safe_dump(tiny_roadmap(), sort_keys=False)})
    notes = write_tree(tmp_path / "notes", {"a.md": "# Alpha\n\n## Plotting\nPlot every column before "
                                                    "modelling it. A histogram shows skew at once.\n"})
    settings = settings_factory(corpus_dir=corpus, admin_key=KEY)
    assert build_index(settings, [notes], embedder=embedder).version
    tutor = Tutor(settings, load_index(settings.index_dir), embedder, FakeLLM())
    app = create_app(settings, tutor=tutor, engine=make_engine(f"sqlite:///{tmp_path / 'tutor.db'}"))
    return app, notes, settings


def finished(client: TestClient, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (job := client.get("/admin/api/reindex", headers=AUTH).json())["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


def test_a_file_added_since_start_is_answered_after_a_reindex_without_a_restart(service):
    app, notes, settings = service
    with TestClient(app) as client:
        before = client.get("/healthz").json()["index_version"]
        assert client.get("/admin/api/reindex", headers=AUTH).json()["state"] == "idle"
        (notes / "b.md").write_text(NEW_NOTE)
        old = client.post("/api/chat", json={"message": QUESTION, "stream": False}).json()
        assert old["refused"] and not old["citations"]  # not indexed yet: the gate refuses it

        started = client.post("/admin/api/reindex", headers=AUTH)
        assert started.status_code == 202 and started.json()["status_url"] == "/admin/api/reindex"
        job = finished(client)
        assert job["state"] == "done" and job["new_version"] and job["error"] is None, job
        assert job["added"] == [str((notes / "b.md").resolve())] and job["embedded"] >= 1
        assert job["version"] == current_version(settings.index_dir) != before
        assert client.get("/healthz").json()["index_version"] == job["version"]

        new = client.post("/api/chat", json={"message": QUESTION, "stream": False}).json()
        assert "quokkaword" in new["answer"] and not new["refused"], new
        assert new["citations"] and all("quokka" in c["title"].lower() for c in new["citations"]), new["citations"]

        again = client.post("/admin/api/reindex", headers=AUTH)  # nothing changed: no new version
        assert again.status_code == 202
        job = finished(client)
        assert job["state"] == "done" and not job["new_version"] and job["version"] == current_version(settings.index_dir)


def test_one_reindex_at_a_time_and_a_failure_keeps_the_served_version(service, monkeypatch):
    app, notes, settings = service
    import ingest.build

    release = threading.Event()
    real = ingest.build.build_index

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest.build, "build_index", slow)
    with TestClient(app) as client:
        assert client.post("/admin/api/reindex", headers=AUTH).status_code == 202
        busy = client.post("/admin/api/reindex", headers=AUTH)
        assert busy.status_code == 409 and "already running" in busy.json()["detail"]
        release.set()
        assert finished(client)["state"] == "done"

        served = client.get("/healthz").json()["index_version"]
        (notes / "c.md").write_text("# Charlie\n\n## Late note\nA note that arrives during a failed build.\n")

        def full_disk(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(ingest.build, "build_index", full_disk)
        assert client.post("/admin/api/reindex", headers=AUTH).status_code == 202
        job = finished(client)
        assert job["state"] == "failed" and "No space left" in job["error"]
        assert client.get("/healthz").json()["index_version"] == served == current_version(settings.index_dir)
        assert client.post("/api/chat", json={"message": "How do I spot skew?", "stream": False}).status_code == 200


def test_the_reindex_route_needs_the_admin_key(service):
    app, _, _ = service
    with TestClient(app) as client:
        assert client.post("/admin/api/reindex").status_code == 401
        assert client.post("/admin/api/reindex", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/admin/api/reindex").status_code == 401


def _service_polling(settings_factory, embedder, tmp_path, every: float):
    """(app, notes folder, settings, first version): a service over a tiny corpus, polling every `every` s."""
    corpus = write_tree(tmp_path / "corpus", {"roadmap.yaml": yaml.safe_dump(tiny_roadmap(), sort_keys=False)})
    notes = write_tree(tmp_path / "notes", {"a.md": "# Alpha\n\n## Plotting\nPlot every column first.\n"})
    settings = settings_factory(corpus_dir=corpus, index_poll_seconds=every)
    before = build_index(settings, [notes], embedder=embedder).version
    assert before
    tutor = Tutor(settings, load_index(settings.index_dir), embedder, FakeLLM())
    app = create_app(settings, tutor=tutor, engine=make_engine(f"sqlite:///{tmp_path / 'tutor.db'}"))
    return app, notes, settings, before


def test_a_version_written_elsewhere_is_served_within_the_poll_interval(settings_factory, embedder, tmp_path):
    """Another replica's re-index, or `tutor ingest` beside a running service: the service
    notices CURRENT changed on the next requests and serves the new version, no restart."""
    app, notes, settings, before = _service_polling(settings_factory, embedder, tmp_path, 0.2)
    with TestClient(app) as client:
        assert client.post("/api/chat", json={"message": QUESTION, "stream": False}).json()["refused"]
        (notes / "b.md").write_text(NEW_NOTE)
        written = build_index(settings, [notes], embedder=embedder).version  # as another process would
        assert written and written != before
        deadline = time.monotonic() + 30
        while (answer := client.post("/api/chat", json={"message": QUESTION, "stream": False}).json())["refused"]:
            assert time.monotonic() < deadline, "the new version was never served"
            time.sleep(0.1)
        assert "quokkaword" in answer["answer"] and answer["citations"], answer
        assert client.get("/healthz").json()["index_version"] == written


def test_with_polling_off_the_started_version_stays(settings_factory, embedder, tmp_path):
    app, notes, settings, before = _service_polling(settings_factory, embedder, tmp_path, 0)
    with TestClient(app) as client:
        (notes / "b.md").write_text(NEW_NOTE)
        assert build_index(settings, [notes], embedder=embedder).version != before
        for _ in range(5):
            assert client.post("/api/chat", json={"message": QUESTION, "stream": False}).json()["refused"]
            time.sleep(0.1)
        assert client.get("/healthz").json()["index_version"] == before
