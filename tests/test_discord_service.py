"""The service's side of the Discord bridge (tutor/api/link.py, tutor/api/bridge.py), with
the real index and SQLite and a scripted LLM: link codes (the widget's contract), the
service key, events claimed once, threads, one-item quizzes, reminders, and erasure."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tutor.api import create_app
from tutor.db import make_engine
from tutor.models import (
    ChatEvent,
    ChatThread,
    ChatUser,
    Conversation,
    Learner,
    LinkCode,
    Mastery,
    Message,
    QuizItem,
    Review,
)

KEY = "test-service-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def service(fake_tutor, tmp_path):
    # the widget's site is listed, as its owner would (CORS is same-origin only by default)
    tutor = fake_tutor(service_key=KEY, cors_origins=["https://learner-site.example"])
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        yield client, engine


def bank(engine, stage=1, n=3) -> list[QuizItem]:
    items = [QuizItem(stage=stage, concept_id="linear-algebra", kind="mcq", question=f"Bridge question {i}?",
                      options=json.dumps(["alpha", "beta", "gamma", "delta"]), answer="1",
                      explanation=f"Because beta ({i}).", chunk_id="concept-linear-algebra#0",
                      source_title="Linear algebra", source="corpus/roadmap.yaml") for i in range(n)]
    with Session(engine) as session:
        session.add_all(items)
        session.commit()
        for item in items:
            session.refresh(item)
    return items


def rows(engine, model, **where) -> list:
    with Session(engine) as s:
        query = select(model)
        for k, v in where.items():
            query = query.where(getattr(model, k) == v)
        return list(s.exec(query).all())


def test_link_code_contract_for_the_widget(service):
    client, engine = service
    before = datetime.now(timezone.utc)
    response = client.post("/api/learners/web-ana/link-codes")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"code", "expires_at", "expires_in"}
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", body["code"])  # no 0/O/1/I
    assert body["expires_in"] == 600
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None and timedelta(seconds=590) < expires - before < timedelta(seconds=610)
    assert rows(engine, Learner, id="web-ana")  # the widget's learner exists from now on
    # the widget calls it cross-origin
    preflight = client.options("/api/learners/web-ana/link-codes", headers={
        "Origin": "https://learner-site.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200


def test_link_joins_once_and_rejects_reuse_expiry_and_typos(service):
    client, engine = service
    code = client.post("/api/learners/web-ana/link-codes").json()["code"]
    typed = f"{code[:4].lower()}-{code[4:]}"  # any case, a dash between groups
    linked = client.post("/api/bridge/users/discord:42/link", json={"code": typed}, headers=AUTH)
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"user_id": "discord:42", "learner_id": "web-ana", "previous_learner_id": "discord:42"}
    assert client.post("/api/bridge/users/discord:42", headers=AUTH).json()["learner_id"] == "web-ana"

    again = client.post("/api/bridge/users/discord:7/link", json={"code": code}, headers=AUTH)
    assert again.status_code == 409 and "already used" in again.json()["detail"]

    old = client.post("/api/learners/web-bo/link-codes").json()["code"]
    with Session(engine) as s:
        row = s.get(LinkCode, old)
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        s.add(row)
        s.commit()
    expired = client.post("/api/bridge/users/discord:7/link", json={"code": old}, headers=AUTH)
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    unknown = client.post("/api/bridge/users/discord:7/link", json={"code": "ZZZZZZZZ"}, headers=AUTH)
    assert unknown.status_code == 404 and "does not exist" in unknown.json()["detail"]
    assert rows(engine, ChatUser, id="discord:7") == []  # a failed link stores nothing


def test_bridge_routes_need_the_service_key(service, fake_tutor, tmp_path):
    client, _ = service
    assert client.post("/api/bridge/users/discord:1").status_code == 401
    wrong = client.post("/api/bridge/users/discord:1", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "TUTOR_SERVICE_KEY" in wrong.json()["detail"]
    tutor = fake_tutor()  # no key configured: the bridge is off and says how to turn it on
    app = create_app(tutor.settings, tutor=tutor, engine=make_engine(f"sqlite:///{tmp_path / 'off.db'}"))
    with TestClient(app) as off:
        response = off.post("/api/bridge/users/discord:1", headers=AUTH)
    assert response.status_code == 503 and "TUTOR_SERVICE_KEY" in response.json()["detail"]


def test_a_new_user_resolved_by_many_requests_at_once_is_one_learner(service):
    from concurrent.futures import ThreadPoolExecutor

    client, engine = service
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.post("/api/bridge/users/discord:77", headers=AUTH), range(16)))
    assert {a.status_code for a in answers} == {200}
    assert len(rows(engine, ChatUser, id="discord:77")) == 1 and len(rows(engine, Learner, id="discord:77")) == 1


def test_an_event_is_claimed_once(service):
    client, engine = service
    first = client.post("/api/bridge/events/discord:interaction:99", headers=AUTH).json()
    second = client.post("/api/bridge/events/discord:interaction:99", headers=AUTH).json()
    assert (first["first"], second["first"]) == (True, False)
    assert len(rows(engine, ChatEvent)) == 1
    with Session(engine) as s:  # a month later the row is pruned by the reminders poll
        s.add(ChatEvent(id="discord:interaction:1", created_at=datetime.now(timezone.utc) - timedelta(days=31)))
        s.commit()
    client.post("/api/bridge/reminders/claim", headers=AUTH)
    assert [e.id for e in rows(engine, ChatEvent)] == ["discord:interaction:99"]


def test_threads_remember_their_conversation(service):
    client, _ = service
    assert client.get("/api/bridge/threads/discord:5", headers=AUTH).json()["conversation_id"] is None
    done = client.post("/api/chat", json={"message": "What is the key idea of ResNet?", "stream": False}).json()
    put = client.put("/api/bridge/threads/discord:5", json={"conversation_id": done["conversation_id"]}, headers=AUTH)
    assert put.status_code == 200
    assert client.get("/api/bridge/threads/discord:5", headers=AUTH).json()["conversation_id"] == done["conversation_id"]
    missing = client.put("/api/bridge/threads/discord:6", json={"conversation_id": "nope"}, headers=AUTH)
    assert missing.status_code == 404


def test_one_item_quizzes_grade_each_button_once_and_update_the_linked_learner(service):
    client, engine = service
    bank(engine)
    code = client.post("/api/learners/web-ana/link-codes").json()["code"]
    learner = client.post("/api/bridge/users/discord:42/link", json={"code": code}, headers=AUTH).json()["learner_id"]
    quiz = client.post("/api/bridge/quizzes", json={"learner_id": learner, "stage": 1, "count": 2}, headers=AUTH)
    assert quiz.status_code == 201, quiz.text
    items = quiz.json()["items"]
    assert len(items) == 2 and len({i["quiz_id"] for i in items}) == 2
    assert all("answer" not in i and "explanation" not in i for i in items)
    one = items[0]
    graded = client.post(f"/api/quizzes/{one['quiz_id']}/answers",
                         json={"learner_id": learner, "answers": [{"item_id": one["id"], "choice": 1}]})
    assert graded.status_code == 200 and graded.json()["correct"] == 1
    twice = client.post(f"/api/quizzes/{one['quiz_id']}/answers",
                        json={"learner_id": learner, "answers": [{"item_id": one["id"], "choice": 0}]})
    assert twice.status_code == 409
    progress = client.get("/api/learners/web-ana").json()["progress"]  # what the widget shows
    assert rows(engine, Mastery, learner_id="web-ana")[0].attempts == 1
    assert any(stage.get("stage") == 1 or stage.get("id") == 1 for stage in progress)


def test_quiz_bad_stage_and_concept_are_named(service):
    client, engine = service
    bank(engine)
    nobody = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "stage": 1}, headers=AUTH)
    assert nobody.status_code == 404 and "no learner" in nobody.json()["detail"]
    client.post("/api/bridge/users/discord:1", headers=AUTH)
    by_concept = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "concept": "linear-algebra"},
                             headers=AUTH)
    assert by_concept.status_code == 201 and by_concept.json()["stage"] == 1
    assert {i["concept"] for i in by_concept.json()["items"]} == {"linear-algebra"}
    bad = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "stage": 9}, headers=AUTH)
    assert bad.status_code == 404 and "no stage 9" in bad.json()["detail"]
    concept = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "concept": "nope"}, headers=AUTH)
    assert concept.status_code == 422 and "unknown concept id 'nope'" in concept.json()["detail"]
    elsewhere = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "stage": 2,
                                                         "concept": "linear-algebra"}, headers=AUTH)
    assert elsewhere.status_code == 422 and "is in stage 1, not stage 2" in elsewhere.json()["detail"]
    none = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1"}, headers=AUTH)
    assert none.status_code == 422 and "give a stage or a concept" in none.json()["detail"]
    empty = client.post("/api/bridge/quizzes", json={"learner_id": "discord:1", "stage": 3}, headers=AUTH)
    assert empty.status_code in (404, 409, 503) and "tutor quiz build" in empty.json()["detail"]


def test_quizzes_say_how_many_were_asked_for_and_are_ready_like_the_public_route(service):
    """requested / available / message as POST /api/quizzes returns them, for a stage, a
    concept and a review (item_ids)."""
    client, engine = service
    items = bank(engine, n=2)
    client.post("/api/bridge/users/discord:5", headers=AUTH)
    full = client.post("/api/bridge/quizzes", json={"learner_id": "discord:5", "stage": 1, "count": 2},
                       headers=AUTH).json()
    assert (full["requested"], full["available"], full["message"], full["concept"]) == (2, 2, None, None)
    short = client.post("/api/bridge/quizzes", json={"learner_id": "discord:5", "concept": "linear-algebra",
                                                     "count": 5}, headers=AUTH).json()
    assert (short["requested"], short["available"], short["concept"]) == (5, 2, "linear-algebra")
    assert short["message"] == ("Only 2 of the 5 questions you asked for are ready for Linear algebra "
                                "(linear-algebra); a stage 1 quiz draws on the whole stage.")
    stage = client.post("/api/bridge/quizzes", json={"learner_id": "discord:5", "stage": 1, "count": 3},
                        headers=AUTH).json()
    assert stage["message"] == "Only 2 of the 3 questions you asked for are ready for stage 1."
    review = client.post("/api/bridge/quizzes", json={"learner_id": "discord:5", "item_ids": [items[0].id]},
                         headers=AUTH).json()
    assert (review["requested"], review["available"], review["message"]) == (1, 1, None)


def test_reminders_go_to_opted_in_learners_with_reviews_due_at_most_once_a_day(service):
    client, engine = service
    items = bank(engine, n=1)
    client.post("/api/bridge/users/discord:1", headers=AUTH)
    client.put("/api/bridge/users/discord:2/reminders", json={"remind": True}, headers=AUTH)
    client.put("/api/bridge/users/discord:3/reminders", json={"remind": True}, headers=AUTH)
    past = datetime.now(timezone.utc) - timedelta(hours=2)
    with Session(engine) as s:
        for learner in ("discord:1", "discord:2"):  # 1 is due but did not opt in; 3 opted in, nothing due
            s.add(Review(learner_id=learner, item_id=items[0].id, card="{}", due=past))
        s.commit()
    due = client.post("/api/bridge/reminders/claim", headers=AUTH).json()["due"]
    assert [(d["user_id"], d["due"]) for d in due] == [("discord:2", 1)]
    assert client.post("/api/bridge/reminders/claim", headers=AUTH).json()["due"] == []  # not twice a day


def test_forget_leaves_no_row_of_the_learner(service):
    client, engine = service
    bank(engine)
    code = client.post("/api/learners/web-ana/link-codes").json()["code"]
    client.post("/api/bridge/users/discord:42", headers=AUTH)  # a Discord-only learner first
    client.post("/api/bridge/users/discord:42/link", json={"code": code}, headers=AUTH)
    done = client.post("/api/chat", json={"message": "What is the key idea of ResNet?", "stream": False,
                                          "learner_id": "web-ana"}).json()
    client.put("/api/bridge/threads/discord:5", json={"conversation_id": done["conversation_id"],
                                                      "learner_id": "web-ana"}, headers=AUTH)
    client.post("/api/bridge/events/discord:interaction:1?learner_id=web-ana", headers=AUTH)
    item = client.post("/api/bridge/quizzes", json={"learner_id": "web-ana", "stage": 1, "count": 1},
                       headers=AUTH).json()["items"][0]
    client.post(f"/api/quizzes/{item['quiz_id']}/answers",
                json={"learner_id": "web-ana", "answers": [{"item_id": item["id"], "choice": 1}]})
    erased = client.delete("/api/bridge/users/discord:42", headers=AUTH)
    assert erased.status_code == 200 and set(erased.json()["erased"]) == {"web-ana", "discord:42"}
    for model in (Learner, ChatUser, ChatThread, ChatEvent, LinkCode, Conversation, Message, Mastery, Review):
        left = [r for r in rows(engine, model)
                if "web-ana" in (getattr(r, "learner_id", None), getattr(r, "id", None))
                or "discord:42" in (getattr(r, "learner_id", None), getattr(r, "id", None))]
        assert left == [], model.__name__
    assert rows(engine, Message) == []
    assert client.delete("/api/bridge/users/discord:42", headers=AUTH).status_code == 404
