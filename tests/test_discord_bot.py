"""`tutor discord`, the real process: against a loopback stand-in for Discord's REST API and
gateway (tests/discord_standin.py) and a real tutor service on loopback (fake LLM). It logs
in, syncs the slash commands, answers one slash-command interaction and one mention, and
the replies that reach the stand-in carry the answer, its sources footer and
allowed_mentions with parse []. Also: a missing or rejected token exits non-zero with a
clear message, and the bot process never loads torch, a model or an index."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.discord_standin import BOT, TEXT, TOKEN, Standin
from tests.fixtures_tutor import LiveServer, free_port
from tutor.api import create_app
from tutor.db import make_engine
from tutor.models import ChatThread, Feedback
from tutor.models import Message as StoredMessage

TUTOR = str(Path(sys.executable).parent / "tutor")
KEY = "e2e-service-key"
HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "xllamacpp", "onnxruntime",
         "tutor.answer", "tutor.embed", "tutor.index", "tutor.retrieve", "tutor.llm", "sqlmodel")


def bot_env(**extra) -> dict:
    """The bot's environment; by default its service is a closed loopback port (never a
    `tutor serve` someone runs on 8000)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TUTOR_", "DISCORD_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "TUTOR_SERVICE_KEY": KEY,
            "TUTOR_DISCORD_API_URL": f"http://127.0.0.1:{free_port()}", **extra}


