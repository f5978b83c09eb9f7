"""The bot's handlers (tutor/discord/handlers.py) against a real tutor service on loopback
(real index, embedder and SQLite, scripted LLM), with hand-built fakes of discord.py's
Interaction and Message at the boundary (tests/discord_fakes.py says why not dpytest).

Covered: defer first, streamed edits at most once a second, the checked answer replacing
the draft with its sources footer, allowed_mentions none on every message, threads as
conversations, duplicates, rate limit, service down or slow, over-long questions, quizzes
and their buttons, /link then the same learner's mastery, feedback, /forget, reminders."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import discord
import httpx
import pytest
from sqlmodel import Session, select

from tests.discord_fakes import Channel, Discord, Interaction, Message, User
from tests.fixtures_tutor import LiveServer, free_port
from tutor.api import create_app
from tutor.db import make_engine
from tutor.discord import render
from tutor.discord.client import TutorClient
from tutor.discord.handlers import Handlers, RateLimiter
from tutor.models import Feedback, Mastery, QuizAttempt, QuizItem, Review
from tutor.models import Message as StoredMessage

KEY = "handler-test-key"
NONE = {"parse": []}


@pytest.fixture
def service(fake_tutor, tmp_path):
    """start(script=None, delay=0.0) -> (base url, engine); the service runs until the test ends.
    start.llms holds each service's scripted LLM, in order (a test can speed one up)."""
    servers = []

    def start(script=None, delay=0.0, **overrides):
        tutor = fake_tutor(script, delay=delay, service_key=KEY, **overrides)
        start.llms.append(tutor.llm)
        engine = make_engine(f"sqlite:///{tmp_path / f'tutor-{len(servers)}.db'}")
        server = LiveServer(create_app(tutor.settings, tutor=tutor, engine=engine)).__enter__()
        servers.append(server)
        return server.url, engine

    start.llms = []
    yield start
    for server in servers:
        server.__exit__(None, None, None)


def run(coro_fn, url, *, per_minute=100, edit_interval=1.0, timeout=30.0):
    """Build handlers on a fresh service client, run `coro_fn(handlers)`, close the client."""
    async def main():
        client = TutorClient(url, KEY, timeout=timeout)
        try:
            return await coro_fn(Handlers(client, RateLimiter(per_minute), edit_interval))
        finally:
            await client.close()
    return asyncio.run(main())


def all_quiet(log: Discord) -> None:
    """Every message and edit that reached 'Discord' pinged no one."""
    for sent in log.texts():
        if sent.op == "thread":  # a thread's name, not a message: it cannot ping
            continue
        assert sent.allowed_mentions is not None and sent.allowed_mentions.to_dict() == NONE, sent


def stored(engine, role=None) -> list[StoredMessage]:
    with Session(engine) as s:
        rows = s.exec(select(StoredMessage)).all()
    return [m for m in rows if role is None or m.role == role]


def bank(engine, n=3, stage=1) -> None:
    with Session(engine) as session:
        session.add_all([QuizItem(stage=stage, concept_id="linear-algebra", kind="mcq", question=f"Q{i}: which?",
                                  options=json.dumps(["alpha", "beta", "gamma"]), answer="1",
                                  explanation="Because beta.", chunk_id="concept-linear-algebra#0",
                                  source_title="Linear algebra", source="corpus/roadmap.yaml") for i in range(n)])
        session.commit()


def test_ask_defers_first_streams_then_shows_the_checked_answer_with_sources_in_a_thread(service):
    # ~0.6 s a token: the extractive answer ("ResNet's key idea is residual learning [1].",
    # 7 pieces) streams for about 4 s, so the edits that stream it can be counted
    url, engine = service(delay=0.6)
    log, user, channel = Discord(), User(1), Channel(Discord())
    channel.log = log
    first = Interaction(log, user, channel)
    follow = {}

    async def scenario(h):
        await h.ask(first, "What is the key idea of ResNet?")
        service.llms[0].delay = 0.0  # only the first answer's edits are counted: the rest go fast
        thread = Channel(log, discord.ChannelType.public_thread, id=first.original.id)
        follow["i"] = Interaction(log, user, thread)
        await h.ask(follow["i"], "And which stage is it in?")
        # a thread discord.py has not cached arrives as a channel with no type: still the conversation
        uncached = Channel(log, None, id=first.original.id)
        await h.mention(Message(log, uncached, "<@555> And how long does it take?", author=user), User(555, bot=True))

    run(scenario, url)
    sent = log.sent
    assert sent[0].op == "defer"  # acknowledged before anything else, within Discord's 3 s
    drafts = [s for s in sent[:sent.index(next(s for s in sent if s.op == "thread"))]
              if s.op == "edit_original" and s.content.endswith(render.DRAFT_CURSOR)]
    assert len(drafts) >= 2, "the answer should stream as edits"
    gaps = [b.at - a.at for a, b in zip(drafts, drafts[1:])]
    assert min(gaps) >= 0.95, gaps  # at most about one edit a second
    final = [s for s in sent if s.op == "edit_original" and not s.content.endswith(render.DRAFT_CURSOR)][0]
    assert "Sources: [1]" in final.content and "(stage" in final.content
    assert "ResNet" in final.content
    assert [c.split(":")[2] for c in final.custom_ids()] == ["up", "down"]  # feedback buttons
    assert final.view.is_finished()  # not kept in discord.py's view store: presses route by custom id
    all_quiet(log)
    # the answer's message opened a thread; the follow-up there continued the same conversation
    assert [s.content for s in log.ops("thread")] == ["What is the key idea of ResNet?"]
    convos = {m.conversation_id for m in stored(engine)}
    assert len(convos) == 1 and len(stored(engine, "user")) == 3
    assert len(log.ops("thread")) == 1  # the mention in the thread opened no second one


