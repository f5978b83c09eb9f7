"""The baseline the tutor is measured against: naive LangChain RAG over the same files.

    RecursiveCharacterTextSplitter(chunk_size=1000) over corpus/roadmap.yaml + corpus/*/*.md
    -> HuggingFaceEmbeddings (the same packaged all-MiniLM-L6-v2) -> FAISS (LangChain's
    defaults: L2 distance) -> top 4 -> "Answer the question using the context" -> the SAME
    LLM object the tutor uses (llm.stream), with the same token cap and temperature.

No condensing (a follow-up is retrieved as typed; earlier turns go to the model as chat
history), no refusal gate (it refuses only when the model says so, detected with the
tutor's own model-refusal pattern), no citations (citation metrics are N/A), the whole
1000-character chunks in the prompt. Its groundedness is measured like the tutor's: the
same SupportScorer over its answer sentences against the 4 texts it retrieved.

For retrieval metrics each baseline chunk is mapped to the index's document ids: a Markdown
file is one document (its front-matter `id`); a piece of roadmap.yaml maps to every entry
(stage, concept, quarter, track, specialisation, the roadmap itself) its characters overlap.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tutor.answer import Turn
from tutor.support import MODEL_REFUSAL
from tutor.assets import embedder_path
from tutor.support import SupportScorer
from tutor.types import Chunk, SentenceSupport

TOP_K = 4
CHUNK_SIZE = 1000
PROMPT = "Answer the question using the context.\n\nContext:\n{context}\n\nQuestion: {question}"
# roadmap.yaml section -> doc id prefix (see ingest/roadmap_docs.py)
_SECTIONS = {"stages": "stage-", "concepts": "concept-", "quarters": "quarter-", "tracks": "track-",
             "specialisations": "specialisation-"}
_ENTRY = re.compile(r"^  - id: *(\S+)\s*$", re.M)
_SECTION = re.compile(r"^(\w+):", re.M)


@dataclass
class BaselineAnswer:
    answer: str
    refused: bool
    chunks: list[Chunk]  # the 4 retrieved texts, as Chunks for the support scorer
    ranked_docs: list[list[str]]  # per retrieved chunk (top 10), the doc ids it maps to
    sentences: tuple[SentenceSupport, ...] = ()
    timings: dict = field(default_factory=dict)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The same files `tutor ingest` reads from the shipped corpus."""
    return [corpus_dir / "roadmap.yaml"] + sorted(corpus_dir.glob("*/*.md"))


def roadmap_spans(text: str, roadmap_id: str) -> list[tuple[int, str]]:
    """(start offset, doc id) of every entry of roadmap.yaml, in file order."""
    spans = [(0, roadmap_id)]
    sections = [(m.start(), m.group(1)) for m in _SECTION.finditer(text)]
    starts = [s for s, _ in sections]
    for m in _ENTRY.finditer(text):
        i = bisect_right(starts, m.start()) - 1
        prefix = _SECTIONS.get(sections[i][1]) if i >= 0 else None
        if prefix:
            spans.append((m.start(), f"{prefix}{m.group(1).strip(chr(34) + chr(39))}"))
    # text between sections that hold no entries (e.g. the header) belongs to the roadmap doc
    for start, name in sections:
        if name not in _SECTIONS:
            spans.append((start, roadmap_id))
    return sorted(spans)


def docs_of_span(spans: list[tuple[int, str]], start: int, end: int) -> list[str]:
    """Doc ids of the entries that overlap [start, end)."""
    offsets = [s for s, _ in spans]
    first = max(bisect_right(offsets, start) - 1, 0)
    last = max(bisect_right(offsets, end - 1) - 1, 0)
    return list(dict.fromkeys(d for _, d in spans[first:last + 1]))


def _front_matter_id(text: str, path: Path) -> str:
    if text.startswith("---"):
        head = text.split("---", 2)[1]
        meta = yaml.safe_load(head) or {}
        if meta.get("id"):
            return str(meta["id"])
    return path.stem


def split_corpus(corpus_dir: Path) -> list:
    """The baseline's pieces of the shipped corpus (LangChain Documents, start index and
    the doc ids they overlap in their metadata): deterministic, so a run that reuses an
    earlier run's baseline answers can recover the texts they read."""
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, add_start_index=True)
    docs = []
    for path in corpus_files(corpus_dir):
        text = path.read_text(encoding="utf-8")
        for piece in splitter.create_documents([text], metadatas=[{"source": str(path.relative_to(corpus_dir))}]):
            start = piece.metadata["start_index"]
            if path.name == "roadmap.yaml":
                roadmap_id = (yaml.safe_load(text).get("roadmap") or {}).get("id", "roadmap")
                ids = docs_of_span(roadmap_spans(text, roadmap_id), start, start + len(piece.page_content))
            else:
                ids = [_front_matter_id(text, path)]
            docs.append(Document(piece.page_content, metadata={**piece.metadata, "doc_ids": ids}))
    return docs


def chunk_id(doc) -> str:
    return f"baseline:{doc.metadata['source']}@{doc.metadata['start_index']}"


class Baseline:
    def __init__(self, corpus_dir: Path, llm, scorer: SupportScorer, *, max_tokens: int = 220,
                 temperature: float = 0.0, threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        import torch

        torch.set_num_threads(threads)
        self.llm, self.scorer = llm, scorer
        self.max_tokens, self.temperature = max_tokens, temperature
        docs = split_corpus(corpus_dir)
        self.n_chunks = len(docs)
        embeddings = HuggingFaceEmbeddings(model_name=str(embedder_path()))
        self.store = FAISS.from_documents(docs, embeddings)

    def search(self, question: str, k: int = 10):
        return self.store.similarity_search(question, k=k)

    def _chunk(self, doc) -> Chunk:
        meta = doc.metadata
        return Chunk(chunk_id(doc), meta["doc_ids"][0], doc.page_content, "", "user", meta["source"])

    def answer(self, question: str, history: list[Turn] = ()) -> BaselineAnswer:
        import time

        started = time.perf_counter()
        ranked = self.search(question, 10)
        top = [self._chunk(d) for d in ranked[:TOP_K]]
        messages = [{"role": t.role, "content": t.content} for t in history]
        context = "\n\n".join(c.text for c in top)
        messages.append({"role": "user", "content": PROMPT.format(context=context, question=question)})
        timings = {"retrieve": time.perf_counter() - started}
        text = "".join(self.llm.stream(messages, max_tokens=self.max_tokens, temperature=self.temperature)).strip()
        timings["generate"] = time.perf_counter() - started - timings["retrieve"]
        scored = tuple(self.scorer.score_sentences(text, top))
        return BaselineAnswer(text, bool(MODEL_REFUSAL.search(text)), top,
                              [d.metadata["doc_ids"] for d in ranked], scored, timings)
