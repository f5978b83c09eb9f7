"""Stateless replicas: two `tutor serve` processes (the fake LLM) on one PostgreSQL
database and one index directory serve the same learners. A conversation started on one
continues on the other; quiz answers and feedback sent to both, alternately and at once,
lose nothing and store nothing twice (row counts); the quiz top-up of a stage runs in one
process at a time (a lease row). Skipped where no PostgreSQL server answers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests.fixtures_tutor import free_port
from tests.test_db import bank
from tutor import lease
from tutor.db import make_engine
from tutor.models import Feedback, Lease, Mastery, Message, QuizAttempt, Review
from tutor.quiz import bank as bank_module

TUTOR = str(Path(sys.executable).with_name("tutor"))


@pytest.fixture
def replicas(postgres_url, corpus_index):
    """Two `tutor serve --backend fake` processes on one database; yields their base URLs."""
    make_engine(postgres_url).dispose()  # at head before either starts
    env = {**os.environ, "TUTOR_DATABASE_URL": postgres_url, "TUTOR_INDEX_DIR": str(corpus_index.index_dir),
           "TUTOR_EMBED_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        procs.append(subprocess.Popen([TUTOR, "serve", "--backend", "fake", "--port", str(port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        for proc, url in zip(procs, urls):
            while not _ready(url):
                assert proc.poll() is None, f"replica exited: {proc.stderr.read()}"
                assert time.monotonic() < deadline, "replica not ready in 180 s"
                time.sleep(0.5)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def count(engine, model, *where) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()[0]


def test_a_conversation_started_on_one_replica_continues_on_the_other(replicas):
    a, b = replicas
    first = httpx.post(f"{a}/api/chat", json={"message": "What is the key idea of ResNet?", "stream": False},
                       timeout=60).json()
    second = httpx.post(f"{b}/api/chat", json={"message": "And which stage is it in?", "stream": False,
                                               "conversation_id": first["conversation_id"]}, timeout=60)
    assert second.status_code == 200 and second.json()["conversation_id"] == first["conversation_id"]
    for url in (a, b):
        messages = httpx.get(f"{url}/api/conversations/{first['conversation_id']}", timeout=30).json()["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[2]["content"] == "And which stage is it in?"


def test_quiz_answers_and_feedback_sent_to_both_at_once_are_stored_once(replicas, postgres_url):
    a, b = replicas
    engine = make_engine(postgres_url)
    bank(engine)  # every item tests concept linear-algebra, key option 0
    learners = [f"learner-{i}" for i in range(4)]
    quizzes = []
    with httpx.Client(timeout=60) as client:
        for n, learner in enumerate(learners):
            assert client.put(f"{replicas[n % 2]}/api/learners/{learner}", json={}).status_code == 200
            for q in range(3):
                quiz = client.post(f"{replicas[q % 2]}/api/quizzes",
                                   json={"stage": 1, "count": 2, "learner_id": learner}).json()
                quizzes.append((learner, quiz["quiz_id"], [i["id"] for i in quiz["items"]]))
        asked = [client.post(f"{replicas[n % 2]}/api/chat",
                             json={"message": "What is stage 2 about?", "stream": False}).json()
                 for n in range(2)]
    answer_ids = [m["id"] for c in asked
                  for m in httpx.get(f"{a}/api/conversations/{c['conversation_id']}").json()["messages"]
                  if m["role"] == "assistant"]

    def grade(job):
        url, learner, quiz_id, items = job
        body = {"learner_id": learner, "answers": [{"item_id": i, "choice": 0} for i in items]}
        return httpx.post(f"{url}/api/quizzes/{quiz_id}/answers", json=body, timeout=60).status_code

    def rate(job):
        url, message_id, n = job
        return httpx.post(f"{url}/api/feedback", json={"message_id": message_id, "rating": "up" if n % 2 else "down",
                                                       "comment": f"note {n}"}, timeout=60).status_code

    # Every quiz is sent to both replicas at once; feedback alternates between them.
    grading = [(url, *quiz) for quiz in quizzes for url in (a, b)]
    rating = [(replicas[n % 2], answer_ids[n % len(answer_ids)], n) for n in range(20)]
    with ThreadPoolExecutor(8) as pool:
        graded = list(pool.map(grade, grading))
        rated = list(pool.map(rate, rating))
    per_quiz = [sorted(graded[i:i + 2]) for i in range(0, len(graded), 2)]
    assert per_quiz == [[200, 409]] * len(quizzes)  # one grading per quiz, the other told it is done
    assert rated == [201] * 20
    assert count(engine, QuizAttempt) == sum(len(items) for _, _, items in quizzes) == 24
    assert count(engine, Feedback) == 20
    assert count(engine, Message) == 4
    for learner in learners:  # six answers each, none lost to a concurrent update
        with Session(engine) as session:
            mastery = session.get(Mastery, (learner, "linear-algebra"))
        assert (mastery.attempts, mastery.correct) == (6, 6)
        answered = {i for who, _, items in quizzes if who == learner for i in items}
        assert count(engine, Review, Review.learner_id == learner) == len(answered)
    engine.dispose()


# -- the quiz top-up: one process at a time per stage -------------------------------------------

CLAIM = """
import sys, time
from tutor import lease
from tutor.db import connect
engine = connect(sys.argv[1])
while time.time() < float(sys.argv[2]):
    time.sleep(0.005)
print(lease.claim(engine, "quiz-top-up:3", 60))
"""


def test_one_process_of_several_claims_a_stage_top_up(postgres_url):
    """Four processes claim the same stage's lease at the same instant: exactly one wins."""
    make_engine(postgres_url).dispose()
    start = time.time() + 4  # after every interpreter has started
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, postgres_url, str(start)], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(results) == ["False", "False", "False", "True"]


def test_the_top_up_is_refused_while_another_replica_runs_it(postgres_url, fake_tutor, monkeypatch):
    """Two Refillers (each with its own process-local flag, as two replicas have) on one
    database: while one tops stage 1 up, the other does not start; after it ends, the lease
    is free again, and a lease left by a crashed process is taken over once it expires."""
    import threading

    engine = make_engine(postgres_url)
    started, finish = threading.Event(), threading.Event()

    def slow_build(tutor, engine_, stage, batch, concept=None):
        started.set()
        finish.wait(30)

    monkeypatch.setattr(bank_module, "build_stage", slow_build)
    first, second = bank_module.Refiller(engine), bank_module.Refiller(engine)
    tutor = fake_tutor()
    assert first.maybe_top_up(tutor, 1) is True
    assert started.wait(10)
    assert second.maybe_top_up(tutor, 1) is False  # the other replica holds the stage
    assert second.maybe_top_up(tutor, 2) is True  # another stage is another lease
    finish.set()
    first.wait(10)
    second.wait(10)
    assert count(engine, Lease) == 0
    assert lease.claim(engine, "quiz-top-up:1", -1, holder="crashed") is True  # already expired
    assert lease.claim(engine, "quiz-top-up:1", 60) is True  # taken over from the dead holder
    assert lease.claim(engine, "quiz-top-up:1", 60, holder="other") is False
    engine.dispose()
