"""Core types: frozen dataclasses that flow between ingest, retrieval and answering.
Pydantic appears only at the edges (settings, HTTP bodies, corpus schema)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tutor.text import study_time

KINDS = ("roadmap", "faq", "paper", "career", "guide", "user")


@dataclass(frozen=True)
class Document:
    """One logical entry: a stage, a concept, an FAQ, a paper, an operator's file."""

    id: str
    title: str
    text: str  # Markdown; `##` headings separate sections
    kind: str
    source: str  # path relative to the corpus or the operator's root
    stage: int | None = None
    concepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    id: str  # "<doc_id>#<n>", stable while the document's sections keep their order
    doc_id: str
    text: str
    title: str
    kind: str
    source: str
    stage: int | None = None
    concepts: tuple[str, ...] = ()

    @property
    def position(self) -> int:
        """Its place among its document's chunks ("faq-x#2" -> 2)."""
        tail = self.id.rpartition("#")[2]
        return int(tail) if tail.isdigit() else 0

    @property
    def embed_text(self) -> str:
        """What is embedded and BM25-indexed: the title gives a section its subject."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused reciprocal-rank score
    rank: int  # 1-based
    dense: float = 0.0  # cosine similarity to the query (0 when only BM25 found it)
    routed: bool = False  # the section the question asks for (tutor/routing.py)


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    title: str
    source: str
    stage: int | None


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str
    score: float  # 0..1
    supported: bool
    chunk_id: str | None  # the source that supports it best


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: tuple[Citation, ...]
    refused: bool
    support: float  # share of answer sentences supported by their sources
    backend: str
    question: str  # the standalone question that was answered
    timings: dict = field(default_factory=dict)
    sentences: tuple[SentenceSupport, ...] = ()
    withdrawn: str = ""  # the model's draft, when less than half of it was supported (answer.py)
    held_back: tuple[str, ...] = ()  # draft sentences left out of the served answer (answer.py)
    sources: tuple[str, ...] = ()  # ids of the chunks the prompt showed, numbered from 1
    facts: tuple[Chunk, ...] = ()  # computed material the check read beside them ("what next" steps)
    added: tuple[str, ...] = ()  # sentences composed from the sources after the draft (answer.py)

    @classmethod
    def refusal(cls, text: str, backend: str, question: str, timings: dict | None = None) -> Answer:
        """The tutor declines to answer: nothing cited, nothing claimed."""
        return cls(text, (), True, 0.0, backend, question, timings or {})

    @classmethod
    def withdrawal(cls, text: str, draft: str, scored: tuple[SentenceSupport, ...], backend: str,
                   question: str, timings: dict, citations: tuple[Citation, ...] = (),
                   sources: tuple[str, ...] = ()) -> Answer:
        """The model's draft, mostly unsupported, replaced by `text` (which may quote the
        sources it cites); the draft is kept."""
        return cls(text, citations, True, 0.0, backend, question, timings, scored, withdrawn=draft, sources=sources)

    def to_json(self) -> dict:
        """The public `tutor ask --json` shape (see DESIGN.md)."""
        return {
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "refused": self.refused,
            "withdrawn": bool(self.withdrawn),
            "held_back": list(self.held_back),
            "support": round(self.support, 3),
            "backend": self.backend,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class Step:
    """One concept to study next, and why."""

    concept_id: str
    name: str
    stage: int
    why: str
    prerequisites_done: tuple[str, ...]
    weeks: float  # estimated at the learner's pace
    resources: tuple[str, ...]

    @property
    def time(self) -> str:
        return study_time(self.weeks)


@dataclass(frozen=True)
class PaperRef:
    doc_id: str
    title: str
    stage: int | None
    concepts: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    stage: int  # the stage the learner is working in
    steps: tuple[Step, ...]
    stage_weeks_left: float
    papers: tuple[PaperRef, ...]  # summaries whose concepts are all mastered
    finished: bool = False  # every concept of the roadmap mastered

    @property
    def time_left(self) -> str:
        return study_time(self.stage_weeks_left)