def test_marks_for_refused_and_held_back_and_no_pings_from_model_output(service):
    invented = "@everyone Graduates of stage 2 receive a gold medal from the Pope in week 97 [1]."
    url, _ = service(lambda m: invented)
    log = Discord()
    inter = Interaction(log, User(2), Channel(log, discord.ChannelType.private))
    run(lambda h: h.ask(inter, "What does stage 2 cover? <@&123> @here"), url)
    final = log.ops("edit_original")[-1].content
    assert final.startswith(render.WITHDRAWN_MARK) or final.startswith(render.REFUSED_MARK)
    all_quiet(log)


def test_a_duplicated_interaction_is_answered_once_even_by_another_bot_process(service):
    url, engine = service()
    log = Discord()
    channel, user = Channel(log, discord.ChannelType.private), User(3)
    inter = Interaction(log, user, channel)
    again = Interaction(log, user, channel, id=inter.id)  # the same event delivered twice

    async def same_process(h):
        await h.ask(inter, "What is the key idea of ResNet?")
        await h.ask(again, "What is the key idea of ResNet?")
    run(same_process, url)
    third = Interaction(log, user, channel, id=inter.id)
    run(lambda h: h.ask(third, "What is the key idea of ResNet?"), url)  # a second bot process
    assert len(log.ops("defer")) == 2  # the other process acknowledged, then found the claim taken
    assert len([s for s in log.ops("edit_original") if "Sources" in s.content]) == 1
    assert len(stored(engine, "user")) == 1 and len(stored(engine, "assistant")) == 1


def test_rate_limit_answers_politely_without_asking_the_service(service):
    url, engine = service()
    log = Discord()
    channel, user = Channel(log, discord.ChannelType.private), User(4)

    async def scenario(h):
        for _ in range(3):
            await h.ask(Interaction(log, user, channel), "What is the key idea of ResNet?")
    run(scenario, url, per_minute=2)
    limited = log.ops("send_message")
    assert len(limited) == 1 and limited[0].ephemeral
    assert "try again in" in limited[0].content and limited[0].content.rstrip().endswith("s.")
    assert len(stored(engine, "user")) == 2
    all_quiet(log)


def test_service_down_or_slow_gives_a_friendly_message(service):
    log = Discord()
    inter = Interaction(log, User(5), Channel(log, discord.ChannelType.private))
    run(lambda h: h.ask(inter, "What is stage 2 about?"), f"http://127.0.0.1:{free_port()}")
    assert log.sent[0].op == "defer"
    assert log.ops("edit_original")[-1].content.startswith("The tutor service is not answering right now")

    url, _ = service(delay=2.0)
    slow = Interaction(log, User(5), Channel(log, discord.ChannelType.private))
    run(lambda h: h.ask(slow, "What is the key idea of ResNet?"), url, timeout=0.5)
    assert log.ops("edit_original")[-1].content.startswith("The tutor is taking too long")
    for s in log.texts():
        assert "Traceback" not in s.content and "httpx" not in s.content and "Error" not in s.content
    all_quiet(log)


def test_question_over_the_limit_is_refused_clearly_and_nothing_stored(service):
    url, engine = service()
    log = Discord()
    inter = Interaction(log, User(6), Channel(log, discord.ChannelType.private))
    run(lambda h: h.ask(inter, "why " * 1000), url)
    message = log.ops("edit_original")[-1].content
    assert message == "That question is too long: please keep it under 2,000 characters."
    assert stored(engine) == []


