"""Serving the newest index version without a restart.

`tutor ingest` (or `POST /admin/api/reindex` on one replica) writes a new version and
switches `CURRENT` atomically (tutor/index.py). Every replica that shares the index
directory looks at `CURRENT` at most every TUTOR_INDEX_POLL_SECONDS, on the requests that
need the tutor, and when it names another version loads it on a thread and swaps in a
Tutor over it (same embedder and model). Requests keep the Tutor they started with, so an
answer's citations never mix versions; a version that fails to load is logged and the
served one stays.
"""

from __future__ import annotations

import logging
import threading
import time

from tutor.api.deps import AppState
from tutor.index import LoadedIndex, current_version, load_index

log = logging.getLogger(__name__)


def serve_index(state: AppState, index: LoadedIndex) -> None:
    """New requests answer from `index`; those in flight finish on their own Tutor."""
    from tutor.answer import Tutor

    tutor = state.tutor
    state.tutor = Tutor(state.settings, index, tutor.embedder, tutor.llm)
    state.index = index


class IndexFollower:
    def __init__(self, every: float, clock=time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._checked = clock()
        self._lock = threading.Lock()
        self._loading = False

    def poke(self, state: AppState) -> None:
        """Called per request: cheap unless a check is due (one small file read)."""
        if not self.every or state.tutor is None or self.clock() - self._checked < self.every:
            return
        with self._lock:
            if self._loading or self.clock() - self._checked < self.every:
                return
            self._checked = self.clock()
            version = current_version(state.settings.index_dir)
            if version is None or version == state.index.version:
                return
            self._loading = True
        threading.Thread(target=self._load, args=(state, version), name="index-follow", daemon=True).start()

    def _load(self, state: AppState, version: str) -> None:
        try:
            index = load_index(state.settings.index_dir)
            if index.version != state.index.version:
                serve_index(state, index)
                log.info("serving index version %s (was written elsewhere)", index.version)
        except Exception as exc:  # a half-pruned or unreadable version: keep the served one
            log.warning("index version %s not loaded: %s", version, exc)
        finally:
            with self._lock:
                self._loading = False