@contextmanager
def running_bot(service_url: str, discord_api: Standin):
    """`tutor discord` against the stand-in, identified on its gateway; stopped on exit, its
    stderr left in the yielded dict under "err"."""
    proc = subprocess.Popen([TUTOR, "discord"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=bot_env(DISCORD_TOKEN=TOKEN, TUTOR_DISCORD_API_URL=service_url,
                                        TUTOR_DISCORD_API_BASE=discord_api.url))
    out = {"proc": proc}
    try:
        assert discord_api.identified.wait(60), "the bot never identified on the gateway"
        yield out
    finally:
        proc.terminate()
        try:
            out["err"] = proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            out["err"] = proc.communicate()[1]


def test_the_bot_process_imports_no_model_index_or_torch():
    code = ("import sys, tutor.cli, tutor.discord.bot, tutor.discord.handlers; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=bot_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_token_is_a_clear_error():
    out = subprocess.run([TUTOR, "discord"], capture_output=True, text=True, timeout=120, env=bot_env())
    assert out.returncode != 0
    assert "no Discord bot token: set DISCORD_TOKEN" in out.stderr
    assert "Traceback" not in out.stderr


def test_rejected_token_is_a_clear_error():
    with Standin() as discord_api:
        out = subprocess.run([TUTOR, "discord"], capture_output=True, text=True, timeout=120,
                             env=bot_env(DISCORD_TOKEN="wrong", TUTOR_DISCORD_API_BASE=discord_api.url))
    assert out.returncode != 0
    assert "Discord rejected the bot token" in out.stderr
    assert "Traceback" not in out.stderr


def test_commands_sync_to_the_configured_guilds():
    with Standin() as discord_api:
        proc = subprocess.Popen([TUTOR, "discord"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=bot_env(DISCORD_TOKEN=TOKEN, TUTOR_DISCORD_GUILDS="[111, 222]",
                                            TUTOR_DISCORD_API_BASE=discord_api.url))
        try:
            puts = discord_api.wait_for(lambda r: r["method"] == "PUT" and "/guilds/222/" in r["path"])
            assert discord_api.identified.wait(30)
        finally:
            proc.terminate()
            proc.communicate(timeout=20)
    synced = [r["path"] for r in discord_api.requests if r["method"] == "PUT"]
    assert synced == ["/applications/4343/guilds/111/commands", "/applications/4343/guilds/222/commands"]
    assert {c["name"] for c in puts[0]["json"]} >= {"ask", "quiz", "link"}


@pytest.fixture
def service(fake_tutor, tmp_path):
    tutor = fake_tutor(service_key=KEY)
    engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
    with LiveServer(create_app(tutor.settings, tutor=tutor, engine=engine)) as server:
        yield server.url, engine


def test_tutor_discord_end_to_end(service):
    service, engine = service
    with Standin() as discord_api:
        proc = subprocess.Popen([TUTOR, "discord"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=bot_env(DISCORD_TOKEN=TOKEN, TUTOR_DISCORD_API_URL=service,
                                            TUTOR_DISCORD_API_BASE=discord_api.url))
        try:
            assert discord_api.identified.wait(60), "the bot never identified on the gateway"
            assert discord_api.synced.wait(30), "the bot never synced its slash commands"
            synced = discord_api.wait_for(lambda r: r["method"] == "PUT" and r["path"].endswith("/commands"))
            names = {c["name"] for c in synced[0]["json"]}
            assert names == {"ask", "next", "progress", "quiz", "review", "link", "forget"}
            maps = Path(f"/proc/{proc.pid}/maps").read_text()
            assert "libtorch" not in maps and "faiss" not in maps and "llama" not in maps

            discord_api.slash_command("ask", {"question": "What is the key idea of ResNet? @everyone"})
            final = discord_api.wait_for(lambda r: r["method"] == "PATCH" and "@original" in r["path"]
                                         and "Sources:" in (r["json"] or {}).get("content", ""))[0]["json"]
            paths = [r["path"] for r in discord_api.requests]
            first_callback = next(i for i, p in enumerate(paths) if p.endswith("/callback"))
            assert first_callback < next(i for i, p in enumerate(paths) if p.startswith("/webhooks/"))  # defer first
            assert "ResNet" in final["content"] and "(stage" in final["content"]
            assert final["allowed_mentions"]["parse"] == []
            assert [b["custom_id"].split(":")[2] for row in final["components"] for b in row["components"]] == ["up", "down"]

            discord_api.mention("Which stage covers transformers?")
            reply = discord_api.wait_for(lambda r: r["method"] in ("POST", "PATCH") and r["path"].startswith("/channels/")
                                         and "Sources:" in (r["json"] or {}).get("content", ""))[0]["json"]
            assert reply["allowed_mentions"]["parse"] == []

            for r in discord_api.requests:  # every message the bot sent or edited pinged no one
                if r["json"] and isinstance(r["json"], dict) and "content" in r["json"]:
                    assert r["json"]["allowed_mentions"]["parse"] == [], r
                    assert not {"users", "roles"} & set(r["json"]["allowed_mentions"]), r
            defer = next(r for r in discord_api.requests if r["path"].endswith("/callback"))
            assert defer["json"]["type"] == 5  # deferred: "the bot is thinking"
            assert BOT["id"] not in final["content"]

            # the 👍 button under the answer, pressed: a component interaction becomes stored feedback
            up = final["components"][0]["components"][0]["custom_id"]
            discord_api.button(up, interaction_id="5002")
            thanks = discord_api.wait_for(lambda r: r["method"] == "PATCH" and "tok-5002" in r["path"])
            assert thanks[0]["json"]["content"].startswith("Thanks for the feedback")
            with Session(engine) as s:
                assert [f.rating for f in s.exec(select(Feedback)).all()] == [1]

            # /next through the real process: the study time reads "about N days", not "~0.3 weeks"
            discord_api.slash_command("next", {}, interaction_id="5003")
            shown = discord_api.wait_for(lambda r: r["method"] == "PATCH" and "tok-5003" in r["path"]
                                         and "What to learn next" in (r["json"] or {}).get("content", ""))
            text = shown[0]["json"]["content"]
            assert " days)" in text and " 0." not in text, text
        finally:
            proc.terminate()
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
        assert "Traceback" not in err, err[-2000:]


def test_a_service_that_refuses_the_key_stops_the_bot_at_start(service):
    url, _ = service
    out = subprocess.run([TUTOR, "discord"], capture_output=True, text=True, timeout=120,
                         env=bot_env(DISCORD_TOKEN=TOKEN, TUTOR_SERVICE_KEY="wrong", TUTOR_DISCORD_API_URL=url))
    assert out.returncode != 0
    assert f"the tutor service at {url} refused the bot: wrong or missing service key" in out.stderr
    assert "Traceback" not in out.stderr


def test_in_a_server_an_answer_opens_a_thread_that_holds_the_conversation(service):
    service, engine = service
    with Standin() as discord_api, running_bot(service, discord_api) as bot:
        discord_api.slash_command("ask", {"question": "What is the key idea of ResNet?"}, "5101", guild=True)
        made = discord_api.wait_for(lambda r: r["method"] == "POST" and r["path"].endswith("/threads"))[0]
        assert made["path"] == f"/channels/{TEXT}/messages/551010/threads"
        assert made["json"]["name"] == "What is the key idea of ResNet?"
        thread_id = made["path"].split("/")[4]
        deadline = time.monotonic() + 30  # the bot stores thread -> conversation right after creating it
        while time.monotonic() < deadline:
            with Session(engine) as s:
                if s.get(ChatThread, f"discord:{thread_id}"):
                    break
            time.sleep(0.05)
        discord_api.mention_in(thread_id, "And which stage is it in?", "7101")
        reply = discord_api.wait_for(lambda r: r["path"].startswith(f"/channels/{thread_id}/messages")
                                     and "Sources:" in ((r["json"] or {}).get("content") or ""))[0]["json"]
        assert reply["allowed_mentions"]["parse"] == []
        assert not [r for r in discord_api.requests if r["path"].endswith("/threads")][1:]  # no second thread
    err = bot["err"]
    with Session(engine) as s:
        users = s.exec(select(StoredMessage).where(StoredMessage.role == "user")).all()
        thread = s.get(ChatThread, f"discord:{thread_id}")
    assert len(users) == 2 and len({m.conversation_id for m in users}) == 1
    assert thread is not None and thread.conversation_id == users[0].conversation_id
    assert "Traceback" not in err, err[-2000:]


def test_a_concept_quiz_over_the_bot_names_the_shortfall_and_sends_the_items(service, corpus_index):
    """/quiz concept:transformers through the real bot process and the bridge, over the
    shipped bank: the intro names the concept and says how many of the 3 asked for are
    ready (/api/bridge/quizzes' message), and each item comes with its answer buttons."""
    from tutor.index import load_index
    from tutor.quiz.shipped import load_shipped

    service, engine = service
    load_shipped(engine, corpus_index.corpus_dir, load_index(corpus_index.index_dir).chunks)
    with Standin() as discord_api, running_bot(service, discord_api) as bot:
        discord_api.slash_command("quiz", {"concept": "transformers"}, "5201")
        intro = discord_api.wait_for(lambda r: r["method"] == "PATCH" and "tok-5201" in r["path"]
                                     and "Quiz, concept transformers" in ((r["json"] or {}).get("content") or ""))
        content = intro[0]["json"]["content"]
        assert "of the 3 questions you asked for are ready" in content and "Transformer architecture" in content, content
        items = discord_api.wait_for(lambda r: r["method"] == "POST" and "tok-5201" in r["path"]
                                     and (r["json"] or {}).get("components"))
        assert items and all(r["json"]["allowed_mentions"]["parse"] == [] for r in items)
    assert "Traceback" not in bot["err"], bot["err"][-2000:]