def test_quiz_buttons_grade_once_and_update_the_linked_learner(service):
    url, engine = service()
    bank(engine)
    code = httpx.post(f"{url}/api/learners/web-ana/link-codes").json()["code"]  # the widget's button
    log, user = Discord(), User(7)
    channel = Channel(log)

    async def scenario(h):
        await h.link(Interaction(log, user, channel), code)
        await h.quiz(Interaction(log, user, channel), stage=1, count=2)
        questions = [s for s in log.ops("followup") if s.view]
        press = questions[0].custom_ids()[1]  # "B": right
        await h.component(Interaction(log, user, channel, custom_id=press))
        await h.component(Interaction(log, user, channel, custom_id=questions[0].custom_ids()[0]))
        await h.component(Interaction(log, User(99), channel, custom_id=questions[1].custom_ids()[0]))
        return questions

    questions = run(scenario, url)
    texts = [s.content for s in log.ops("edit_original")]
    assert texts[0].startswith("Linked")
    assert len(questions) == 2 and "**A**. alpha" in questions[0].content
    assert texts[-3].startswith("✅ Right.") and "Source: Linear algebra (stage 1)" in texts[-3]
    assert texts[-2] == "You already answered this question."
    assert "another learner" in texts[-1]
    with Session(engine) as s:
        mastery = s.exec(select(Mastery).where(Mastery.learner_id == "web-ana")).all()
    assert [(m.concept_id, m.attempts, m.correct) for m in mastery] == [("linear-algebra", 1, 1)]
    with Session(engine) as s:  # the second press stored nothing
        assert len(s.exec(select(QuizAttempt)).all()) == 1
    progress = httpx.get(f"{url}/api/learners/web-ana").json()["progress"]  # what the widget shows
    stage1 = next(p for p in progress if p["stage"] == 1)
    assert "linear-algebra" in stage1["in_progress"] + stage1["mastered"]
    all_quiet(log)


def test_bad_input_is_named(service):
    url, engine = service()
    bank(engine)
    log, user, channel = Discord(), User(8), Channel(Discord())

    code = httpx.post(f"{url}/api/learners/web-bo/link-codes").json()["code"]

    async def scenario(h):
        await h.quiz(Interaction(log, user, channel), stage=9)
        await h.quiz(Interaction(log, user, channel))
        await h.link(Interaction(log, user, channel), "ABCDEFGH")
        await h.link(Interaction(log, user, channel), code)
        await h.link(Interaction(log, User(80), channel), code)  # the same code again
    run(scenario, url)
    texts = [s.content for s in log.ops("edit_original")]
    assert "no stage 9; stages are 1, 2, 3, 4" in texts[0]
    assert "Say which stage" in texts[1]
    assert "does not exist" in texts[2]
    assert texts[3].startswith("Linked") and "already used" in texts[4]


def test_feedback_button_stores_one_rating_per_user(service):
    url, engine = service()
    log, user = Discord(), User(9)
    channel = Channel(log, discord.ChannelType.private)

    async def scenario(h):
        inter = Interaction(log, user, channel)
        await h.ask(inter, "What is the key idea of ResNet?")
        up = log.ops("edit_original")[-1].custom_ids()[0]
        await h.component(Interaction(log, user, channel, custom_id=up))
        await h.component(Interaction(log, user, channel, custom_id=up))
    run(scenario, url)
    texts = [s.content for s in log.ops("edit_original")]
    assert texts[-2].startswith("Thanks") and texts[-1].startswith("You already rated")
    with Session(engine) as s:
        assert [f.rating for f in s.exec(select(Feedback)).all()] == [1]


def test_forget_needs_its_button_and_leaves_no_row(service):
    url, engine = service()
    log, user = Discord(), User(10)
    channel = Channel(log, discord.ChannelType.private)

    async def scenario(h):
        await h.ask(Interaction(log, user, channel), "What is the key idea of ResNet?")
        await h.forget(Interaction(log, user, channel))
        erase = log.ops("edit_original")[-1].custom_ids()[0]
        await h.component(Interaction(log, User(11), channel, custom_id=erase))  # someone else
        await h.component(Interaction(log, user, channel, custom_id=erase))
    run(scenario, url)
    texts = [s.content for s in log.ops("edit_original")]
    assert "for someone else" in texts[-2] and texts[-1].startswith("Done: everything")
    assert stored(engine) == []
    with Session(engine) as s:
        from tutor.models import ChatThread, ChatUser, Conversation, Learner
        for model in (Learner, ChatUser, ChatThread, Conversation):
            assert [r for r in s.exec(select(model)).all()
                    if "discord:10" in (getattr(r, "id", None), getattr(r, "learner_id", None))] == []


