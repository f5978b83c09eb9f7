"""Concurrency (issue 16, item 4).

1. SQLite runs in WAL mode with a busy timeout on every connection (the service's, the
   CLI's and Alembic's all come through tutor.db.connect).
2. WRITERS concurrent writers (PROCESSES processes of threads: several worker processes
   are SQLite's real case) write real rows through the service's own functions for
   DURATION seconds: chat turns (a conversation, the learner's message, the reply),
   feedback on the reply, and graded quizzes (attempts, mastery, reviews, under the
   learner's lock). Afterwards each table holds exactly the rows the writers report as
   written (none lost, none doubled), and no write failed ("database is locked" or any
   other error). On SQLite and on PostgreSQL (skipped where no server answers).
3. Searches during a re-index: a `tutor serve` process answers questions in a loop, and
   searches in this process reload the index in a loop, while `tutor ingest` (the real
   embedder) rebuilds it several times with new material each time. Every request
   succeeds, every answer's citations come from the one index version it names, and the
   server moves to the new versions as they go live (TUTOR_INDEX_POLL_SECONDS).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
from sqlalchemy import func, select

DURATION = 60.0  # seconds of concurrent writing (the figure: keep it)
WRITERS = 50
PROCESSES = 5  # x THREADS = WRITERS
THREADS = WRITERS // PROCESSES
LEARNERS = 10  # five writers per learner: gradings of one learner contend for its lock
TUTOR = str(Path(sys.executable).with_name("tutor"))


# -- 1. every connection: WAL and a busy timeout ----------------------------------------------

def test_sqlite_connections_are_wal_with_a_busy_timeout(tmp_path):
    from tutor.db import BUSY_TIMEOUT_SECONDS, connect, make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'tutor.db'}"
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_SECONDS * 1000
    seen = []
    fresh = connect(url)  # what `tutor db upgrade` and Alembic's env.py use

    from sqlalchemy import event

    @event.listens_for(fresh, "connect")
    def record(conn, _):
        seen.append(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    fresh.dispose()
    upgrade(fresh)
    assert seen and set(seen) == {BUSY_TIMEOUT_SECONDS * 1000}
    # A writer that finds the database locked waits rather than failing at once.
    raw = sqlite3.connect(tmp_path / "tutor.db", isolation_level=None, check_same_thread=False)
    raw.execute("BEGIN IMMEDIATE")
    waited = threading.Event()

    def release():
        time.sleep(0.5)
        waited.set()
        raw.execute("COMMIT")
    threading.Thread(target=release).start()
    from tutor import conversations

    conversations.open_conversation(engine, None, "waiting-learner")  # blocks until COMMIT
    assert waited.is_set()


# -- 2. fifty writers for a minute --------------------------------------------------------------

def _prepare(url: str) -> list[str]:
    """Learners and a quiz bank the writers use; returns the item ids."""
    from sqlmodel import Session

    from tutor.db import make_engine
    from tutor.models import Learner, QuizItem

    engine = make_engine(url)
    items = [QuizItem(stage=1, concept_id="linear-algebra", kind="mcq", question=f"Load question {i}?",
                      options=json.dumps(["a", "b", "c"]), answer="1", chunk_id="concept-linear-algebra#0")
             for i in range(6)]
    with Session(engine) as session:
        session.add_all([Learner(id=f"writer-{n}") for n in range(LEARNERS)] + items)
        session.commit()
        ids = [i.id for i in items]
    engine.dispose()
    return ids


def _writer(engine, learner: str, until: float, seed: int) -> tuple[Counter, list[str], list[float]]:
    """Write until `until` (wall clock, shared by every process): turns, feedback, quizzes."""
    from tutor import conversations
    from tutor.api.chat import feedback
    from tutor.api.schemas import FeedbackRequest
    from tutor.quiz.bank import serve_quiz
    from tutor.quiz.grade import Given, grade_quiz
    from tutor.types import Answer

    rng = random.Random(seed)
    state = SimpleNamespace(engine=engine, settings=SimpleNamespace(redact=False))
    done, errors, seconds = Counter(), [], []
    reply = None
    while time.time() < until:
        kind = rng.choice(("turn", "turn", "feedback", "quiz")) if reply else "turn"
        started = time.monotonic()
        try:
            if kind == "turn":
                conversation = conversations.open_conversation(engine, None, learner)
                reply = conversations.start_turn(engine, conversation, f"question {seed}-{done['turn']}")
                conversations.finish_turn(engine, reply, Answer("An answer [1].", (), False, 1.0, "load", "q"))
            elif kind == "feedback":
                feedback(FeedbackRequest(message_id=reply, rating=rng.choice(("up", "down"))), state)
            else:
                quiz, items = serve_quiz(engine, 1, 2, learner, rng)
                graded = grade_quiz(engine, quiz.id, [Given(i.id, rng.randrange(3)) for i in items], learner)
                done["attempt"] += graded["answered"]
            done[kind] += 1
        except Exception as exc:  # every failure is reported; none is expected
            errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
        seconds.append(time.monotonic() - started)
    return done, errors, seconds


def _process(url: str, first: int, threads: int, until: float) -> tuple[dict, list[str], list[float]]:
    """One worker process: `threads` writers on one engine (its own connection pool)."""
    from tutor.db import make_engine

    engine = make_engine(url)
    results = [None] * threads

    def run(n):
        writer = first + n
        results[n] = _writer(engine, f"writer-{writer % LEARNERS}", until, seed=writer)
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    engine.dispose()
    total, errors, seconds = Counter(), [], []
    for done, errs, took in results:
        total.update(done)
        errors += errs
        seconds += took
    return dict(total), errors, seconds


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _fifty_writers(url: str) -> None:
    from tutor.db import BUSY_TIMEOUT_SECONDS, make_engine
    from tutor.models import Conversation, Feedback, Message, Quiz, QuizAttempt

    _prepare(url)
    until = time.time() + 10 + DURATION  # every process starts writing once all have imported
    start_writing = until - DURATION
    ctx = multiprocessing.get_context("spawn")  # no forked SQLite handles or threads
    with ctx.Pool(PROCESSES) as pool:
        jobs = [pool.apply_async(_process, (url, p * THREADS, THREADS, until)) for p in range(PROCESSES)]
        results = [job.get(timeout=DURATION + 120) for job in jobs]
    assert time.time() >= start_writing + DURATION
    done, errors, seconds = Counter(), [], []
    for counts, errs, took in results:
        done.update(counts)
        errors += errs
        seconds += took
    seconds.sort()
    print(f"\n{url.split(':')[0]}: {dict(done)} in {DURATION:.0f} s by {WRITERS} writers ({PROCESSES} processes); "
          f"seconds per write p50 {seconds[len(seconds) // 2]:.3f}, p99 {seconds[int(len(seconds) * 0.99)]:.2f}, "
          f"max {seconds[-1]:.2f} (busy timeout {BUSY_TIMEOUT_SECONDS} s)")
    assert not [e for e in errors if "database is locked" in e], errors[:5]
    assert errors == [], errors[:5]
    assert min(done["turn"], done["feedback"], done["quiz"]) > WRITERS  # every kind, many times
    engine = make_engine(url)
    assert _count(engine, Conversation) == done["turn"]
    assert _count(engine, Message) == 2 * done["turn"]
    assert _count(engine, Feedback) == done["feedback"]
    assert _count(engine, Quiz) == done["quiz"]
    assert _count(engine, QuizAttempt) == done["attempt"]
    with engine.connect() as conn:  # every reply finished: no turn was left half-written
        statuses = dict(conn.execute(select(Message.status, func.count()).group_by(Message.status)).all())
    assert statuses == {"ok": 2 * done["turn"]}


def test_fifty_writers_for_a_minute_on_sqlite_lose_nothing(tmp_path):
    _fifty_writers(f"sqlite:///{tmp_path / 'tutor.db'}")


def test_fifty_writers_for_a_minute_on_postgresql_lose_nothing(postgres_url):
    _fifty_writers(postgres_url)


# -- 3. searches while the index is rebuilt ------------------------------------------------------

REBUILDS = 3
NOTE = """# Field notes {n}

