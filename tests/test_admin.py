"""The operator dashboard: off without a key, 401 without or with a wrong key, every panel
and its JSON twin from a seeded database (real SQLite, the real embedder for the topic
clusters, scripted LLM), a held-back answer stored by a real chat turn, and the page in
Chromium (screenshot in tests/artifacts/admin.png)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.seed_records import REFUSED, seed
from tutor.admin.topics import cluster
from tutor.api import create_app
from tutor.db import make_engine
from tutor.llm.fake import extractive_reply
from tutor.models import Message

KEY = "s3cret-admin-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
ARTIFACTS = Path(__file__).parent / "artifacts"
PANELS = ("questions", "refusals", "unanswered", "rated-down", "held-back", "weak-concepts", "quiz-items", "xapi")


@pytest.fixture
def admin_app(fake_tutor, tmp_path):
    def make(admin_key: str | None = KEY, script=None, **overrides):
        tutor = fake_tutor(script, admin_key=admin_key, **overrides)
        engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
        return create_app(tutor.settings, tutor=tutor, engine=engine), engine
    return make


def test_no_key_means_the_admin_surface_is_off(admin_app):
    app, _ = admin_app(admin_key=None)
    with TestClient(app) as client:
        assert client.get("/admin").status_code == 404
        assert client.get("/admin/api/questions", headers=AUTH).status_code == 404
        assert client.get("/admin/api/xapi").status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
                                     {"Authorization": f"Basic {KEY}"}, {"Authorization": f"Bearer {KEY}x"}])
def test_missing_or_wrong_key_is_401(admin_app, headers):
    app, _ = admin_app()
    with TestClient(app) as client:
        for path in ["/admin", *(f"/admin/api/{p}" for p in PANELS)]:
            response = client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "TUTOR_ADMIN_KEY" in response.json()["detail"]


def test_panels_from_a_seeded_database(admin_app):
    app, engine = admin_app()
    ids = seed(engine)
    with TestClient(app) as client:
        get = lambda p: client.get(f"/admin/api/{p}", headers=AUTH)  # noqa: E731
        assert all(get(p).status_code == 200 for p in PANELS)

        questions = get("questions").json()
        assert questions["total"] == 6 + 5 + 1 + 3 and len(questions["per_day"]) == 30
        assert sum(d["refused"] for d in questions["per_day"]) == 5

        refusals = get("refusals").json()
        assert (refusals["ok"], refusals["refused"], refusals["failed"]) == (9, 5, 1)
        assert refusals["rate"] == round(5 / 14, 4)

        topics = get("unanswered").json()["topics"]
        grouped = sorted(sorted(t["questions"]) for t in topics)
        assert grouped == sorted(sorted(qs) for qs in REFUSED.values()), topics
        assert topics[0]["size"] == 3 and "gpu" in topics[0]["label"]

        down = get("rated-down").json()["answers"]
        assert [d["message_id"] for d in down] == [ids["disliked"]]
        assert down[0]["comment"] == "too short" and down[0]["sources"][0]["stage"] == 2

        held = get("held-back").json()["answers"]
        assert [h["sentences"] for h in held] == [["Stage 2 graduates receive a gold medal."]]

        weak = get("weak-concepts").json()["concepts"]
        assert [(c["concept"], c["accuracy"]) for c in weak] == [
            ("backpropagation", round(1 / 3, 4)), ("linear-algebra", round(2 / 3, 4)), ("pytorch", 1.0)]
        assert weak[0]["name"] == "Backpropagation" and weak[0]["learners"] == 3

        items = get("quiz-items").json()
        assert [i["item_id"] for i in items["most_missed"]] == [ids["items"]["hard"]]
        assert [i["item_id"] for i in items["all_pass"]] == [ids["items"]["easy"]]

        assert client.get("/admin/api/questions?days=0", headers=AUTH).status_code == 422


def test_dashboard_page_has_every_panel_and_a_strict_policy(admin_app):
    app, engine = admin_app()
    seed(engine)
    with TestClient(app) as client:
        page = client.get("/admin", headers=AUTH)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'sha256-" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store" and page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    for section in ("questions", "unanswered", "rated-down", "held-back", "weak-concepts", "quiz-items"):
        assert f'id="{section}"' in html
    assert html.count('role="img"') >= 3 and "<script" not in html
    assert "Stage 2 graduates receive a gold medal." in html and "too short" in html


def test_a_chat_turn_stores_its_held_back_sentences(admin_app):
    invented = "Graduates of stage 2 receive a gold medal from the Pope in week 97."
    app, engine = admin_app(script=lambda messages: f"{extractive_reply(messages)} {invented}")
    with TestClient(app) as client:
        body = client.post("/api/chat", json={"message": "What does stage 2 cover?", "stream": False}).json()
        assert body["held_back"] == [invented]
        held = client.get("/admin/api/held-back", headers=AUTH).json()["answers"]
    assert [h["sentences"] for h in held] == [[invented]]
    with Session(engine) as session:
        reply = session.get(Message, body["message_id"])
    assert json.loads(reply.held_back) == [invented]


def test_cluster_keeps_unlike_vectors_apart():
    vectors = np.array([[1, 0, 0], [0.96, 0.28, 0], [0, 0, 1], [0, 0.2, 0.98]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert cluster(vectors, 0.5) == [[0, 1], [2, 3]]
    assert cluster(vectors, 0.999) == [[0], [1], [2], [3]]
    assert cluster(np.zeros((0, 3), dtype=np.float32)) == []


def test_dashboard_in_chromium(admin_app, browser_page):
    from tests.widget_server import serve_app

    app, engine = admin_app()
    seed(engine)
    with serve_app(app) as base:
        page = browser_page(extra_http_headers=AUTH)
        violations = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        response = page.goto(base + "/admin")
        assert response.status == 200
        page.wait_for_load_state("load")
        assert page.locator("section").count() >= 7
        assert page.locator("#unanswered tr.topic").count() == 2
        assert page.locator("svg[role=img]").count() >= 3
        # the stylesheet applied (allowed by its hash): the header is dark
        assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(17, 24, 39)"
        assert not violations, violations
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)
        page.context.close()

        other = browser_page()  # no key: 401
        assert other.goto(base + "/admin").status == 401
        other.context.close()


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_widget import ARGS, CHROMIUM

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    def make(**options):
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, **options)
        context.set_default_timeout(15_000)
        return context.new_page()
    return make


def test_an_empty_database_renders_every_panel_empty(admin_app):
    app, _ = admin_app()
    with TestClient(app) as client:
        page = client.get("/admin/", headers=AUTH)
        assert page.status_code == 200
        assert "No refused questions in this window." in page.text and "Not enough quiz evidence yet." in page.text
        assert client.get("/admin/api/refusals", headers=AUTH).json()["rate"] is None
        assert client.get("/admin/api/unanswered", headers=AUTH).json()["topics"] == []


def test_an_older_database_gains_the_held_back_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the message table as versions before held_back made it
        db.execute("CREATE TABLE message (id VARCHAR PRIMARY KEY, conversation_id VARCHAR, role VARCHAR, "
                   "content VARCHAR, status VARCHAR, question VARCHAR, citations VARCHAR, support FLOAT, "
                   "error VARCHAR, created_at DATETIME)")
        db.execute("INSERT INTO message VALUES ('m1', 'c1', 'user', 'hi', 'ok', NULL, '[]', NULL, NULL, "
                   "'2026-11-01 10:00:00')")
    from tutor.db import connect, upgrade

    upgrade(connect(f"sqlite:///{path}"))  # `tutor db upgrade` (tests/test_db_migrations.py)
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        rows = session.exec(select(Message)).all()
    assert [(m.id, m.content, m.held_back) for m in rows] == [("m1", "hi", None)]


def test_topics_wait_for_the_embedder_but_the_page_does_not(admin_app):
    app, engine = admin_app()
    seed(engine)
    with TestClient(app) as client:
        app.state.tutor_state.tutor = None  # as while the model and embedder load at start-up
        app.state.tutor_state.load_error = None
        topics = client.get("/admin/api/unanswered", headers=AUTH)
        assert topics.status_code == 503 and "loading" in topics.json()["detail"]
        page = client.get("/admin", headers=AUTH)
        assert page.status_code == 200 and "still loading" in page.text
        assert client.get("/admin/api/refusals", headers=AUTH).json()["refused"] == 5
