"""Re-indexing from the operator dashboard (`POST /admin/api/reindex`).

It runs what `tutor ingest` runs: `ingest.build.build_index` over the shipped corpus and the
operator roots the index remembers, then the shipped quiz bank of the live version. One job
at a time per process, on a worker thread, so the request answers 202 at once and
`GET /admin/api/reindex` shows the progress. When a new version is written this process
answers from it: a new Tutor over the new index (same embedder and model) replaces the old
one for new requests, and requests in flight finish on the version they started with, so
one answer's citations never mix versions. Other replicas serve it within
TUTOR_INDEX_POLL_SECONDS (tutor/api/follow.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from tutor.api.deps import AppState


@dataclass
class ReindexJob:
    state: str = "idle"  # idle, running, done, failed
    started: float | None = None
    finished: float | None = None
    version: str | None = None  # the version now served; None while running
    new_version: bool = False  # whether this run wrote one (unchanged files write none)
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None

    def json(self) -> dict:
        return {**asdict(self), "status_url": "/admin/api/reindex"}


class Reindexer:
    def __init__(self) -> None:
        self._running = threading.Lock()
        self.job = ReindexJob()

    def start(self, state: AppState) -> bool:
        """Start a job on a worker thread; False when one is already running."""
        if not self._running.acquire(blocking=False):
            return False
        self.job = ReindexJob(state="running", started=time.time())
        threading.Thread(target=self._run, args=(state,), name="reindex", daemon=True).start()
        return True

    def _run(self, state: AppState) -> None:
        from ingest.build import build_index
        from tutor.api.follow import serve_index
        from tutor.index import load_index
        from tutor.quiz.shipped import load_shipped

        job = self.job
        try:
            tutor = state.tutor  # loaded: the route refuses while the model is still loading
            report = build_index(state.settings, embedder=tutor.embedder)
            if report.version:
                serve_index(state, load_index(state.settings.index_dir))
            load_shipped(state.engine, state.settings.corpus_dir, state.index.chunks)
            job.version, job.new_version = state.index.version, report.version is not None
            job.files, job.chunks, job.embedded = report.files, report.chunks, report.embedded
            job.added, job.changed, job.removed = report.added, report.changed, report.removed
            job.skipped = [f"{source}: {reason}" for source, reason in report.skipped]
            job.state = "done"
        except Exception as exc:  # the live version is untouched (index.py writes atomically)
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished = time.time()
            self._running.release()
