"""Sentence embeddings of indexed chunks, computed once per chunk and kept in memory.

Trimming the prompt and scoring support both compare against the sentences of retrieved
chunks. Those never change while an index version is loaded, so each chunk's sentences
are embedded on first use only; afterwards a request embeds just its question and its
answer. (Dictionary writes are atomic under the GIL: two threads racing on the same chunk
at worst compute it twice.)
"""

from __future__ import annotations

import numpy as np

from tutor.embed import Embedder
from tutor.text import sentences
from tutor.types import Chunk


class SentenceVectors:
    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self._cache: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}

    def get(self, chunk: Chunk) -> tuple[list[str], np.ndarray]:
        cached = self._cache.get(_key(chunk))
        if cached is None:
            parts = sentences(chunk.text) or [chunk.text]
            cached = (parts, self.embedder.encode(parts))
            self._cache[_key(chunk)] = cached
        return cached

    def warm(self, chunks: list[Chunk]) -> None:
        """Embed every missing chunk in one batch (much faster than one call per chunk)."""
        todo = [c for c in chunks if _key(c) not in self._cache]
        parts = [sentences(c.text) or [c.text] for c in todo]
        flat = [s for group in parts for s in group]
        if not flat:
            return
        vectors = self.embedder.encode(flat)
        start = 0
        for chunk, group in zip(todo, parts):
            self._cache[_key(chunk)] = (group, vectors[start:start + len(group)])
            start += len(group)


def _key(chunk: Chunk) -> tuple[str, str]:
    """Id and text: an indexed chunk's text never changes under its id, but the computed
    "what next" facts (tutor/coach.py) come as one id with a new text each time."""
    return chunk.id, chunk.text
