"""The service on SQLite and on PostgreSQL (the `database_url` fixture runs each test on
both; PostgreSQL tests skip where no server answers): every route that reads or writes
the database, and erasure of a learner from every table the metadata holds, so a table
added later without its eraser fails here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from tutor.api import create_app
from tutor.db import make_engine
from tutor.models import Feedback, Message, QuizAttempt, QuizItem
from tutor.quiz.bank import LOW_WATER

KEYS = {"admin_key": "admin-key", "service_key": "service-key"}
ADMIN = {"Authorization": "Bearer admin-key"}
SERVICE = {"Authorization": "Bearer service-key"}


@pytest.fixture
def service(fake_tutor, database_url):
    tutor = fake_tutor(**KEYS)
    engine = make_engine(database_url)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        yield client, engine
    engine.dispose()


def bank(engine, stage: int = 1, n: int = LOW_WATER) -> list[str]:
    """Accepted multiple-choice items whose key is option 0 (enough that no top-up starts)."""
    items = [QuizItem(stage=stage, concept_id="linear-algebra", kind="mcq", question=f"Question {i}?",
                      options=json.dumps(["right", "wrong", "also wrong"]), answer="0",
                      explanation="Because.", chunk_id=f"chunk-{i}", source_title="Stage 1")
             for i in range(n)]
    with Session(engine) as session:
        session.add_all(items)
        session.commit()
        return [i.id for i in items]


def rows(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def test_chat_feedback_and_conversations(service):
    client, engine = service
    assert client.put("/api/learners/ana", json={"track": "research", "hours_per_week": 8}).status_code == 200
    first = client.post("/api/chat", json={"message": "What is the key idea of ResNet?", "learner_id": "ana",
                                           "stream": False}).json()
    streamed = client.post("/api/chat", json={"message": "And what came after it?",
                                              "conversation_id": first["conversation_id"]})
    assert streamed.status_code == 200 and "event: done" in streamed.text
    convo = client.get(f"/api/conversations/{first['conversation_id']}").json()
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant", "user", "assistant"]
    answer_id = convo["messages"][1]["id"]
    assert client.post("/api/feedback", json={"message_id": answer_id, "rating": "down",
                                              "comment": "too short"}).status_code == 201
    assert rows(engine, Message) == 4 and rows(engine, Feedback) == 1
    assert client.post("/api/feedback", json={"message_id": "nope", "rating": "up"}).status_code == 404
    openai = client.post("/v1/chat/completions", json={"model": "roadmap-tutor",
                                                      "messages": [{"role": "user", "content": "What is stage 2?"}]})
    assert openai.status_code == 200 and openai.json()["choices"][0]["message"]["content"]


def test_learners_quizzes_reviews_and_progress(service):
    client, engine = service
    bank(engine)
    assert client.put("/api/learners/ana", json={"track": "industry"}).status_code == 200
    quiz = client.post("/api/quizzes", json={"stage": 1, "count": 3, "learner_id": "ana"}).json()
    answers = [{"item_id": i["id"], "choice": 0} for i in quiz["items"]]
    graded = client.post(f"/api/quizzes/{quiz['quiz_id']}/answers", json={"learner_id": "ana", "answers": answers})
    assert graded.status_code == 200, graded.text
    assert client.post(f"/api/quizzes/{quiz['quiz_id']}/answers",
                       json={"learner_id": "ana", "answers": answers}).status_code == 409
    assert rows(engine, QuizAttempt) == 3
    later = (datetime.now(timezone.utc) + timedelta(days=60)).isoformat()
    due = client.get("/api/learners/ana/reviews", params={"until": later}).json()["due"]
    assert sorted(d["id"] for d in due) == sorted(a["item_id"] for a in answers)
    profile = client.get("/api/learners/ana").json()
    assert profile["id"] == "ana"
    assert client.get("/api/learners/ana/next").status_code == 200
    assert client.get("/api/learners/nobody/next").status_code == 404


def test_admin_panels_and_xapi(service):
    client, engine = service
    bank(engine)
    client.put("/api/learners/ana", json={})
    quiz = client.post("/api/quizzes", json={"stage": 1, "count": 2, "learner_id": "ana"}).json()
    client.post(f"/api/quizzes/{quiz['quiz_id']}/answers",
                json={"learner_id": "ana", "answers": [{"item_id": i["id"], "choice": 1} for i in quiz["items"]]})
    client.post("/api/chat", json={"message": "How do I bake sourdough bread?", "stream": False})
    for panel in ("questions", "refusals", "unanswered", "rated-down", "held-back", "weak-concepts",
                  "quiz-items", "xapi"):
        response = client.get(f"/admin/api/{panel}", headers=ADMIN)
        assert response.status_code == 200, (panel, response.text)
    assert client.get("/admin", headers=ADMIN).status_code == 200
    assert len(client.get("/admin/api/xapi", headers=ADMIN).json()["statements"]) >= 2


def test_discord_bridge_routes(service):
    client, engine = service
    bank(engine)
    user = client.post("/api/bridge/users/discord:1", headers=SERVICE).json()
    client.put("/api/learners/ana", json={})
    code = client.post("/api/learners/ana/link-codes").json()["code"]
    assert client.post("/api/bridge/users/discord:1/link", json={"code": code}, headers=SERVICE).status_code == 200
    assert client.post("/api/bridge/users/discord:1/link", json={"code": code}, headers=SERVICE).status_code == 409
    assert client.put("/api/bridge/users/discord:1/reminders", json={"remind": True},
                      headers=SERVICE).json()["remind"] is True
    claims = [client.post("/api/bridge/events/discord:i:1", headers=SERVICE).json()["first"] for _ in range(2)]
    assert claims == [True, False]
    convo = client.post("/api/chat", json={"message": "What is stage 1 about?", "stream": False}).json()
    put = client.put("/api/bridge/threads/discord:9", json={"conversation_id": convo["conversation_id"]},
                     headers=SERVICE)
    assert put.status_code == 200
    quizzes = client.post("/api/bridge/quizzes", json={"learner_id": user["learner_id"], "stage": 1, "count": 2},
                          headers=SERVICE)
    assert quizzes.status_code == 201, quizzes.text
    assert client.post("/api/bridge/reminders/claim", headers=SERVICE).status_code == 200
    assert client.delete("/api/bridge/users/discord:1", headers=SERVICE).status_code == 200


# -- erasure over every table -----------------------------------------------------------------

def _value(table, column, learner: str, made: dict):
    if column.name == "learner_id" or (table.name == "learner" and column.name == "id"):
        return learner
    for fk in column.foreign_keys:
        return made[(fk.column.table.name, learner)][fk.column.name]
    default = getattr(column.default, "arg", None)
    kind = column.type
    kind = getattr(kind, "impl_instance", kind)  # AutoString, UTCDateTime: what they decorate
    if isinstance(kind, sa.String):
        return default if isinstance(default, str) and default[:1] in "[{" else f"{table.name}-{column.name}-{learner}"
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return datetime.now(timezone.utc)
    return 1  # Integer, Float


def _owned(table, tables) -> bool:
    """Rows of this table belong to a learner: a learner_id column, or a foreign key to such a row."""
    if table.name == "learner" or "learner_id" in table.columns:
        return True
    return any(_owned(fk.column.table, tables) for c in table.columns for fk in c.foreign_keys)


def test_erasing_a_learner_empties_every_table_of_their_rows(service):
    """One row per learner in every table of the metadata (filled from the column types),
    then DELETE one learner: none of their rows remains anywhere, the other's all do."""
    client, engine = service
    tables = SQLModel.metadata.sorted_tables
    made: dict = {}
    with engine.begin() as conn:
        for table in tables:
            for learner in ("gone", "kept"):
                made[(table.name, learner)] = row = {c.name: _value(table, c, learner, made) for c in table.columns}
                conn.execute(table.insert().values(**row))
    assert client.delete("/api/learners/gone").status_code == 200
    left = {}
    with engine.connect() as conn:
        for table in tables:
            for learner in ("gone", "kept"):
                key = [table.c[c.name] == made[(table.name, learner)][c.name] for c in table.primary_key]
                left[(table.name, learner)] = conn.execute(select(func.count()).select_from(table).where(*key)).scalar()
    owned = [t.name for t in tables if _owned(t, tables)]
    assert {"learner", "conversation", "message", "feedback", "quizattempt"} <= set(owned)
    assert {name: left[(name, "gone")] for name in owned} == {name: 0 for name in owned}
    assert all(left[(t.name, "kept")] == 1 for t in tables)
