"""`tutor discord`: the bot process. It wires discord.py to the handlers (handlers.py) and
talks to the tutor only over HTTP (client.py): no model, no index, no torch in this process
(tests/test_discord_bot.py checks sys.modules and the process's memory map), so it stays small and several bots can
share one service.

Intents: only the default, unprivileged ones. Slash commands and buttons need none; a
message that mentions the bot, and a direct message, carry their text without the
privileged Message Content intent, so mentions work too.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Literal

import discord
from discord import app_commands

from tutor.config import Settings
from tutor.discord.client import ServiceError, ServiceRefused, TutorClient
from tutor.discord.handlers import Handlers
from tutor.discord.limits import RateLimiter
from tutor.discord.replies import NO_PINGS
from tutor.errors import ConfigError

log = logging.getLogger("tutor.discord")
discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # never joins voice: no warnings about its libraries


class TutorBot(discord.Client):
    def __init__(self, handlers: Handlers, guilds: list[int], reminder_seconds: float):
        super().__init__(intents=discord.Intents.default(), allowed_mentions=NO_PINGS)
        self.handlers, self.sync_guilds, self.reminder_seconds = handlers, guilds, reminder_seconds
        self.tree = app_commands.CommandTree(self)
        register(self.tree, handlers)

    async def setup_hook(self) -> None:
        """Sync the slash commands at start: per guild (instant) or globally."""
        if self.sync_guilds:
            for guild_id in self.sync_guilds:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        self._reminders = asyncio.create_task(self._remind())

    async def on_ready(self) -> None:
        log.info("logged in to Discord as %s (%s)", self.user, self.user.id if self.user else "?")

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or message.author.id == self.user.id:
            return
        if message.guild is None or self.user in message.mentions:
            await self.handlers.mention(message, self.user)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type == discord.InteractionType.component:  # slash commands go through the tree
            await self.handlers.component(interaction)
        elif interaction.type == discord.InteractionType.modal_submit:
            await self.handlers.modal(interaction)

    async def _remind(self) -> None:
        await self.wait_until_ready()
        while not self.is_closed():
            try:
                await self.handlers.send_reminders(self.fetch_user)
            except ServiceError as exc:
                log.warning("review reminders skipped: %s", exc)
            except Exception:  # keep the loop alive: the next poll may work
                log.exception("review reminders failed")
            await asyncio.sleep(self.reminder_seconds)


def register(tree: app_commands.CommandTree, h: Handlers) -> None:
    @tree.command(name="ask", description="Ask the tutor about the roadmap (answers cite their sources)")
    @app_commands.describe(question="your question", stage="only use material of this stage")
    async def ask(interaction: discord.Interaction, question: str, stage: int | None = None):
        await h.ask(interaction, question, stage)

    @tree.command(name="next", description="What to learn next, from your progress and the prerequisites")
    async def next_(interaction: discord.Interaction):
        await h.next_step(interaction)

    @tree.command(name="progress", description="Your progress per roadmap stage")
    async def progress(interaction: discord.Interaction):
        await h.progress(interaction)

    @tree.command(name="quiz", description="A practice quiz: one button per option, graded at once")
    @app_commands.describe(stage="roadmap stage (1-4)", concept="a concept id, e.g. linear-algebra",
                           count="how many questions (1-10)")
    async def quiz(interaction: discord.Interaction, stage: int | None = None, concept: str | None = None,
                   count: app_commands.Range[int, 1, 10] = 3):
        await h.quiz(interaction, stage, concept, count)

    @tree.command(name="review", description="Quiz questions due for spaced review; remind:on for daily DMs")
    @app_commands.describe(remind="turn review reminders by direct message on or off")
    async def review(interaction: discord.Interaction, remind: Literal["on", "off"] | None = None):
        await h.review(interaction, None if remind is None else remind == "on")

    @tree.command(name="link", description="Use your web-chat learner profile here (code from the chat window)")
    @app_commands.describe(code="the 8-character code the tutor's chat window shows")
    async def link(interaction: discord.Interaction, code: str):
        await h.link(interaction, code)

    @tree.command(name="forget", description="Erase everything the tutor stores about you")
    async def forget(interaction: discord.Interaction):
        await h.forget(interaction)


def _point_at(base: str) -> None:
    """Tests only (TUTOR_DISCORD_API_BASE): a loopback stand-in for Discord's REST API and gateway."""
    import yarl

    base = base.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/gateway")


async def _check_service(client: TutorClient, url: str) -> None:
    """A wrong key stops the bot at start; a service not up yet only warns (it may start later)."""
    try:
        await client.check()
    except ServiceRefused as exc:
        await client.close()
        raise ConfigError(f"the tutor service at {url} refused the bot: {exc.detail}") from None
    except ServiceError:
        log.warning("the tutor service at %s is not answering yet; commands will say so until it does", url)


def token_from(settings: Settings) -> str:
    token = settings.discord_token or os.environ.get("DISCORD_TOKEN")
    if not token or not token.strip():
        raise ConfigError("no Discord bot token: set DISCORD_TOKEN (or TUTOR_DISCORD_TOKEN) to the token on "
                          "the Bot page of your application in the Discord Developer Portal")
    return token.strip()


async def run_bot(settings: Settings) -> None:
    token = token_from(settings)
    if not settings.service_key:
        raise ConfigError("no service key: set TUTOR_SERVICE_KEY to the same value for `tutor serve` and "
                          "`tutor discord`")
    if base := os.environ.get("TUTOR_DISCORD_API_BASE"):
        _point_at(base)
    client = TutorClient(settings.discord_api_url, settings.service_key, settings.discord_timeout)
    await _check_service(client, settings.discord_api_url)
    handlers = Handlers(client, RateLimiter(settings.discord_rate_per_minute))
    bot = TutorBot(handlers, settings.discord_guilds, settings.discord_reminder_poll_seconds)
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure:
        raise ConfigError("Discord rejected the bot token: copy it again from the Bot page of your "
                          "application (Reset Token) into DISCORD_TOKEN") from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError("Discord refused an intent the bot asked for: enable it on the Bot page") from None
    finally:
        await client.close()
