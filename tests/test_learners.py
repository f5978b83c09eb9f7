"""Learners: BKT mastery, the pure "what next" function, progress, profile routes, the
chat intent, and erasure. Real SQLite, real index and embedder, scripted LLM."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tutor.api import create_app
from tutor.db import make_engine
from tutor.mastery import MASTERED, PRIOR, bkt_update, record_answer
from tutor.models import Conversation, Learner, Mastery, Message
from tutor.next_step import progress, recommend
from tutor.roadmap import load_roadmap
from tutor.types import PaperRef


@pytest.fixture(scope="module")
def roadmap(repo_root):
    return load_roadmap(repo_root / "corpus" / "roadmap.yaml")


def stage_ids(roadmap, stage):
    return {c.id for c in roadmap.concepts if c.stage == stage}


def test_bkt_four_correct_answers_master_a_concept_and_wrong_ones_undo_it():
    p = PRIOR
    for _ in range(3):
        p = bkt_update(p, True)
        assert p < MASTERED
    p = bkt_update(p, True)
    assert p >= MASTERED
    assert bkt_update(bkt_update(p, False), False) < MASTERED
    assert bkt_update(PRIOR, True, "tf") < bkt_update(PRIOR, True, "mcq")  # guessing is easier


def test_fresh_learner_starts_with_stage_1_roots(roadmap):
    rec = recommend(roadmap, set(), set(), "industry", 15)
    assert rec.stage == 1 and rec.steps
    assert all(s.stage == 1 and s.prerequisites_done == () for s in rec.steps)
    assert "starting point" in rec.steps[0].why


def test_mastered_stage_1_moves_the_learner_to_stage_2(roadmap):
    done = stage_ids(roadmap, 1)
    rec = recommend(roadmap, done, set(), "industry", 15)
    assert rec.stage == 2 and all(s.stage == 2 for s in rec.steps)
    for s in rec.steps:
        assert set(s.prerequisites_done) <= done and "prerequisites are done" in s.why
        assert s.resources  # the stage's resources come along


def test_same_inputs_same_recommendation(roadmap):
    args = (roadmap, {"python-programming", "linear-algebra"}, {"numpy"}, "research", 12)
    assert recommend(*args) == recommend(*args)


def test_started_and_track_and_pace_shape_the_order(roadmap):
    started = recommend(roadmap, set(), {"calculus"}, "industry", 15)
    assert started.steps[0].concept_id == "calculus" and "already started" in started.steps[0].why
    research = recommend(roadmap, set(), set(), "research", 15)
    assert "research track" in research.steps[0].why
    slow, fast = recommend(roadmap, set(), set(), "industry", 5), recommend(roadmap, set(), set(), "industry", 20)
    assert slow.steps[0].weeks == pytest.approx(fast.steps[0].weeks * 4, rel=0.1)


def test_papers_are_offered_once_their_concepts_are_mastered(roadmap):
    paper = PaperRef("paper-resnet", "ResNet", 2, ("residual-networks", "cnn"))
    assert recommend(roadmap, set(), set(), "industry", 15, [paper]).papers == ()
    done = stage_ids(roadmap, 1) | {"residual-networks", "cnn"}
    assert recommend(roadmap, done, set(), "industry", 15, [paper]).papers == (paper,)


def test_everything_mastered_is_finished(roadmap):
    rec = recommend(roadmap, set(roadmap.concept_by_id), set(), "industry", 15)
    assert rec.finished and rec.steps == ()


def test_progress_view(roadmap):
    one = sorted(stage_ids(roadmap, 1))
    mastery = {one[0]: (0.99, 4), one[1]: (0.4, 2)}
    view = progress(roadmap, mastery, known={one[2]})
    s1 = view[0]
    assert set(s1["mastered"]) == {one[0], one[2]} and s1["in_progress"] == [one[1]]
    assert s1["milestone_status"] == "in_progress" and view[1]["milestone_status"] == "not_started"
    full = progress(roadmap, {}, known=stage_ids(roadmap, 1))
    assert full[0]["milestone_status"] == "ready"


@pytest.fixture
def api(fake_tutor, tmp_path):
    tutor = fake_tutor()
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        yield client, engine, tutor


def test_profile_routes_and_bad_input_stores_nothing(api):
    client, engine, _ = api
    assert client.get("/api/learners/ana").status_code == 404
    created = client.put("/api/learners/ana", json={"display_name": "Ana", "track": "research",
                                                    "hours_per_week": 10, "known_concepts": ["python-programming"]})
    assert created.status_code == 200 and created.json()["track"] == "research"
    assert client.put("/api/learners/ana", json={"hours_per_week": 12}).json()["track"] == "research"
    for body, status in (({"track": "astronaut"}, 422), ({"current_stage": 7}, 404),
                         ({"known_concepts": ["cooking"]}, 422), ({"hours_per_week": 0}, 422),
                         ({"score": 100}, 422)):
        response = client.put("/api/learners/bob", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["detail"]
    with Session(engine) as s:
        assert [l.id for l in s.exec(select(Learner)).all()] == ["ana"]
    profile = client.get("/api/learners/ana").json()
    assert profile["hours_per_week"] == 12 and len(profile["progress"]) == 4


def test_next_route_moves_to_stage_2_after_mastery(api, roadmap):
    client, engine, _ = api
    client.put("/api/learners/kim", json={"track": "industry"})
    first = client.get("/api/learners/kim/next").json()
    assert first["stage"] == 1 and first["next"][0]["stage"] == 1
    with Session(engine) as s:
        for cid in stage_ids(roadmap, 1):
            for _ in range(4):
                record_answer(s, "kim", cid, True)
        s.commit()
    after = client.get("/api/learners/kim/next").json()
    assert after["stage"] == 2 and all(step["stage"] == 2 for step in after["next"])
    assert client.get("/api/learners/kim/next").json() == after  # deterministic
    assert client.get("/api/learners/nobody/next").status_code == 404


def test_next_route_explains_with_citations(api):
    client, _, tutor = api
    client.put("/api/learners/lee", json={})
    body = client.get("/api/learners/lee/next", params={"explain": True}).json()
    cited = {c["chunk_id"].split("#")[0] for c in body["explanation"]["citations"]}
    assert cited & {f"concept-{s['concept']}" for s in body["next"]} | {"stage-1"}


def test_chat_routes_what_next_in_the_learners_words(api):
    client, engine, tutor = api
    client.put("/api/learners/sam", json={})
    reply = client.post("/api/chat", json={"message": "ok so what should I study next?", "learner_id": "sam",
                                           "stream": False}).json()
    assert any(c["chunk_id"].startswith("concept-") for c in reply["citations"])
    next_prompts = [m for m in tutor.llm.calls if "already been chosen" in m[0]["content"]]
    assert next_prompts, "the next-step prompt was not used"


def test_delete_erases_every_row_of_the_learner(api):
    client, engine, _ = api
    client.put("/api/learners/eve", json={})
    client.put("/api/learners/other", json={})
    client.post("/api/chat", json={"message": "What is stage 2 about?", "learner_id": "eve", "stream": False})
    with Session(engine) as s:
        record_answer(s, "eve", "numpy", True)
        s.commit()
    erased = client.delete("/api/learners/eve")
    assert erased.status_code == 200 and erased.json()["deleted"]["message"] == 2
    with Session(engine) as s:
        assert s.get(Learner, "eve") is None and s.get(Learner, "other") is not None
        assert not s.exec(select(Mastery).where(Mastery.learner_id == "eve")).all()
        assert not s.exec(select(Conversation).where(Conversation.learner_id == "eve")).all()
        assert not s.exec(select(Message)).all()
    assert client.delete("/api/learners/eve").status_code == 404


def test_cli_next_json(corpus_index, tmp_path):
    from tests.test_cli import run

    env = {"TUTOR_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db"}
    assert run("learner", "set", "cli-user", "--track", "freelance", "--hours", "20", env=env).returncode == 0
    result = run("next", "--learner", "cli-user", "--json", "--index", str(corpus_index.index_dir), env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["stage"] == 1 and body["next"]
    missing = run("next", "--learner", "ghost", "--index", str(corpus_index.index_dir), env=env)
    assert missing.returncode == 1 and "no learner 'ghost'" in missing.stderr and "Traceback" not in missing.stderr
