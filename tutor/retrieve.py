"""Hybrid retrieval: dense (FAISS) and BM25 candidates fused by reciprocal rank.

Reciprocal-rank fusion needs no score calibration between the two retrievers: a chunk's
fused score is the sum of 1/(RRF_K + rank) over the lists it appears in. Filters (stage,
kind) are applied inside both searches, so a filtered query still gets k results when
k matching chunks exist.

A question that names a stage ("stage 2", "the first stage", "stage four") gets a third
list: the dense ranking within that stage's chunks. Without it "what do I need to close out
stage 1?" ranked stage 4's milestone first: the embedder barely sees the number.

A stage's roadmap sections (goal, week-by-week plan, resources, milestone, concepts covered,
what comes after, before: ingest/roadmap_docs.py) answer the questions learners ask most,
and fusion alone missed them, because the embedder barely tells one section of a stage from
another: "Which concepts are covered in stage 2?" ranked "Before stage 2" first and never
showed the concept list; "what should i be doing in week 3" got the set-up advice for week
1. So a question that names a stage, or a week inside one, and uses a cue word of a section
(STAGE_CUES) gets that section first among its hits (routed sections). The paper summaries
share five sections too (problem, key idea, result, why it matters, where it fits): a
question naming a paper as learners call it ("ResNet", "ViT") and a cue of a section
(PAPER_CUES) gets that section first ("what results did the ResNet paper get?").
"""

from __future__ import annotations

import re

import numpy as np

from tutor.embed import Embedder
from tutor.index import LoadedIndex
from tutor.text import stem, terms, weeks_asked, words
from tutor.types import Hit

RRF_K = 60
CANDIDATES = 50
_ORDINALS = {"one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
             "five": 5, "fifth": 5, "six": 6, "sixth": 6}
_STAGE_NAMED = re.compile(r"\bstage[ -]?(\d{1,2}|one|two|three|four|five|six)\b"
                          r"|\b(first|second|third|fourth|fifth|sixth|final|last) stage\b", re.I)


_STAGE_TITLE = re.compile(r"^Stage (\d+) \([^)]*\bweeks (\d+)-(\d+)\): (.+)$")  # a stage section's title
_STAGE_LINK = re.compile(r"^(What comes after|Before) stage \d+$", re.I)
# The words that ask for each section of a stage (the section names of ingest/roadmap_docs.py)
# and of a paper summary (corpus/papers/*.md), compared by stem.
STAGE_CUES = {
    "goal": "goal aim focus about overview name called title",  # its first sentence names the stage: "Stage 3 (Advanced ...)"
    "week-by-week plan": "week plan schedule doing happens",
    "resources": "resources books courses read reading materials tutorials",
    "milestone": "milestone close closes deliverable",  # not "finish": "finished stage 4, what next?"
    "concepts covered": "concepts topics covered cover",
    "what comes after": "after next comes",
    "before": "before builds",
}
PAPER_CUES = {
    "problem": "problem problems solve solved solves address addressed invented",
    "key idea": "idea ideas work works approach trick",
    "result": "result results achieve achieved score accuracy error benchmark win won performance",
    "why it matters": "matter matters impact important influence",
    "where it fits": "fit fits",  # not "roadmap": every question may name it
}
_ASKS_WHY = re.compile(r"\bwhy\b", re.I)
ROUTED_MAX = 2  # sections routed to one question at most


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


def sections_asked(question: str, cues: dict[str, str] = STAGE_CUES) -> list[str]:
    """The sections whose cue words the question uses, in `cues` order. A "why" question on a
    stage is not routed: the reason is not in the section that states the fact."""
    if cues is STAGE_CUES and _ASKS_WHY.search(question):
        return []
    asked = {stem(w) for w in words(question)}
    return [name for name, cue in cues.items() if asked & {stem(w) for w in cue.split()}]


def paper_names(title: str) -> list[str]:
    """What a learner calls a paper, from its summary's title: "ResNet" of "ResNet: Deep
    Residual Learning ...", "GoogLeNet" and "Inception" of "GoogLeNet / Inception: ...",
    "Vision Transformer" and "ViT" of "Vision Transformer (ViT): ..."."""
    name = title.split(": ", 1)[0]
    parts = re.split(r"\s*/\s*|\s*\(\s*(?:the\s+)?|\)", name)
    return [p.strip() for p in parts if len(p.strip()) >= 2]


