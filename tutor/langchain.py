"""The tutor in LangChain applications: its index as a retriever.

    from tutor.langchain import TutorRetriever
    retriever = TutorRetriever.from_index_dir("var/index", stage=2, kinds=("paper",))
    docs = retriever.invoke("What is the key idea of ResNet?")

Each Document is one chunk, its text as page_content and its chunk id, title, source,
kind, stage, concepts and fused score as metadata, from the tutor's own hybrid search
(dense + BM25, reciprocal-rank fusion, stage and kind filters inside both searches). The
filters are fields, and can also be given per call: `retriever.invoke(q, stage=3)`.

For the tutor as a chat model (its answers, grounded and cited), point langchain-openai's
ChatOpenAI at the service's /v1 endpoint; README "LangChain" shows it. Needs
langchain-core (`pip install 'roadmap-tutor[langchain]'`); the service never imports this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from tutor.retrieve import Retriever
from tutor.types import Hit

KINDS = ("roadmap", "faq", "paper", "career", "user")


class TutorRetriever(BaseRetriever):
    """A LangChain retriever over a loaded tutor index."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever = Field(description="the tutor's hybrid retriever over one index version")
    k: int = Field(4, ge=1, le=50, description="chunks per query")
    stage: int | None = Field(None, description="only chunks of this roadmap stage")
    kinds: tuple[str, ...] | None = Field(None, description=f"only chunks of these kinds: {', '.join(KINDS)}")

    @classmethod
    def from_index_dir(cls, index_dir: str | Path, *, embedder=None, **fields: Any) -> TutorRetriever:
        """Load the index's current version (and the embedder, unless given)."""
        from tutor.index import load_index

        if embedder is None:
            from tutor.embed import Embedder

            embedder = Embedder(threads=1)
        return cls(retriever=Retriever(load_index(Path(index_dir)), embedder), **fields)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                stage: int | None = None, kinds: tuple[str, ...] | None = None,
                                k: int | None = None) -> list[Document]:
        kinds = tuple(kinds) if kinds else self.kinds
        unknown = set(kinds or ()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kind(s) {sorted(unknown)}; choose from {', '.join(KINDS)}")
        hits = self.retriever.search(query, k or self.k, stage=self.stage if stage is None else stage, kinds=kinds)
        return [document(hit) for hit in hits]


def document(hit: Hit) -> Document:
    chunk = hit.chunk
    return Document(page_content=chunk.text, id=chunk.id,
                    metadata={"chunk_id": chunk.id, "doc_id": chunk.doc_id, "title": chunk.title,
                              "source": chunk.source, "kind": chunk.kind, "stage": chunk.stage,
                              "concepts": list(chunk.concepts), "score": hit.score, "rank": hit.rank})
