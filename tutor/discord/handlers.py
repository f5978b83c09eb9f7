"""What each command, button and mention does. Plain async methods over discord.py's
Interaction and Message interfaces (tests pass hand-built fakes of them) and the service
client; bot.py only wires them to Discord.

Every handler follows the platform's rules in the same order:
  1. in-process duplicate check and rate limit (no I/O, so an answer goes out at once),
  2. defer (Discord wants an acknowledgement within 3 s; the answer takes longer),
  3. claim the event in the service (a replayed event, in any bot process, stops here),
  4. work, then replace the deferred message; every send and edit uses AllowedMentions.none(),
  5. errors become one friendly sentence (ServiceError); nothing internal reaches Discord.
"""

from __future__ import annotations

import logging
import re
import time

import discord

from tutor.discord import render
from tutor.discord.client import ServiceDown, ServiceError, TutorClient
from tutor.discord.limits import RateLimiter, Seen
from tutor.discord.replies import (NO_PINGS, ChannelReply, InteractionReply, buttons, feedback_buttons,
                                   forget_view, quiz_buttons)
from tutor.discord.split import clip, split

log = logging.getLogger("tutor.discord")
EDIT_INTERVAL = 1.0  # seconds between streamed edits: Discord rate-limits message edits
CONVERSATION_CHANNELS = {discord.ChannelType.public_thread, discord.ChannelType.private_thread,
                         discord.ChannelType.news_thread, discord.ChannelType.private}
DRAFT_LIMIT = 1900
FAILED = "Something went wrong on my side. Please try again in a minute."


