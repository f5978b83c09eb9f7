"""The HTTP service with the real index, embedder and SQLite, and a scripted LLM at the
seam: SSE and JSON chat, persistence, failures kept, disconnects, feedback, the
OpenAI-compatible endpoint through the official openai client, and bad input."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.fixtures_tutor import LiveServer, served_on_every_interface
from tests.fixtures_tutor import sse_events as events
from tutor.answer import held_back_note
from tutor.models import Feedback, Message


def count(engine, model=Message) -> int:
    with Session(engine) as s:
        return len(s.exec(select(model)).all())


def test_health_readiness_and_docs(make_app):
    app, tutor, _ = make_app()
    with TestClient(app) as client:
        health = client.get("/healthz").json()
        assert health == {"status": "ok", "index_version": tutor.index.version, "backend": "fake"}
        assert client.get("/readyz").json()["ready"] is True
        paths = client.get("/openapi.json").json()["paths"]
        for path in ("/api/chat", "/v1/chat/completions"):  # JSON or a stream, as the body asks
            assert {"application/json", "text/event-stream"} <= set(paths[path]["post"]["responses"]["200"]["content"])
        assert client.get("/docs").status_code == 200


def test_chat_streams_events_in_order_and_persists(make_app):
    app, _, engine = make_app()
    with TestClient(app) as client:
        response = client.post("/api/chat", json={"message": "What is the key idea of ResNet?"})
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        got = events(response.text)
    kinds = [k for k, _ in got]
    assert kinds[0] == "meta" and kinds[-2:] == ["citations", "done"]
    assert kinds.count("token") >= 2
    meta, done = got[0][1], got[-1][1]
    assert "".join(p["text"] for k, p in got if k == "token") == done["answer"]
    assert done["citations"] and done["citations"][0]["chunk_id"].startswith("paper-resnet")
    with Session(engine) as s:
        reply = s.get(Message, meta["message_id"])
        assert reply.status == "ok" and reply.content == done["answer"]
        assert reply.conversation_id == meta["conversation_id"]


def test_a_withdrawn_answer_is_replaced_at_the_end_of_the_stream_and_stored_as_refused(make_app):
    invented = "Graduates of stage 2 receive a gold medal from the Pope in week 97 [1]."
    app, _, engine = make_app(lambda m: invented)
    with TestClient(app) as client:
        got = events(client.post("/api/chat", json={"message": "What does stage 2 cover?"}).text)
        stream = client.post("/v1/chat/completions", json={
            "stream": True, "messages": [{"role": "user", "content": "What does stage 2 cover?"}]}).text
    streamed = "".join(p["text"] for k, p in got if k == "token")
    done = got[-1][1]
    assert "medal" in streamed and done["withdrawn"] and done["refused"] and "held back" in done["answer"]
    with Session(engine) as s:
        reply = s.get(Message, got[0][1]["message_id"])
        assert reply.status == "refused" and reply.content == done["answer"]
    assert stream.endswith("\n\ndata: [DONE]\n\n")  # OpenAI's end of stream, after the last chunk
    deltas = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: {")]
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in deltas)
    assert text.endswith(done["answer"]) and deltas[-1]["withdrawn"] is True


def test_held_back_sentences_are_cut_from_the_served_answer_and_named_by_every_interface(make_app):
    invented = "Graduates of stage 2 receive a gold medal from the Pope in week 97."
    app, _, engine = make_app(lambda m: f"Stage 2 covers deep learning fundamentals with PyTorch [1]. {invented}")
    question = "What does stage 2 cover?"
    with TestClient(app) as client:
        got = events(client.post("/api/chat", json={"message": question}).text)
        plain = client.post("/api/chat", json={"message": question, "stream": False}).json()
        chat = {"messages": [{"role": "user", "content": question}]}
        stream = client.post("/v1/chat/completions", json={"stream": True, **chat}).text
        whole = client.post("/v1/chat/completions", json=chat).json()
    done = got[-1][1]
    assert "medal" in "".join(p["text"] for k, p in got if k == "token")  # the draft streamed live
    assert done["held_back"] == [invented] and "medal" not in done["answer"] and done["citations"]
    assert plain["held_back"] == [invented] and plain["answer"] == done["answer"] and not plain["withdrawn"]
    with Session(engine) as s:
        assert s.get(Message, got[0][1]["message_id"]).content == done["answer"]
    deltas = [json.loads(line[6:]) for line in stream.splitlines() if line.startswith("data: {")]
    text = "".join(d["choices"][0]["delta"].get("content", "") for d in deltas)
    assert text.endswith(held_back_note([invented])) and deltas[-1]["held_back"] == [invented]
    assert whole["choices"][0]["message"]["content"] == done["answer"] and whole["held_back"] == [invented]


def test_non_streaming_chat_and_follow_up_uses_history(make_app):
    app, tutor, _ = make_app()
    with TestClient(app) as client:
        first = client.post("/api/chat", json={"message": "What comes after stage 1?", "stream": False}).json()
        assert set(first) >= {"answer", "citations", "refused", "support", "backend", "timings",
                              "conversation_id", "message_id"}
        follow = client.post("/api/chat", json={"message": "and how long does it take?", "stream": False,
                                                 "conversation_id": first["conversation_id"]}).json()
        assert follow["conversation_id"] == first["conversation_id"]
        convo = client.get(f"/api/conversations/{first['conversation_id']}").json()
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant"] * 2
    condense_prompts = [c for c in tutor.llm.calls if "Follow-up:" in c[-1]["content"]]
    assert condense_prompts and "What comes after stage 1?" in condense_prompts[0][-1]["content"]


@pytest.mark.parametrize("body,status,reason", [
    ({"message": "   "}, 422, "empty"),
    ({"message": "x" * 501}, 413, "limit is 500"),
    ({"message": "hi there", "conversation_id": "does-not-exist"}, 404, "no conversation"),
    ({"message": "hi", "stage": 9}, 422, "stage"),
    ({"nothing": 1}, 422, "message"),
])
def test_bad_chat_input_is_rejected_before_the_model(make_app, body, status, reason):
    app, tutor, engine = make_app(max_question_chars=500)
    with TestClient(app) as client:
        response = client.post("/api/chat", json=body)
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert tutor.llm.calls == [] and count(engine) == 0


def test_malformed_json_is_422(make_app):
    app, tutor, engine = make_app()
    with TestClient(app) as client:
        response = client.post("/api/chat", content=b'{"message": ', headers={"content-type": "application/json"})
    assert response.status_code == 422 and "malformed JSON" in response.json()["detail"]
    assert tutor.llm.calls == [] and count(engine) == 0


def test_reply_failing_midway_is_kept_as_failed(make_app):
    class Boom(Exception):
        pass

    def script(messages):
        raise Boom("the model crashed")

    app, _, engine = make_app(script)
    with TestClient(app) as client:
        got = events(client.post("/api/chat", json={"message": "What is stage 3 about?"}).text)
    assert got[-1][0] == "error" and "message was kept" in got[-1][1]["message"]
    with Session(engine) as s:
        rows = s.exec(select(Message).order_by(Message.created_at)).all()
    assert [(m.role, m.status) for m in rows] == [("user", "ok"), ("assistant", "failed")]
    assert rows[0].content == "What is stage 3 about?" and "Boom" in rows[1].error


def test_client_disconnect_stops_generation(make_app):
    long_answer = " ".join(f"word{i}" for i in range(400)) + " [1]"
    app, tutor, engine = make_app(lambda m: long_answer, delay=0.02)
    with LiveServer(app) as server:
        with httpx.stream("POST", f"{server.url}/api/chat", json={"message": "What is stage 2 about?"},
                          timeout=30) as response:
            seen = 0
            for line in response.iter_lines():
                seen += line.startswith("event: token")
                if seen >= 5:
                    break
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with Session(engine) as s:
                reply = s.exec(select(Message).where(Message.role == "assistant")).first()
            if reply and reply.status == "failed":
                break
            time.sleep(0.05)
    assert reply.status == "failed" and reply.error == "client disconnected"
    sent = tutor.llm.pieces_sent
    time.sleep(0.3)
    assert tutor.llm.pieces_sent == sent < 200  # generation stopped well before 400 words


def test_feedback(make_app):
    app, _, engine = make_app()
    with TestClient(app) as client:
        answer = client.post("/api/chat", json={"message": "How long is stage 4?", "stream": False}).json()
        ok = client.post("/api/feedback", json={"message_id": answer["message_id"], "rating": "up",
                                                "comment": "clear"})
        assert ok.status_code == 201
        assert client.post("/api/feedback", json={"message_id": "nope", "rating": "up"}).status_code == 404
        assert client.post("/api/feedback", json={"message_id": answer["message_id"],
                                                  "rating": "meh"}).status_code == 422
    with Session(engine) as s:
        rows = s.exec(select(Feedback)).all()
    assert [(r.rating, r.comment) for r in rows] == [(1, "clear")]


def test_openai_client_stream_and_non_stream(make_app):
    from openai import OpenAI

    app, _, _ = make_app()
    with LiveServer(app) as server:
        client = OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        assert [m.id for m in client.models.list().data] == ["roadmap-tutor"]
        completion = client.chat.completions.create(
            model="roadmap-tutor", messages=[{"role": "user", "content": "What is the milestone of stage 2?"}])
        assert completion.choices[0].message.content
        assert completion.model_extra["citations"][0]["chunk_id"]
        stream = client.chat.completions.create(
            model="roadmap-tutor", stream=True,
            messages=[{"role": "user", "content": "Should I learn PyTorch or TensorFlow?"}])
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text and chunks[-1].choices[0].finish_reason == "stop"
        assert chunks[-1].model_extra["citations"]


def test_openai_endpoint_bad_input(make_app):
    app, tutor, _ = make_app()
    with TestClient(app) as client:
        assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 422
        last_not_user = client.post("/v1/chat/completions", json={
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
        assert last_not_user.status_code == 422 and "role 'user'" in last_not_user.json()["detail"]
    assert tutor.llm.calls == []


def test_list_items_the_answer_left_out_are_added_from_the_source_on_every_interface(make_app):
    """Session 17's reading: "Which resources for stage 3?" was answered with three of the six
    resources the prompt showed. The rest are added, cited, to the served answer; streamed
    /v1 gets them as a last delta, so its text is the served answer."""
    question = "Which resources for stage 3?"
    app, _, _ = make_app(lambda m: "The Hugging Face course and model hub are stage 3 resources [1].")
    done = served_on_every_interface(app, question)
    first, added = done["answer"].split("\n\n")
    assert first == "The Hugging Face course and model hub are stage 3 resources [1]."
    assert added == ("The roadmap also lists The Illustrated Transformer (docs), University NLP with deep "
                     "learning courses (course), Textbook chapters on sequence models (book) and BERT (2018) "
                     "(paper) [1].")
    assert [c["chunk_id"] for c in done["citations"]] == ["stage-3#2"] and not done["held_back"]
