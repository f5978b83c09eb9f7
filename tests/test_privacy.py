"""Privacy (issue 16, item 5): erasure leaves no row of a learner in any table, a retention
limit deletes old conversations, and redaction keeps e-mail addresses, phone numbers and
card numbers out of what is stored.

Erasure is checked from the outside: a learner uses every feature (chat, feedback, a quiz
and its hints, reviews, a Discord link, a thread, handled events, reminders), then every
row of every table the schema has is read back, and a row "mentions" the learner when any
of its values names them or it references, by foreign key, a row that does. That check
knows no table by name, so a table added later is covered by it; and
`test_every_table_and_personal_column_is_handled` fails when a table is neither reached by
the erase nor declared to hold no learner data. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import discord
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from sqlmodel import Session, SQLModel

from tests.discord_fakes import Channel, Discord, Interaction, User
from tests.fixtures_tutor import LiveServer, sse_events
from tutor import privacy
from tutor.api import create_app
from tutor.db import make_engine
from tutor.models import ChatThread, Conversation, Feedback, Lease, Message, Quiz, QuizAttempt, QuizHint, QuizItem
from tutor.redact import luhn_ok, redact

KEY = "privacy-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
TUTOR = str(Path(sys.executable).with_name("tutor"))
# Words that make a column look like it could name a person (split on "_").
PERSONAL_WORDS = {"learner", "user", "owner", "author", "member", "account", "person", "email", "phone",
                  "actor", "student", "holder", "client", "addr", "address", "ip", "discord", "who"}
# Distinctive ids: a row "mentions" a learner when a value contains the id.
ADA, BOB = "learner-ada-7f3e", "learner-bob-9c1d"
NO_LIMITS = {"rate_limit_per_learner": 0, "rate_limit_per_address": 0, "rate_limit_global": 0}
# The erasure tests keep the per-learner limit on (high): its counters are the learner's rows too
# (a day-long window: no counter is swept between the snapshots before and after)
LEARNER_LIMIT = {"rate_limit_per_learner": 1000, "rate_limit_per_address": 0, "rate_limit_global": 0,
                 "rate_limit_window_seconds": 86400}


# -- the schema check: new tables and columns cannot slip past the erase -----------------------

def test_every_table_and_personal_column_is_handled(database_url):
    engine = make_engine(database_url)
    reached = {t.name for t in privacy.owned(privacy.learner_seeds(["x"]))}
    for table in SQLModel.metadata.sorted_tables:
        assert table.name in reached or table.name in privacy.NO_LEARNER_DATA, (
            f"table {table.name} is neither erased with a learner (give it a learner_id column or a foreign "
            "key to a learner's row) nor declared in tutor.privacy.NO_LEARNER_DATA")
        handled = {c.name for c in privacy.learner_columns(table)}
        handled |= {c.name for c in table.columns if c.foreign_keys}  # followed by the cascade
        handled |= {k.split(".")[1] for k in privacy.DERIVED_KEYS if k.startswith(table.name + ".")}
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            looks_personal = set(column.name.lower().split("_")) & PERSONAL_WORDS
            if looks_personal and table.name not in {"learner"}:
                assert column.name in handled or name in privacy.NOT_PERSONAL, (
                    f"{name} looks like it names a person but the erase does not handle it: name it "
                    "learner_id, add it to tutor.privacy.DERIVED_KEYS, or say why in NOT_PERSONAL")
    # Tables a migration created are in the metadata too (or the erase could not see them).
    on_disk = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert on_disk == set(SQLModel.metadata.tables), on_disk ^ set(SQLModel.metadata.tables)


def test_the_schema_check_catches_a_table_the_erase_cannot_reach():
    from sqlalchemy import Column, MetaData, String, Table

    extra = Table("badge", SQLModel.metadata, Column("id", String, primary_key=True), Column("owner", String))
    try:
        reached = {t.name for t in privacy.owned(privacy.learner_seeds(["x"]))}
        assert "badge" not in reached and "badge" not in privacy.NO_LEARNER_DATA  # the test above would fail
        assert not privacy.learner_columns(extra)
    finally:
        SQLModel.metadata.remove(extra)
    with_learner = Table("badge2", MetaData(), Column("learner_id", String))
    assert [c.name for c in privacy.learner_columns(with_learner)] == ["learner_id"]


# -- a learner who used everything ---------------------------------------------------------------

def bank(engine, n=4) -> list[str]:
    items = [QuizItem(stage=1, concept_id="linear-algebra", kind="mcq", question=f"Privacy question {i}?",
                      options=json.dumps(["alpha", "beta", "gamma", "delta"]), answer="1",
                      explanation="Because beta.", chunk_id="concept-linear-algebra#0",
                      source_title="Linear algebra", source="corpus/roadmap.yaml") for i in range(n)]
    with Session(engine) as session:
        session.add_all(items)
        session.commit()
        return [i.id for i in items]


def use_everything(client, learner: str, discord_user: str, thread: str) -> None:
    """Every feature that stores something, through the public and bridge routes."""
    def ok(response, *codes):
        assert response.status_code in (codes or (200, 201)), response.text
        return response.json()

    ok(client.put(f"/api/learners/{learner}", json={"display_name": learner.title(), "hours_per_week": 10}))
    chat = ok(client.post("/api/chat", json={"message": "What is the key idea of ResNet?", "stream": False,
                                             "learner_id": learner}))
    ok(client.post("/api/chat", json={"message": "And which stage is it in?", "stream": False,
                                      "learner_id": learner, "conversation_id": chat["conversation_id"]}))
    ok(client.post("/api/feedback", json={"message_id": chat["message_id"], "rating": "up", "comment": "clear"}))
    quiz = ok(client.post("/api/quizzes", json={"stage": 1, "count": 2, "learner_id": learner}))
    first = quiz["items"][0]["id"]
    ok(client.post("/api/chat", json={"message": "I am stuck, a hint please", "stream": False,
                                      "learner_id": learner, "quiz_item_id": first}))
    ok(client.post(f"/api/quizzes/{quiz['quiz_id']}/answers",
                   json={"learner_id": learner, "answers": [{"item_id": first, "choice": 1}]}))
    ok(client.get(f"/api/learners/{learner}/next"))
    # Discord: a user seen first on their own, then linked to this learner with a code
    ok(client.post(f"/api/bridge/users/{discord_user}", headers=AUTH))
    dm = ok(client.post("/api/chat", json={"message": "What is stage 2 about?", "stream": False,
                                           "learner_id": discord_user}))
    code = ok(client.post(f"/api/learners/{learner}/link-codes"))["code"]
    ok(client.post(f"/api/learners/{learner}/link-codes"))  # a second, unused code
    ok(client.post(f"/api/bridge/users/{discord_user}/link", json={"code": code}, headers=AUTH))
    ok(client.put(f"/api/bridge/threads/{thread}", json={"conversation_id": dm["conversation_id"],
                                                         "learner_id": learner}, headers=AUTH))
    number = discord_user.split(":")[1]
    ok(client.post(f"/api/bridge/events/discord:feedback:{dm['message_id']}:{number}?learner_id={learner}",
                   headers=AUTH))
    ok(client.put(f"/api/bridge/users/{discord_user}/reminders", json={"remind": True}, headers=AUTH))
    one = ok(client.post("/api/bridge/quizzes", json={"learner_id": learner, "stage": 1, "count": 1},
                         headers=AUTH), 201)["items"][0]
    ok(client.post(f"/api/quizzes/{one['quiz_id']}/answers",
                   json={"learner_id": learner, "answers": [{"item_id": one["id"], "choice": 0}]}))


def snapshot(engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in SQLModel.metadata.sorted_tables}


def mentioning(rows: dict[str, list[dict]], names: set[str]) -> dict[str, list[dict]]:
    """Rows with a value that names one of `names`, and, following foreign keys, rows that
    reference such a row (a message of their conversation, feedback on that message)."""
    def names_them(row):
        return any(isinstance(v, str) and any(n in v for n in names) for v in row.values())

    found = {t: [r for r in rs if names_them(r)] for t, rs in rows.items()}
    for table in SQLModel.metadata.sorted_tables:  # parents first, so chains are followed
        for column in table.columns:
            for fk in column.foreign_keys:
                parent, key = fk.column.table.name, fk.column.name
                theirs = {r[key] for r in found.get(parent, [])}
                found[table.name] += [r for r in rows[table.name] if r[column.name] in theirs
                                      and r not in found[table.name]]
    return {t: rs for t, rs in found.items() if rs}


def prepared_service(engine, **overrides):
    return dict(service_key=KEY, **LEARNER_LIMIT, **overrides)


def ids(*learners: str) -> set[str]:
    """How a learner can appear in a row: their id, or the hashed key of their rate-limit
    counter (computed here the way tutor/ratelimit.py keys it)."""
    from tutor.ratelimit import Limit, counter_key

    return set(learners) | {counter_key(Limit("learner", i, 0)) for i in learners}


def test_delete_leaves_no_row_of_the_learner_in_any_table(fake_tutor, database_url):
    engine = make_engine(database_url)
    tutor = fake_tutor(**prepared_service(engine))
    bank(engine)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        use_everything(client, ADA, "discord:4242", "discord:7001")
        use_everything(client, BOB, "discord:4343", "discord:7002")  # must survive ada's erasure
        before = snapshot(engine)
        ada = mentioning(before, ids(ADA, "discord:4242"))
        # Every table the erase reaches got rows from the scenario (so the check means something)
        reached = {t.name for t in privacy.owned(privacy.learner_seeds([ADA]))}
        assert reached == set(ada), reached ^ set(ada)
        erased = client.delete(f"/api/learners/{ADA}")
        assert erased.status_code == 200, erased.text
        assert erased.json()["deleted"] == {t: len(rs) for t, rs in ada.items()}
        after = snapshot(engine)
        assert mentioning(after, ids(ADA, "discord:4242")) == {}
        bob = mentioning(before, ids(BOB, "discord:4343"))
        assert mentioning(after, ids(BOB, "discord:4343")) == bob  # nothing of anyone else went
        again = client.delete(f"/api/learners/{ADA}")
        assert again.status_code == 404 and "nothing is stored" in again.json()["detail"]


def test_delete_erases_a_learner_who_never_made_a_profile(fake_tutor, tmp_path):
    """Conversations name a learner id without a profile row: they are erased too (a 404
    here used to leave them)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    tutor = fake_tutor(**NO_LIMITS)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        client.post("/api/chat", json={"message": "What is stage 2 about?", "stream": False, "learner_id": "zoe"})
        assert client.delete("/api/learners/zoe").json()["deleted"] == {"conversation": 1, "message": 2}
    assert mentioning(snapshot(engine), {"zoe"}) == {}


