"""Fixtures that build tutors: with a scripted LLM (orchestration) or the real packaged
model (end-to-end), plus a live HTTP server on loopback for clients that need a socket."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from tutor.answer import Tutor
from tutor.llm.fake import FakeLLM


@pytest.fixture
def fake_tutor(corpus_index, embedder):
    """make(script=None, **settings_overrides) -> Tutor over the real index with a FakeLLM."""
    from tutor.config import load_settings
    from tutor.index import load_index

    index = load_index(corpus_index.index_dir)

    def make(script=None, delay=0.0, **overrides) -> Tutor:
        settings = load_settings(index_dir=corpus_index.index_dir, **overrides)
        return Tutor(settings, index, embedder, FakeLLM(script, delay=delay))

    return make


@pytest.fixture
def make_app(fake_tutor, tmp_path):
    """make(script=None, delay=0.0, **settings) -> (app, tutor, engine) on a fresh SQLite file."""
    from tutor.api import create_app
    from tutor.db import make_engine

    def make(script=None, delay=0.0, **overrides):
        tutor = fake_tutor(script, delay=delay, **overrides)
        engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
        return create_app(tutor.settings, tutor=tutor, engine=engine), tutor, engine

    return make


def sse_events(body: str) -> list[tuple[str, dict]]:
    """(event, data) of each Server-Sent Event in a response body, in order."""
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def chat_done(make_app, question: str, draft: str) -> dict:
    """The `done` payload of /api/chat for `question`, the model scripted to write `draft`:
    what the widget shows, where a composed sentence may open the answer (streamed /v1 can
    only append it)."""
    from fastapi.testclient import TestClient

    app, _, _ = make_app(lambda m: draft)
    with TestClient(app) as client:
        return sse_events(client.post("/api/chat", json={"message": question}).text)[-1][1]


def served_on_every_interface(app, question: str) -> dict:
    """The `done` payload of /api/chat for `question`, after checking that streamed and whole
    /v1 show the same final text (composed sentences come as a last delta)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        done = sse_events(client.post("/api/chat", json={"message": question}).text)[-1][1]
        chat = {"messages": [{"role": "user", "content": question}]}
        stream = client.post("/v1/chat/completions", json={"stream": True, **chat}).text
        whole = client.post("/v1/chat/completions", json=chat).json()
    deltas = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: {")]
    assert "".join(d["choices"][0]["delta"].get("content", "") for d in deltas) == done["answer"]
    assert whole["choices"][0]["message"]["content"] == done["answer"]
    return done


@pytest.fixture(scope="session")
def real_llm():
    """The packaged default model (Qwen2.5-Coder-1.5B, llama.cpp), loaded once per session."""
    from tutor.config import load_settings
    from tutor.llm import get_llm

    llm = get_llm(load_settings(llm_backend="llamacpp"))
    yield llm
    llm.close()


@pytest.fixture(scope="session")
def real_tutor(corpus_index, embedder, real_llm) -> Tutor:
    from tutor.index import load_index

    tutor = Tutor(corpus_index, load_index(corpus_index.index_dir), embedder, real_llm)
    tutor.warm_up()
    return tutor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn on a loopback port in a thread; `url` is its base URL."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
