"""Hybrid retrieval: dense (FAISS) and BM25 candidates fused by reciprocal rank.

Reciprocal-rank fusion needs no score calibration between the two retrievers: a chunk's
fused score is the sum of 1/(RRF_K + rank) over the lists it appears in. Filters (stage,
kind) are applied inside both searches, so a filtered query still gets k results when
k matching chunks exist.

A question that names a stage ("stage 2", "the first stage", "stage four", "the NLP stage",
"classical ML": routing.stage_title_pattern) gets a third
list: the dense ranking within that stage's chunks. Without it "what do I need to close out
stage 1?" ranked stage 4's milestone first: the embedder barely sees the number.

A question on a section of a structured entry (a stage's milestone, a paper's result, a
track's month plan) gets that section first among its hits: tutor/routing.py.
"""

from __future__ import annotations

import re

import numpy as np

from tutor.embed import Embedder
from tutor.index import LoadedIndex
from tutor.routing import Router, named_in
from tutor.text import spellings, term_stems, terms, weeks_asked
from tutor.types import Hit

RRF_K = 60
_NUMBER = re.compile(r"\d+")
CANDIDATES = 50
_ORDINALS = {"one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
             "five": 5, "fifth": 5, "six": 6, "sixth": 6}
_STAGE_NAMED = re.compile(r"\bstage[ -]?(\d{1,2}|one|two|three|four|five|six)\b"
                          r"|\b(first|second|third|fourth|fifth|sixth|final|last) stage\b", re.I)




def stages_named(question: str, last: int = 4, weeks: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """The stage numbers a question names; `last` is what "the final stage" means. With
    `weeks` (stage -> its first and last week), "week 3" names the stage it falls in."""
    found = set()
    for number, ordinal in _STAGE_NAMED.findall(question):
        word = (number or ordinal).lower()
        found.add(int(word) if word.isdigit() else last if word in ("final", "last") else _ORDINALS[word])
    for week in weeks_asked(question) if weeks else ():
        found |= {s for s, (first, end) in weeks.items() if first <= week <= end}
    return found


def _contained(chunks) -> dict[int, set[int]]:
    """chunk -> the chunks of its own document that state every word and number it does. Such
    a chunk is retrieved as the one of those ranked best, in its place: asked "why does the
    research track care so much about statistics?", "Statistics; Writing; Novelty." (the
    track's emphasis list, repeated in its overview) and the overview took two of the four
    slots, and the FAQ section that says why got none."""
    vocab = [term_stems(c.text) | set(_NUMBER.findall(c.text)) for c in chunks]
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    return {i: within for ids in by_doc.values() for i in ids
            if (within := {j for j in ids if j != i and vocab[i] <= vocab[j]})}


class Retriever:
    def __init__(self, index: LoadedIndex, embedder: Embedder):
        import faiss

        faiss.omp_set_num_threads(1)  # single queries: threads only add overhead on 2 cores
        self.index = index
        self.embedder = embedder
        self.vectors = index.dense.reconstruct_n(0, index.dense.ntotal) if index.dense.ntotal else \
            np.zeros((0, embedder.dims), dtype=np.float32)
        self._kinds = np.array([c.kind for c in index.chunks])
        self._stages = np.array([-1 if c.stage is None else c.stage for c in index.chunks])
        self._last_stage = int(self._stages.max(initial=0))
        self.router = Router(index.chunks)
        self._within = _contained(index.chunks)

    def _mask(self, stage: int | None, kinds: tuple[str, ...] | None) -> np.ndarray | None:
        if stage is None and not kinds:
            return None
        mask = np.ones(len(self.index.chunks), dtype=bool)
        if stage is not None:
            mask &= self._stages == stage
        if kinds:
            mask &= np.isin(self._kinds, list(kinds))
        return mask

    def search(self, query: str, k: int = 4, *, stage: int | None = None,
               kinds: tuple[str, ...] | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        n = len(self.index.chunks)
        if n == 0:
            return []
        qv = self.embedder.encode_one(query) if query_vector is None else query_vector
        mask = self._mask(stage, kinds)
        if mask is not None and not mask.any():
            return []
        lists = [self._dense(qv, mask), self._bm25(query, mask)]
        named = (stages_named(query, self._last_stage, self.router.weeks)
                 | set(named_in(query, self.router.stage_names))) if stage is None else set()
        if named:
            within = np.isin(self._stages, list(named)) & (True if mask is None else mask)
            if within.any():
                lists.append(self._dense(qv, within))
        off_track = self.router.off_track(query)
        fused: dict[int, float] = {}
        for ranked in lists:
            for rank, i in enumerate((i for i in ranked if i not in off_track), 1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        routed = [i for i in self.router.routed(query, named or ({stage} if stage else set()))
                  if (mask is None or mask[i]) and i not in off_track]
        best: list[int] = []
        for i in routed + [i for i in sorted(fused, key=lambda i: (-fused[i], i)) if i not in routed]:
            fuller = [j for j in self._within.get(i, ()) if (mask is None or mask[j]) and j not in off_track]
            if fuller and i not in routed:  # what it says, said with more: that one, here
                i = max(fuller, key=lambda j: (fused.get(j, 0.0), -j))
            if i not in best:
                best.append(i)
            if len(best) == k:
                break
        cosines = self.vectors[best] @ qv
        return [Hit(self.index.chunks[i], fused.get(i, 0.0), r, float(cos), i in routed)  # routed: maybe in no list
                for r, (i, cos) in enumerate(zip(best, cosines), 1)]

    def _dense(self, qv: np.ndarray, mask: np.ndarray | None) -> list[int]:
        n = len(self.index.chunks)
        # Flat search over every row when filtering: exact, and sub-millisecond at corpus size.
        want = n if mask is not None else min(n, CANDIDATES)
        _, ids = self.index.dense.search(qv.reshape(1, -1), want)
        ranked = [int(i) for i in ids[0] if i >= 0 and (mask is None or mask[i])]
        return ranked[:CANDIDATES]

    def _bm25(self, query: str, mask: np.ndarray | None) -> list[int]:
        # each word in both its spellings: the index holds the corpus's own ("regularisation")
        tokens = [f for t in terms(query) for f in spellings(t)]
        if not tokens:
            return []
        n = len(self.index.chunks)
        weights = None if mask is None else mask.astype(np.float32)
        ids, scores = self.index.bm25.retrieve([tokens], k=min(n, CANDIDATES), show_progress=False,
                                               weight_mask=weights, n_threads=1)
        return [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]