def test_discord_forget_leaves_no_row_of_either_learner(fake_tutor, database_url):
    from tutor.discord.client import TutorClient
    from tutor.discord.handlers import Handlers, RateLimiter

    engine = make_engine(database_url)
    tutor = fake_tutor(**prepared_service(engine))
    bank(engine)
    with LiveServer(create_app(tutor.settings, tutor=tutor, engine=engine)) as server:
        import httpx

        with httpx.Client(base_url=server.url, timeout=60) as client:
            use_everything(client, ADA, "discord:4242", "discord:7001")
            use_everything(client, BOB, "discord:4343", "discord:7002")
        before = snapshot(engine)
        log, user, limiter = Discord(), User(4242), RateLimiter(100)
        channel = Channel(log, discord.ChannelType.private)

        async def scenario():
            handlers = Handlers(TutorClient(server.url, KEY, timeout=60), limiter, 1.0)
            try:
                await handlers.ask(Interaction(log, user, channel), "What is the key idea of ResNet?")
                await handlers.forget(Interaction(log, user, channel))
                erase = log.ops("edit_original")[-1].custom_ids()[0]
                await handlers.component(Interaction(log, user, channel, custom_id=erase))
            finally:
                await handlers.client.close()
        asyncio.run(scenario())
    assert log.ops("edit_original")[-1].content.startswith("Done: everything the tutor stored about you is erased")
    assert 4242 not in limiter.asked  # the bot's memory of the user's questions went too
    after = snapshot(engine)
    assert mentioning(after, ids(ADA, "discord:4242")) == {}
    assert mentioning(after, ids(BOB, "discord:4343")) == mentioning(before, ids(BOB, "discord:4343"))