Gradient clipping note {n}: when training recurrent networks, clip the global gradient norm
to a fixed threshold so that one exploding step cannot wreck the weights. Note {n} says the
threshold is usually between 1 and 5.
"""
QUESTION = "What does the field note say about gradient clipping thresholds?"


def _chunk_ids(index_dir: Path, version: str) -> set[str]:
    db = sqlite3.connect(index_dir / "versions" / version / "chunks.db")
    try:
        return {row[0] for row in db.execute("SELECT id FROM chunks")}
    finally:
        db.close()


def _ingest(index_dir: Path, notes: Path, n: int) -> str:
    for old in notes.glob("*.md"):
        old.unlink()
    (notes / f"note-{n}.md").write_text(NOTE.format(n=n))  # a new file: new chunk ids each version
    env = {**os.environ, "TUTOR_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "TUTOR_EMBED_THREADS": "1"}
    done = subprocess.run([TUTOR, "ingest", str(notes)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return (index_dir / "CURRENT").read_text().strip()


def test_searches_during_a_reindex_all_succeed_from_one_version(tmp_path, embedder, corpus_index):
    from tests.fixtures_tutor import free_port, sse_events
    from tutor.errors import IndexCorrupt, IndexMissing
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    index_dir, notes = tmp_path / "index", tmp_path / "notes"
    notes.mkdir()
    shutil.copytree(corpus_index.index_dir, index_dir)  # its vectors are reused: only notes are embedded
    versions = {}  # version -> its chunk ids, read as soon as it is live (before pruning)
    first = _ingest(index_dir, notes, 0)
    versions[first] = _chunk_ids(index_dir, first)
    port = free_port()
    env = {**os.environ, "TUTOR_INDEX_DIR": str(index_dir), "TUTOR_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "HF_HUB_OFFLINE": "1", "TUTOR_EMBED_THREADS": "1", "TUTOR_RATE_LIMIT_PER_ADDRESS": "0",
           "TUTOR_RATE_LIMIT_GLOBAL": "0", "TUTOR_INDEX_POLL_SECONDS": "0.5"}
    server = subprocess.Popen([TUTOR, "serve", "--backend", "fake", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    answers, searches, failures = [], [], []
    stop = threading.Event()

    def ask_loop():
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                try:
                    response = client.post(f"{url}/api/chat", json={"message": QUESTION})
                    if response.status_code != 200:
                        failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
                        continue
                    events = dict(sse_events(response.text))
                    if "error" in events or "done" not in events:
                        failures.append(f"stream ended badly: {sorted(events)}")
                        continue
                    answers.append((events["meta"]["index_version"],
                                    [c["chunk_id"] for c in events["done"]["citations"]]))
                except httpx.HTTPError as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

    def search_loop():
        while not stop.is_set():
            try:
                index = load_index(index_dir)  # resolves CURRENT once, like a starting replica
                hits = Retriever(index, embedder).search(QUESTION, k=4)
                searches.append((index.version, [h.chunk.id for h in hits], len(index.chunks)))
            except (IndexCorrupt, IndexMissing) as exc:
                failures.append(f"search: {exc}")
            time.sleep(0.2)

    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "tutor serve not ready in 180 s"
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        loops = [threading.Thread(target=ask_loop), threading.Thread(target=search_loop)]
        for loop in loops:
            loop.start()
        for n in range(1, REBUILDS + 1):
            version = _ingest(index_dir, notes, n)
            versions[version] = _chunk_ids(index_dir, version)
        time.sleep(2)  # a few searches on the last version
        stop.set()
        for loop in loops:
            loop.join(timeout=180)
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    assert len(versions) == REBUILDS + 1
    assert failures == [], failures[:5]
    assert len(answers) >= 5 and len(searches) >= 5
    for version, cited in answers + [(v, ids) for v, ids, _ in searches]:
        assert version in versions, version
        assert cited and set(cited) <= versions[version], (version, cited)
    for version, _, chunks in searches:
        assert chunks == len(versions[version])
    # The note of each version is its own (a mix would cite one version's note under another's name)
    notes_cited = {(v, c) for v, ids in answers + [(v, ids) for v, ids, _ in searches] for c in ids if "note-" in c}
    assert notes_cited and all(c in versions[v] for v, c in notes_cited)
    searched = {v for v, _, _ in searches}
    print(f"\n{len(answers)} answers from versions {sorted(Counter(v for v, _ in answers).values())}, "
          f"{len(searches)} searches over {len(searched)} of {len(versions)} versions")
    assert len(searched) >= 2  # the searches did run across a switch of CURRENT
    assert len({v for v, _ in answers}) >= 2  # the server followed CURRENT without a restart (tutor/api/follow.py)
