"""`tutor progress --learner ID`: the roadmap in the terminal, from a real database: every
stage with its weeks and milestone status, concepts marked by a glyph as well as a
colour, and the computed next step with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session

from tutor.db import make_engine
from tutor.models import Learner, Mastery

TUTOR = str(Path(sys.executable).parent / "tutor")


def run(*args, db_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TUTOR_DATABASE_URL": db_url, "COLUMNS": "120"}
    return subprocess.run([TUTOR, *args], capture_output=True, text=True, env=env, timeout=120)


def test_progress_shows_stages_marks_and_next_step(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    with Session(engine) as session:
        session.add(Learner(id="ada", display_name="Ada", known_concepts=json.dumps(["python-programming"])))
        session.add(Mastery(learner_id="ada", concept_id="linear-algebra", p_known=0.99, attempts=5, correct=5))
        session.add(Mastery(learner_id="ada", concept_id="statistics", p_known=0.4, attempts=2, correct=1))
        session.commit()
    url = str(engine.url)

    shown = run("progress", "--learner", "ada", db_url=url)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    for stage in ("Stage 1 · weeks 1-8", "Stage 2 · weeks 9-16", "Stage 3 · weeks 17-24", "Stage 4 · weeks 25-36"):
        assert stage in text
    assert "✓ Linear algebra" in text and "◐ Statistics" in text and "○ " in text
    assert "milestone in progress" in text and "milestone not started" in text
    assert "▶ Next:" in text and ("prerequisites are done" in text or "starting point" in text)
    assert " days) — " in text and " 0." not in text  # "about 2 days", not "about 0.3 weeks"

    data = json.loads(run("progress", "--learner", "ada", "--json", db_url=url).stdout)
    assert {"python-programming", "linear-algebra"} <= set(data["stages"][0]["mastered"])
    assert data["stages"][0]["in_progress"] == ["statistics"]
    assert data["next"] and data["next"][0]["stage"] == 1 and data["next"][0]["why"]
    assert data["next"][0]["name"] in text

    missing = run("progress", "--learner", "nobody", db_url=url)
    assert missing.returncode == 1 and "no learner 'nobody'" in missing.stderr and "Traceback" not in missing.stderr