# -- retention ---------------------------------------------------------------------------------

def backdate(engine, conversation_id: str, days: float) -> None:
    then = datetime.now(timezone.utc) - timedelta(days=days)
    with Session(engine) as session:
        conversation = session.get(Conversation, conversation_id)
        conversation.created_at = then
        for message in session.exec(select(Message).where(Message.conversation_id == conversation_id)).scalars():
            message.created_at = then
            session.add(message)
        session.add(conversation)
        session.commit()


def ask(client, message="What is the key idea of ResNet?", **extra) -> dict:
    response = client.post("/api/chat", json={"message": message, "stream": False, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def conversation_ids(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(Conversation.id)).scalars())


def test_retention_deletes_idle_conversations_with_their_rows(fake_tutor, database_url):
    engine = make_engine(database_url)
    tutor = fake_tutor(**prepared_service(engine))
    item = bank(engine, 1)[0]
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        old = ask(client, learner_id="ada")
        client.post("/api/feedback", json={"message_id": old["message_id"], "rating": "down"})
        ask(client, "A hint?", conversation_id=old["conversation_id"], quiz_item_id=item)
        client.put("/api/bridge/threads/discord:9", json={"conversation_id": old["conversation_id"]}, headers=AUTH)
        revived = ask(client, learner_id="ada")  # old, but written to yesterday: kept
        fresh = ask(client)
    backdate(engine, old["conversation_id"], 40)
    backdate(engine, revived["conversation_id"], 40)
    with Session(engine) as session:
        session.add(Message(conversation_id=revived["conversation_id"], role="user", content="still here",
                            created_at=datetime.now(timezone.utc) - timedelta(days=1)))
        session.commit()
    assert privacy.purge_conversations(engine, 60) == {}  # nothing is 60 days old
    counts = privacy.purge_conversations(engine, 30)
    assert counts == {"conversation": 1, "message": 4, "feedback": 1, "quizhint": 1, "chatthread": 1}
    assert conversation_ids(engine) == {revived["conversation_id"], fresh["conversation_id"]}
    with Session(engine) as session:
        for model in (Feedback, QuizHint, ChatThread):
            assert session.exec(select(model)).all() == []
    with pytest.raises(ValueError):
        privacy.purge_conversations(engine, 0)


def test_the_service_purges_at_start_and_then_periodically(fake_tutor, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    tutor = fake_tutor(**NO_LIMITS)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        stale, kept = ask(client), ask(client)
    backdate(engine, stale["conversation_id"], 10)
    tutor = fake_tutor(retention_days=7, retention_check_seconds=0.2, **NO_LIMITS)
    app = create_app(tutor.settings, tutor=tutor, engine=engine)
    with TestClient(app) as client:
        loop = app.state.retention
        _wait(lambda: loop.runs >= 1)
        assert conversation_ids(engine) == {kept["conversation_id"]}  # at start-up
        later = ask(client)
        backdate(engine, later["conversation_id"], 8)
        runs = loop.runs
        _wait(lambda: loop.runs >= runs + 2)
        assert conversation_ids(engine) == {kept["conversation_id"]}  # on a later tick
    assert not loop.thread.is_alive()  # stopped with the app


def test_one_replica_purges_at_a_time(fake_tutor, database_url):
    engine = make_engine(database_url)
    tutor = fake_tutor(**NO_LIMITS)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        stale = ask(client)
    backdate(engine, stale["conversation_id"], 10)
    from tutor import lease

    assert lease.claim(engine, privacy.RETENTION_LEASE, 60, holder="other-replica")
    assert privacy.purge_once(engine, 7) is None  # the other replica is purging
    assert stale["conversation_id"] in conversation_ids(engine)
    lease.release(engine, privacy.RETENTION_LEASE, holder="other-replica")
    assert privacy.purge_once(engine, 7)["conversation"] == 1
    with Session(engine) as session:
        assert session.exec(select(Lease)).all() == []  # released after the purge


def test_cli_purge(fake_tutor, tmp_path):
    url = f"sqlite:///{tmp_path / 'tutor.db'}"
    engine = make_engine(url)
    tutor = fake_tutor(**NO_LIMITS)
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        stale = ask(client)
    backdate(engine, stale["conversation_id"], 100)
    env_cmd = [TUTOR, "db", "purge", "--database", url]
    missing = subprocess.run(env_cmd, capture_output=True, text=True, env=_env())
    assert missing.returncode == 1 and "pass --days N or set TUTOR_RETENTION_DAYS" in missing.stderr
    done = subprocess.run([*env_cmd, "--days", "90"], capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    assert "1 conversation" in done.stdout and "2 message" in done.stdout
    assert conversation_ids(engine) == set()


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "TUTOR_RETENTION_DAYS"} | {"HF_HUB_OFFLINE": "1"}


def _wait(condition, seconds=30.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- redaction ---------------------------------------------------------------------------------

REDACTED = [
    ("write to ada.lovelace+ml@example.co.uk please", "write to [email] please"),
    ("Mail: Grace_Hopper@navy.mil.", "Mail: [email]."),
    ("call +44 20 7946 0958 tonight", "call [phone] tonight"),
    ("or +1-202-555-0143", "or [phone]"),
    ("US office (555) 123-4567", "US office [phone]"),
    ("cell 555.123.4567 / 555 123 4567", "cell [phone] / [phone]"),
    ("London 020 7946 0958, mobile 07700 900123", "London [phone], mobile [phone]"),
    ("my card is 4111 1111 1111 1111", "my card is [card]"),
    ("4242-4242-4242-4242 exp 12/27", "[card] exp 12/27"),
    ("amex 3782 822463 10005 or 378282246310005", "amex [card] or [card]"),
    ("mastercard 5555555555554444 and 2223003122003222", "mastercard [card] and [card]"),
]
KEPT = [
    "Stage 1 takes 36 weeks at 15 hours a week",
    "I started in 2019 and want to finish by 2026; years 2012 2015 2019 2023 and 2023 2024 2025 2026",
    "Python 3.11.7, faiss-cpu 1.15.1, torch==2.13.0, version 2.0.1-rc3",
    "CIFAR-10, CIFAR-100, GPT-3, ResNet-50, BERT-base and MNIST's 60000 images",
    "on 2024-11-30 from 10:30-12:00 at 127.0.0.1:8000",
    "lr 1e-3, batch 256, 1,000,000 steps, 10 000 images, 0.001 weight decay",
    "ISBN 978-0-262-03561-3, arXiv:2309.06180, doi 10.1145/3600006.3613165",
    "order 12345678, page 123-456, random digits 1234 5678 9012 3456",
    "chapter 4.2 section 3 of 12; 175 billion parameters; 86400 seconds",
]


@pytest.mark.parametrize("text,expected", REDACTED)
def test_redaction_replaces_contacts_and_cards(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_redaction_keeps_ordinary_numbers(text):
    assert redact(text) == text


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112") and not luhn_ok("1234567890123456")


@pytest.mark.parametrize("enabled", [True, False])
def test_stored_messages_and_feedback_are_redacted_only_when_asked(fake_tutor, tmp_path, enabled):
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    tutor = fake_tutor(redact=enabled, **NO_LIMITS)
    secret = "I am ada@example.org, +44 20 7946 0958, card 4111 1111 1111 1111: what is ResNet?"
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        events = dict(sse_events(client.post("/api/chat", json={"message": secret}).text))
        assert events["meta"]["question"] == secret  # the answer in flight read the original
        done = {**events["done"], **events["meta"]}
        client.post("/api/feedback", json={"message_id": done["message_id"], "rating": "up",
                                           "comment": "reach me at ada@example.org"})
        stored = client.get(f"/api/conversations/{done['conversation_id']}").json()["messages"]
    with Session(engine) as session:
        rows = {m.role: m for m in session.exec(select(Message)).scalars()}
        comment = session.exec(select(Feedback.comment)).scalars().one()
    if enabled:
        assert stored[0]["content"] == "I am [email], [phone], card [card]: what is ResNet?"
        assert rows["assistant"].question == stored[0]["content"]
        assert comment == "reach me at [email]"
        everything = json.dumps([dict(r) for r in snapshot(engine)["message"]], default=str)
        # whole pieces, not "4111" alone: a random uuid hex holds it one run in ~50 (CI did)
        for piece in ("ada@example.org", "7946 0958", "4111 1111 1111 1111"):
            assert piece not in everything
    else:
        assert stored[0]["content"] == secret and comment == "reach me at ada@example.org"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_quiz_short_answer_is_graded_as_typed_and_stored_redacted_when_asked(fake_tutor, tmp_path, enabled):
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    tutor = fake_tutor(redact=enabled, **NO_LIMITS)
    item = QuizItem(kind="short", stage=2, concept_id="optimizers", question="What does Adam apply early on?",
                    answer=json.dumps("bias correction"), chunk_id="paper-adam#1")
    with Session(engine) as session:
        session.add(item)
        session.flush()
        quiz = Quiz(stage=2, item_ids=json.dumps([item.id]))
        session.add(quiz)
        session.commit()
        item_id, quiz_id = item.id, quiz.id
    typed = "bias correction (mail me at ada@example.org)"
    with TestClient(create_app(tutor.settings, tutor=tutor, engine=engine)) as client:
        r = client.post(f"/api/quizzes/{quiz_id}/answers", json={"answers": [{"item_id": item_id, "answer": typed}]})
    assert r.status_code == 200, r.text
    with Session(engine) as session:
        given = json.loads(session.exec(select(QuizAttempt.given)).scalars().one())
    assert given == ("bias correction (mail me at [email])" if enabled else typed)


def test_runs_of_years_are_never_cards_or_phones():
    for year in range(1950, 2100):
        years = " ".join(str(year + i) for i in range(4))  # "2023 2024 2025 2026" is card-shaped
        assert redact(years) == years