def structured_sections(chunks) -> tuple[dict[int, tuple[int, int]], dict[tuple, int], dict[str, re.Pattern]]:
    """From the section titles of stage documents and paper summaries: each stage's weeks,
    the first chunk of each (stage number or paper doc id, section), and a pattern for each
    paper's names."""
    weeks, sections, papers = {}, {}, {}
    for i, c in enumerate(chunks):
        doc_title, _, section = c.title.partition(" — ")
        if c.kind == "paper" and section:
            sections.setdefault((c.doc_id, section.lower()), i)
            if c.doc_id not in papers:
                names = "|".join(re.escape(n) for n in sorted(paper_names(doc_title), key=len, reverse=True))
                papers[c.doc_id] = re.compile(rf"(?<![\w-])(?:{names})s?(?![\w-])", re.I)
        elif c.stage is not None and c.doc_id.startswith("stage-"):
            if found := _STAGE_TITLE.match(section):
                weeks[c.stage] = (int(found.group(2)), int(found.group(3)))
                sections.setdefault((c.stage, found.group(4).lower()), i)
            elif found := _STAGE_LINK.match(section):
                sections.setdefault((c.stage, found.group(1).lower()), i)
    return weeks, sections, papers


def named_in(question: str, patterns: dict[str, re.Pattern]) -> list[str]:
    """The keys of the patterns that match `question`, less those matched only inside a
    longer match ("Vision Transformer" is not also "the Transformer")."""
    spans = [(m.start(), m.end(), key) for key, p in patterns.items() for m in p.finditer(question)]
    return list(dict.fromkeys(key for a, b, key in spans
                              if not any(x <= a and b <= y and (y - x) > (b - a) for x, y, _ in spans)))


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
        self._weeks, self._sections, self._papers = structured_sections(index.chunks)

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
        named = stages_named(query, self._last_stage, self._weeks) if stage is None else set()
        if named:
            within = np.isin(self._stages, list(named)) & (True if mask is None else mask)
            if within.any():
                lists.append(self._dense(qv, within))
        fused: dict[int, float] = {}
        for ranked in lists:
            for rank, i in enumerate(ranked, 1):
                fused[i] = fused.get(i, 0.0) + 1.0 / (RRF_K + rank)
        routed = [i for i in self.routed(query, named or ({stage} if stage else set()))
                  if mask is None or mask[i]]
        best = (routed + [i for i in sorted(fused, key=lambda i: (-fused[i], i)) if i not in routed])[:k]
        cosines = self.vectors[best] @ qv
        return [Hit(self.index.chunks[i], fused.get(i, 0.0), r, float(cos))  # a routed section may be in no list
                for r, (i, cos) in enumerate(zip(best, cosines), 1)]

    def routed(self, query: str, stages: set[int]) -> list[int]:
        """The chunks of the sections `query` asks for: of the stages it names, and of the
        papers it names."""
        found = [self._sections[(s, name)] for name in sections_asked(query) for s in sorted(stages)
                 if (s, name) in self._sections]
        papers = named_in(query, self._papers)
        found += [self._sections[(doc, name)] for name in sections_asked(query, PAPER_CUES) if papers
                  for doc in papers if (doc, name) in self._sections]
        return list(dict.fromkeys(found))[:ROUTED_MAX]

    def _dense(self, qv: np.ndarray, mask: np.ndarray | None) -> list[int]:
        n = len(self.index.chunks)
        # Flat search over every row when filtering: exact, and sub-millisecond at corpus size.
        want = n if mask is not None else min(n, CANDIDATES)
        _, ids = self.index.dense.search(qv.reshape(1, -1), want)
        ranked = [int(i) for i in ids[0] if i >= 0 and (mask is None or mask[i])]
        return ranked[:CANDIDATES]

    def _bm25(self, query: str, mask: np.ndarray | None) -> list[int]:
        tokens = terms(query)
        if not tokens:
            return []
        n = len(self.index.chunks)
        weights = None if mask is None else mask.astype(np.float32)
        ids, scores = self.index.bm25.retrieve([tokens], k=min(n, CANDIDATES), show_progress=False,
                                               weight_mask=weights, n_threads=1)
        return [int(i) for i, s in zip(ids[0], scores[0]) if s > 0]