class Handlers:
    def __init__(self, client: TutorClient, limiter: RateLimiter, edit_interval: float = EDIT_INTERVAL):
        self.client, self.limiter, self.edit_interval = client, limiter, edit_interval
        self.seen = Seen()

    # -- the shared opening of every command ------------------------------------------------------

    async def _open(self, interaction, *, ephemeral: bool = False, limited: bool = False) -> bool:
        """Steps 1-3 of the module docstring; False when the handler should stop."""
        if not self.seen.first(f"i{interaction.id}"):
            return False
        if limited and (wait := self.limiter.retry_after(interaction.user.id)) is not None:
            await interaction.response.send_message(
                f"You are asking quickly: please try again in {max(1, round(wait))} s.",
                ephemeral=True, allowed_mentions=NO_PINGS)
            return False
        try:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        except (discord.InteractionResponded, discord.HTTPException):
            return False  # already acknowledged: another delivery of the same interaction
        try:
            return await self.client.claim(f"discord:interaction:{interaction.id}")
        except ServiceError as exc:
            await _say(InteractionReply(interaction), exc)
            return False

    async def _run(self, reply, work) -> None:
        """Run `work()`; a service problem or a bug becomes one plain sentence in `reply`."""
        try:
            await work()
        except ServiceError as exc:
            await _say(reply, exc)
        except discord.HTTPException:
            log.exception("Discord refused a message")
        except Exception:
            log.exception("handler failed")
            await reply.show(FAILED)

    async def learner(self, user) -> str:
        return (await self.client.learner_for(user.id))["learner_id"]

    # -- /ask and mentions ----------------------------------------------------------------------

    async def ask(self, interaction, question: str, stage: int | None = None) -> None:
        if not await self._open(interaction, limited=True):
            return
        reply = InteractionReply(interaction)
        await self._run(reply, lambda: self._ask_in_channel(interaction, reply, question, stage))

    async def _ask_in_channel(self, interaction, reply, question: str, stage: int | None) -> None:
        learner_id = await self.learner(interaction.user)
        channel = interaction.channel
        conversation_id, in_conversation = await self._conversation_of(channel)
        key = f"discord:{channel.id}" if in_conversation else None
        conversation_id = await self.answer(reply, question, learner_id=learner_id, stage=stage,
                                            conversation_id=conversation_id, thread_key=key)
        if not in_conversation and conversation_id and channel is not None:
            await self._open_thread(await interaction.original_response(), question, conversation_id, learner_id)

    async def _conversation_of(self, channel) -> tuple[str | None, bool]:
        """(its conversation id, whether the channel holds one): threads and DMs do, and so
        does any channel the service already maps (a thread discord.py has not cached
        arrives with no type)."""
        if channel is None:
            return None, False
        conversation_id = await self.client.thread_conversation(f"discord:{channel.id}")
        return conversation_id, conversation_id is not None or channel.type in CONVERSATION_CHANNELS

    async def _open_thread(self, message, question: str, conversation_id: str, learner_id: str) -> None:
        """The answer's message starts a thread; follow-ups in it continue the conversation."""
        try:
            thread = await message.create_thread(name=question.strip()[:90] or "Question")
        except discord.HTTPException:  # no permission, or a channel without threads: the answer stands
            return
        await self.client.remember_thread(f"discord:{thread.id}", conversation_id, learner_id)

    async def mention(self, message, bot_user) -> None:
        """A message that mentions the bot, or a direct message: answered like /ask."""
        if message.author.bot or not self.seen.first(f"m{message.id}"):
            return
        question = message.content.replace(f"<@{bot_user.id}>", "").replace(f"<@!{bot_user.id}>", "").strip()
        if not question:
            return
        reply = ChannelReply(message.channel, reference=message)
        if (wait := self.limiter.retry_after(message.author.id)) is not None:
            await reply.show(f"You are asking quickly: please try again in {max(1, round(wait))} s.")
            return
        await self._run(reply, lambda: self._mention(message, question))

    async def _mention(self, message, question: str) -> None:
        learner_id = await self.learner(message.author)
        if not await self.client.claim(f"discord:message:{message.id}", learner_id):
            return
        channel = message.channel
        conversation_id, in_conversation = await self._conversation_of(channel)
        if in_conversation:
            key, reply = f"discord:{channel.id}", ChannelReply(channel, reference=message)
        else:  # a channel message opens a thread, which holds the conversation
            try:
                channel = await message.create_thread(name=question[:90])
                key, reply = f"discord:{channel.id}", ChannelReply(channel)
            except discord.HTTPException:
                key, reply = None, ChannelReply(channel, reference=message)
        await reply.show(render.draft(""))  # at once: the answer takes a few seconds
        await self.answer(reply, question, learner_id=learner_id, conversation_id=conversation_id, thread_key=key)

    async def answer(self, reply, question: str, *, learner_id: str, conversation_id: str | None,
                     stage: int | None = None, thread_key: str | None = None) -> str | None:
        """Stream the service's answer into `reply`: drafts at most every `edit_interval`
        seconds, then the checked answer in place of the draft, split under 2,000 characters,
        with 👍/👎 on the last part. Returns the conversation id."""
        text, last_edit, done, message_id = "", time.monotonic(), None, None
        async for kind, data in _too_long_said_plainly(self.client.ask(
                question, conversation_id=conversation_id, learner_id=learner_id, stage=stage)):
            if kind == "meta":
                message_id = data["message_id"]
                if thread_key and data["conversation_id"] != conversation_id:
                    await self.client.remember_thread(thread_key, data["conversation_id"], learner_id)
                conversation_id = data["conversation_id"]
            elif kind == "token":
                text += data["text"]
                if time.monotonic() - last_edit >= self.edit_interval:
                    await reply.show(render.draft(clip(text, DRAFT_LIMIT)))
                    last_edit = time.monotonic()
            elif kind == "done":
                done = data
            elif kind == "error":
                raise ServiceError(data["message"]) if data.get("status", 500) < 500 else ServiceDown(FAILED)
        if done is None:
            raise ServiceDown(FAILED)
        parts = split(render.answer(done))
        for i, part in enumerate(parts):
            view = feedback_buttons(message_id) if message_id and i == len(parts) - 1 else None
            await (reply.show(part, view) if i == 0 else reply.more(part, view))
        return conversation_id

    # -- learning commands ----------------------------------------------------------------------

    async def next_step(self, interaction) -> None:
        if await self._open(interaction):
            reply = InteractionReply(interaction)
            await self._run(reply, lambda: self._show(reply, interaction, self.client.next_step, render.next_step))

    async def progress(self, interaction) -> None:
        if await self._open(interaction):
            reply = InteractionReply(interaction)
            await self._run(reply, lambda: self._show(reply, interaction, self.client.progress, render.progress))

    async def _show(self, reply, interaction, fetch, fmt) -> None:
        body = await fetch(await self.learner(interaction.user))
        parts = split(fmt(body))
        await reply.show(parts[0])
        for part in parts[1:]:
            await reply.more(part)

    async def quiz(self, interaction, stage: int | None = None, concept: str | None = None, count: int = 3) -> None:
        if not await self._open(interaction):
            return
        reply = InteractionReply(interaction)

        async def work():
            if stage is None and not concept:
                raise ServiceError("Say which stage (1-4) or concept to be quizzed on, e.g. /quiz stage:2.")
            learner_id = await self.learner(interaction.user)
            body = await self.client.quiz(learner_id, stage=stage, concept=concept, count=count)
            on = f"concept {body['concept']}" if body.get("concept") else f"stage {body['stage']}"
            shortfall = f"\n{body['message']}" if body.get("message") else ""  # fewer ready than asked for
            await self._send_items(reply, body["items"], f"**Quiz, {on}**: press a button to "
                                   f"answer; each question is graded at once.{shortfall}")
        await self._run(reply, work)

    async def _send_items(self, reply, items: list[dict], intro: str) -> None:
        await reply.show(intro)
        for n, item in enumerate(items, 1):
            await reply.more(render.quiz_item(item, n, len(items)), quiz_buttons(item))

    async def review(self, interaction, remind: bool | None = None) -> None:
        if not await self._open(interaction, ephemeral=remind is not None):
            return
        reply = InteractionReply(interaction)
        await self._run(reply, lambda: self._review(reply, interaction.user, remind))

    async def _review(self, reply, user, remind: bool | None = None) -> None:
        if remind is not None:
            await self.client.set_reminders(user.id, remind)
            await reply.show("Reminders on: I will send you a direct message when reviews fall due, at most "
                             "once a day." if remind else "Reminders off.")
            return
        learner_id = await self.learner(user)
        due = await self.client.reviews(learner_id)
        if not due:
            await reply.show("Nothing is due for review right now. 🎉")
            return
        body = await self.client.quiz(learner_id, item_ids=[d["id"] for d in due[:5]])
        await self._send_items(reply, body["items"], f"**Review**: {len(due)} due; here are {len(body['items'])}.")

    async def link(self, interaction, code: str) -> None:
        if not await self._open(interaction, ephemeral=True):
            return
        reply = InteractionReply(interaction)

        async def work():
            await self.client.link(interaction.user.id, code)
            await reply.show("Linked ✅ Your Discord account now uses the learner profile from the web chat: "
                             "the same progress, quizzes and reviews.")
        await self._run(reply, work)

    async def forget(self, interaction) -> None:
        if await self._open(interaction, ephemeral=True):
            await InteractionReply(interaction).show(
                "This erases everything the tutor stores about you (conversations, progress, quizzes, "
                "reviews, links). It cannot be undone.",
                buttons(("Erase my data", f"rt:forget:{interaction.user.id}", discord.ButtonStyle.danger)))

    # -- short answers: a button opens a modal, its submission is graded --------------------------

    async def _ask_short_answer(self, interaction, rest: str) -> None:
        """No defer here: a modal must be the first response (it costs no I/O, so it is at once)."""
        quiz_id, item_id = rest.split(":")
        modal = discord.ui.Modal(title="Your answer", custom_id=f"rt:qa:{quiz_id}:{item_id}", timeout=900)
        modal.add_item(discord.ui.TextInput(label="Answer", custom_id="answer", max_length=300))
        await interaction.response.send_modal(modal)

    async def modal(self, interaction) -> None:
        custom_id = (interaction.data or {}).get("custom_id", "")
        if not custom_id.startswith("rt:qa:") or not await self._open(interaction, ephemeral=True):
            return
        reply = InteractionReply(interaction)
        quiz_id, item_id = custom_id.removeprefix("rt:qa:").split(":")
        text = _field(interaction.data, "answer") or ""

        async def work():
            if not text.strip():
                raise ServiceError("Type an answer first.")
            await self._graded(reply, interaction, quiz_id, item_id, answer=text)
        await self._run(reply, work)

    # -- buttons ----------------------------------------------------------------------------------

    async def component(self, interaction) -> None:
        """Every button press: the custom id says what it is (rt:<kind>:...)."""
        custom_id = (interaction.data or {}).get("custom_id", "")
        kind, _, rest = custom_id.removeprefix("rt:").partition(":")
        if kind == "qs" and custom_id.startswith("rt:") and self.seen.first(f"i{interaction.id}"):
            await self._ask_short_answer(interaction, rest)
            return
        if not custom_id.startswith("rt:") or kind not in ("fb", "q", "forget", "review"):
            return
        if not await self._open(interaction, ephemeral=True):
            return
        reply = InteractionReply(interaction)
        handle = {"fb": self._feedback, "q": self._grade, "forget": self._forget, "review": self._review_button}[kind]
        await self._run(reply, lambda: handle(reply, interaction, rest))

    async def _feedback(self, reply, interaction, rest: str) -> None:
        rating, _, message_id = rest.partition(":")
        learner_id = await self.learner(interaction.user)  # the claim names the user: erased with the learner
        if not await self.client.claim(f"discord:feedback:{message_id}:{interaction.user.id}", learner_id):
            await reply.show("You already rated this answer. Thanks!")
            return
        await self.client.feedback(message_id, rating)
        await reply.show("Thanks for the feedback! 🙏")

    async def _grade(self, reply, interaction, rest: str) -> None:
        quiz_id, item_id, given = rest.split(":")
        kwargs = {"answer": given == "t"} if given in ("t", "f") else {"choice": int(given)}
        await self._graded(reply, interaction, quiz_id, item_id, **kwargs)

    async def _graded(self, reply, interaction, quiz_id: str, item_id: str, **kwargs) -> None:
        learner_id = await self.learner(interaction.user)
        try:
            body = await self.client.answer(quiz_id, learner_id, item_id, **kwargs)
        except ServiceError as exc:
            if exc.status == 409:
                raise ServiceError("You already answered this question.") from None
            raise
        await reply.show(render.grade(body["results"][0]))

    async def _forget(self, reply, interaction, rest: str) -> None:
        if rest != str(interaction.user.id):
            await reply.show("This button is for someone else: use /forget to erase your own data.")
            return
        erased = (await self.client.forget(interaction.user.id))["erased"]
        self.limiter.forget(interaction.user.id)
        rows = sum(sum(counts.values()) for counts in erased.values())
        await reply.show(f"Done: everything the tutor stored about you is erased ({rows} records).")

    async def _review_button(self, reply, interaction, rest: str) -> None:
        await self._review(reply, interaction.user)

    # -- reminders ---------------------------------------------------------------------------------

    async def send_reminders(self, fetch_user) -> int:
        """DM each learner the service says is due (it marks them, so one DM a day at most)."""
        sent = 0
        for due in await self.client.claim_reminders():
            try:
                user = await fetch_user(int(due["user_id"].removeprefix("discord:")))
                view = buttons(("Start review", "rt:review", discord.ButtonStyle.primary))
                await user.send(f"📚 You have {due['due']} quiz question{'s' if due['due'] != 1 else ''} due "
                                "for review.", allowed_mentions=NO_PINGS, view=view)
                forget_view(view)
                sent += 1
            except (discord.HTTPException, ValueError):
                log.warning("could not DM %s a review reminder", due["user_id"])
        return sent


