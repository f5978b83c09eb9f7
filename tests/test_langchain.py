"""The tutor in LangChain: TutorRetriever over the real index (stage and kind filters), and
the service's /v1 endpoint as a chat model through langchain-openai's ChatOpenAI (the fake
LLM behind it: what is tested is the wiring, not the model)."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda

from tests.fixtures_tutor import LiveServer
from tutor.api import create_app
from tutor.db import make_engine
from tutor.index import load_index
from tutor.langchain import TutorRetriever
from tutor.retrieve import Retriever


@pytest.fixture(scope="module")
def retriever(corpus_index, embedder) -> TutorRetriever:
    return TutorRetriever(retriever=Retriever(load_index(corpus_index.index_dir), embedder))


def test_documents_carry_the_chunk_and_its_metadata(retriever):
    docs = retriever.invoke("What is the key idea of ResNet?")
    assert len(docs) == 4 and all(isinstance(d, Document) for d in docs)
    assert any("resnet" in (d.page_content + d.metadata["title"]).lower() for d in docs)
    first = docs[0]
    assert first.id == first.metadata["chunk_id"] and first.metadata["rank"] == 1
    assert set(first.metadata) == {"chunk_id", "doc_id", "title", "source", "kind", "stage", "concepts",
                                   "score", "rank"}


def test_stage_and_kind_filters(retriever):
    staged = retriever.model_copy(update={"stage": 2, "k": 6}).invoke("What should I read?")
    assert len(staged) == 6 and {d.metadata["stage"] for d in staged} == {2}
    papers = retriever.model_copy(update={"kinds": ("paper",)}).invoke("attention and transformers")
    assert papers and {d.metadata["kind"] for d in papers} == {"paper"}
    per_call = retriever.invoke("What is the milestone?", stage=3, kinds=("roadmap",))
    assert per_call and {(d.metadata["stage"], d.metadata["kind"]) for d in per_call} == {(3, "roadmap")}
    with pytest.raises(ValueError, match="unknown kind"):
        retriever.invoke("anything", kinds=("blog",))


def test_from_index_dir_loads_the_current_version(corpus_index, embedder):
    loaded = TutorRetriever.from_index_dir(corpus_index.index_dir, embedder=embedder, k=2)
    assert len(loaded.invoke("gradient descent")) == 2


def test_a_retrieval_chain_in_lcel(retriever):
    """The retriever composes like any LangChain runnable."""
    chain = retriever | RunnableLambda(lambda docs: "\n".join(d.metadata["chunk_id"] for d in docs))
    assert len(chain.invoke("What is stage 1 about?").splitlines()) == 4


def test_the_v1_endpoint_as_a_langchain_chat_model(fake_tutor, tmp_path):
    from langchain_openai import ChatOpenAI

    tutor = fake_tutor()
    app = create_app(tutor.settings, tutor=tutor, engine=make_engine(f"sqlite:///{tmp_path / 'tutor.db'}"))
    with LiveServer(app) as server:
        chat = ChatOpenAI(base_url=f"{server.url}/v1", api_key="unused", model="roadmap-tutor", max_retries=0)
        reply = chat.invoke("What is the key idea of ResNet?")
        assert "residual" in reply.content.lower() and "[1]" in reply.content
        streamed = "".join(chunk.content for chunk in chat.stream("What is the key idea of ResNet?"))
        assert streamed.strip() == reply.content.strip()
        prompt = ChatPromptTemplate.from_messages([("system", "You are a study buddy."),
                                                   ("human", "Question: {question}")])
        chain = prompt | chat | StrOutputParser()
        assert chain.invoke({"question": "What is the key idea of ResNet?"})