def test_mention_in_a_channel_opens_a_thread_and_answers_there(service):
    url, engine = service()
    log = Discord()
    channel, author, bot = Channel(log), User(12), User(555, bot=True)
    message = Message(log, channel, f"<@{bot.id}> What is the key idea of ResNet? @everyone", author=author)
    run(lambda h: h.mention(message, bot), url)
    assert log.ops("thread")[0].content.startswith("What is the key idea of ResNet?")
    in_thread = [s for s in log.texts() if s.where == message.id]
    assert in_thread and "Sources: [1]" in in_thread[-1].content
    all_quiet(log)
    replayed = Message(log, channel, message.content, author=author, id=message.id)
    before = len(log.sent)
    run(lambda h: h.mention(replayed, bot), url)  # a fresh process sees the same message again
    assert len(log.sent) == before and len(stored(engine, "user")) == 1


def test_review_reminders_opt_in_and_dm_at_most_once_a_day(service):
    url, engine = service()
    bank(engine, n=1)
    log, user = Discord(), User(13)
    channel = Channel(log, discord.ChannelType.private)
    with Session(engine) as s:
        item_id = s.exec(select(QuizItem)).first().id
    users = {13: user}

    async def fetch_user(uid):
        return users[uid]

    async def scenario(h):
        await h.review(Interaction(log, user, channel), remind=True)
        with Session(engine) as s:
            s.add(Review(learner_id="discord:13", item_id=item_id, card="{}",
                         due=datetime.now(timezone.utc) - timedelta(hours=1)))
            s.commit()
        first = await h.send_reminders(fetch_user)
        second = await h.send_reminders(fetch_user)
        await h.component(Interaction(log, user, channel, custom_id="rt:review"))
        return first, second
    assert run(scenario, url) == (1, 0)
    assert log.ops("edit_original")[0].content.startswith("Reminders on")
    assert "1 quiz question due" in user.sent[0].content and user.sent[0].custom_ids() == ["rt:review"]
    assert user.sent[0].allowed_mentions.to_dict() == NONE
    review = [s for s in log.ops("followup") if s.view]
    assert len(review) == 1 and "Q0: which?" in review[0].content


def test_short_answer_opens_a_modal_and_its_submission_is_graded(service):
    url, engine = service()
    with Session(engine) as session:
        session.add(QuizItem(stage=2, concept_id="optimizers", kind="short", question="Which optimizer adapts per-parameter steps?",
                             answer=json.dumps("Adam"), explanation="Adam keeps moment estimates.",
                             chunk_id="concept-optimizers#0", source_title="Optimizers", source="corpus/roadmap.yaml"))
        session.commit()
    log, user = Discord(), User(14)
    channel = Channel(log)

    async def scenario(h):
        await h.quiz(Interaction(log, user, channel), stage=2, count=1)
        press = [s for s in log.ops("followup") if s.view][0].custom_ids()[0]
        opener = Interaction(log, user, channel, custom_id=press)
        await h.component(opener)
        modal_id = log.modals[0].custom_id
        await h.modal(Interaction(log, user, channel, custom_id=modal_id, fields={"answer": "adam"}))
        await h.modal(Interaction(log, user, channel, custom_id=modal_id, fields={"answer": "sgd"}))
        return press
    press = run(scenario, url)
    assert press.startswith("rt:qs:")
    modal = log.ops("modal")[0]
    assert log.sent[log.sent.index(modal) - 1].op == "followup"  # the modal is the press's first response
    texts = [s.content for s in log.ops("edit_original")]
    assert texts[-2].startswith("✅ Right.") and "Source: Optimizers (stage 2)" in texts[-2]
    assert texts[-1] == "You already answered this question."


def test_next_progress_and_an_unknown_stage(service):
    url, _ = service()
    log, user = Discord(), User(15)
    channel = Channel(log, discord.ChannelType.private)

    async def scenario(h):
        await h.next_step(Interaction(log, user, channel))
        await h.progress(Interaction(log, user, channel))
        await h.ask(Interaction(log, user, channel), "What is stage 9 about?", stage=9)
    run(scenario, url)
    texts = [s.content for s in log.ops("edit_original")]
    assert texts[0].startswith("**What to learn next** (you are in stage 1") and "• **" in texts[0]
    assert " days)" in texts[0] and " 0." not in texts[0], texts[0]  # "about 2 days", not "~0.3 weeks"
    assert texts[1].startswith("**Your progress**") and "Stage 4" in texts[1]
    assert texts[2] == "There is no such stage: the roadmap's stages are numbered from 1 to 4."
    all_quiet(log)


def test_a_wrong_service_key_is_not_shown_to_learners(service):
    url, engine = service()
    log = Discord()
    inter = Interaction(log, User(16), Channel(log, discord.ChannelType.private))

    async def main():
        client = TutorClient(url, "not-the-key")
        try:
            await Handlers(client, RateLimiter(10)).ask(inter, "What is the key idea of ResNet?")
        finally:
            await client.close()
    asyncio.run(main())
    shown = log.ops("edit_original")[-1].content
    assert shown == "The tutor bot is not set up correctly right now; please tell the server's admins."
    assert stored(engine) == []