async def _say(reply, exc: ServiceError) -> None:
    """The learner gets the plain sentence; the operator's log gets a refusal's reason."""
    if detail := getattr(exc, "detail", None):
        log.error("the tutor service refused the bot: %s", detail)
    await reply.show(str(exc))


async def _too_long_said_plainly(events):
    """The service names its setting in a 413; a learner only needs the limit."""
    try:
        async for event in events:
            yield event
    except ServiceError as exc:
        limit = re.search(r"limit is (\d+)", str(exc))
        if exc.status == 413 and limit:
            raise ServiceError(f"That question is too long: please keep it under {int(limit.group(1)):,} characters.",
                               413) from None
        if exc.status == 422 and str(exc).startswith("stage:"):  # the request's own validation
            raise ServiceError("There is no such stage: the roadmap's stages are numbered from 1"
                               f"{_upper_bound(str(exc))}.", 422) from None
        raise


def _upper_bound(detail: str) -> str:
    bound = re.search(r"less than or equal to (\d+)", detail)
    return f" to {bound.group(1)}" if bound else ""


def _field(data: dict, custom_id: str) -> str | None:
    """A submitted modal field's value; Discord nests it in action rows or labels."""
    for component in (data or {}).get("components", []):
        for inner in component.get("components", []) + [component.get("component") or {}]:
            if inner.get("custom_id") == custom_id:
                return inner.get("value")
        if component.get("custom_id") == custom_id:
            return component.get("value")
    return None
