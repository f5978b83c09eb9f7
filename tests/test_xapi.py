"""Learning records as xAPI statements: every exported statement validates against the
xAPI 1.0.3 statement schema (tests/xapi_statement.schema.json, with jsonschema), ids are
stable across exports, the admin route and `tutor export xapi` agree, and a learner's
DELETE removes their statements (they are derived, never stored)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.seed_records import LEARNERS, seed
from tutor.api import create_app
from tutor.db import make_engine
from tutor.models import Learner, Mastery
from tutor.roadmap import load_roadmap
from tutor.xapi import statements

SCHEMA = json.loads((Path(__file__).parent / "xapi_statement.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
HOME = "https://tutor.example.org"
AUTH = {"Authorization": "Bearer k"}


@pytest.fixture
def roadmap(repo_root):
    return load_roadmap(repo_root / "corpus" / "roadmap.yaml")


@pytest.fixture
def engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")


def valid(statement: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in VALIDATOR.iter_errors(statement)]


def learner_of(statement: dict) -> str:
    return statement["actor"]["account"]["name"]


def test_the_schema_itself_is_valid_and_rejects_broken_statements():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = {"actor": {"account": {"homePage": HOME, "name": "ada"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": f"{HOME}/x"}, "timestamp": "2026-11-30T10:00:00.000Z"}
    assert valid(good) == []
    assert valid({**good, "actor": {"name": "no identifier"}})  # an Agent needs one identifier
    assert valid({**good, "verb": {"id": "answered"}})  # not an IRI
    assert valid({**good, "result": {"score": {"scaled": 1.5}}})
    assert valid({**good, "timestamp": "yesterday"})
    assert valid({**good, "id": "not-a-uuid"})


def test_attempts_and_progress_become_valid_statements(engine, roadmap):
    seed(engine)
    found = statements(engine, roadmap, HOME)
    problems = {s["id"]: valid(s) for s in found if valid(s)}
    assert not problems, problems
    verbs = [s["verb"]["display"]["en-US"] for s in found]
    assert verbs.count("answered") == 9  # three learners, three graded items each
    assert verbs.count("mastered") + verbs.count("progressed") == 9  # one mastery row per concept answered
    assert len({s["id"] for s in found}) == len(found)
    assert {learner_of(s) for s in found} == set(LEARNERS)

    wrong = [s for s in found if s["verb"]["id"].endswith("answered") and not s["result"]["success"]]
    assert len(wrong) == 3 and all(s["result"]["response"] == "1" for s in wrong)
    choice = next(s for s in found if s["verb"]["id"].endswith("answered"))["object"]["definition"]
    assert choice["interactionType"] == "choice" and len(choice["choices"]) == 4
    assert "correctResponsesPattern" not in choice  # keys stay on the server
    assert statements(engine, roadmap, HOME) == found  # same ids and content on every export


def test_a_finished_stage_is_a_completed_statement(engine, roadmap):
    stage_1 = [c.id for c in roadmap.concepts if c.stage == 1]
    with Session(engine) as session:
        session.add(Learner(id="fin", known_concepts=json.dumps(stage_1[:-1])))
        session.add(Mastery(learner_id="fin", concept_id=stage_1[-1], p_known=0.99, attempts=4, correct=4))
        session.commit()
    found = statements(engine, roadmap, HOME, learner_id="fin")
    assert sorted(s["verb"]["display"]["en-US"] for s in found) == ["completed", "mastered"]
    completed = next(s for s in found if s["verb"]["display"]["en-US"] == "completed")
    assert completed["object"]["id"] == f"{HOME}/xapi/activities/stages/1" and not valid(completed)


def test_admin_export_and_erasure(fake_tutor, engine, roadmap):
    tutor = fake_tutor(admin_key="k")
    seed(engine)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        assert client.get("/admin/api/xapi").status_code == 401
        body = client.get("/admin/api/xapi", headers=AUTH).json()
        assert body["more"] == "" and len(body["statements"]) == 18
        assert not [s for s in body["statements"] if valid(s)]
        home = body["statements"][0]["actor"]["account"]["homePage"]
        assert home == "http://testserver"

        ada = client.get("/admin/api/xapi?learner_id=ada", headers=AUTH).json()["statements"]
        assert len(ada) == 6 and {learner_of(s) for s in ada} == {"ada"}

        assert client.delete("/api/learners/ada").status_code == 200
        assert client.get("/admin/api/xapi?learner_id=ada", headers=AUTH).json()["statements"] == []
        rest = client.get("/admin/api/xapi", headers=AUTH).json()["statements"]
    assert len(rest) == 12 and "ada" not in {learner_of(s) for s in rest}


def test_cli_export_writes_the_same_statements(engine, roadmap, tmp_path):
    seed(engine)
    out = tmp_path / "records.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUTOR_DATABASE_URL": str(engine.url)}
    tutor = str(Path(sys.executable).parent / "tutor")
    done = subprocess.run([tutor, "export", "xapi", "--home-page", HOME, "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "18 statements written" in done.stderr
    exported = json.loads(out.read_text())
    assert exported == statements(engine, roadmap, HOME)

    one = subprocess.run([tutor, "export", "xapi", "--learner", "bob", "--home-page", HOME],
                         capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0 and {learner_of(s) for s in json.loads(one.stdout)} == {"bob"}
