"""Hand-built stand-ins for the discord.py objects the handlers touch (Interaction,
its response and followup webhook, Message, channels, threads, users).

Why fakes and not dpytest: dpytest drives a bot through message events only; it cannot
create application-command or component interactions, and slash commands and buttons are
most of the bridge. discord.py's own Interaction needs a connection state and a live
webhook adapter to do anything. These fakes implement only the methods the handlers call,
and record every call (with its allowed_mentions and view) in one `Discord` log so tests
assert on what would have reached Discord. The real discord.py objects are exercised by
the end-to-end test (test_discord_bot.py) against a loopback stand-in for Discord.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import discord

_ids = itertools.count(10_000)


@dataclass
class Sent:
    op: str  # defer | send_message | edit_original | followup | channel_send | edit | thread
    content: str | None = None
    allowed_mentions: discord.AllowedMentions | None = None
    view: discord.ui.View | None = None
    ephemeral: bool = False
    at: float = field(default_factory=time.monotonic)
    where: int | None = None  # channel id

    def custom_ids(self) -> list[str]:
        return [c.custom_id for c in self.view.children] if self.view else []


class Discord:
    """The log of everything the handlers sent."""

    def __init__(self):
        self.sent: list[Sent] = []
        self.modals: list[discord.ui.Modal] = []

    def ops(self, *names) -> list[Sent]:
        return [s for s in self.sent if not names or s.op in names]

    def texts(self) -> list[Sent]:
        return [s for s in self.sent if s.content is not None]


@dataclass
class User:
    id: int
    bot: bool = False
    sent: list = field(default_factory=list)

    async def send(self, content, *, allowed_mentions=None, view=None):
        self.sent.append(Sent("dm", content, allowed_mentions, view))


class Channel:
    def __init__(self, log: Discord, type=discord.ChannelType.text, id=None):
        self.log, self.type, self.id = log, type, id or next(_ids)

    async def send(self, content, *, allowed_mentions=None, view=None, reference=None, mention_author=None):
        self.log.sent.append(Sent("channel_send", content, allowed_mentions, view, where=self.id))
        return Message(self.log, self, content)


class Message:
    def __init__(self, log: Discord, channel: Channel, content: str, author: User | None = None, id=None,
                 can_thread: bool = True):
        self.log, self.channel, self.content, self.author = log, channel, content, author
        self.id, self.can_thread = id or next(_ids), can_thread

    async def edit(self, *, content=None, allowed_mentions=None, view=None):
        self.log.sent.append(Sent("edit", content, allowed_mentions, view, where=self.channel.id))
        self.content = content

    async def create_thread(self, *, name):
        if not self.can_thread:
            raise discord.Forbidden(_response(403), "Missing Permissions")
        self.log.sent.append(Sent("thread", name, where=self.id))
        return Channel(self.log, discord.ChannelType.public_thread, id=self.id)  # a thread shares its message's id


def _response(status: int):
    class R:
        reason = "stand-in"

    r = R()
    r.status = status
    return r


class Response:
    def __init__(self, interaction: Interaction):
        self.interaction, self.done = interaction, False

    async def defer(self, *, thinking=False, ephemeral=False):
        if self.done:
            raise discord.InteractionResponded(self.interaction)
        self.done = True
        self.interaction.log.sent.append(Sent("defer", ephemeral=ephemeral))

    async def send_message(self, content, *, ephemeral=False, allowed_mentions=None):
        self.done = True
        self.interaction.log.sent.append(Sent("send_message", content, allowed_mentions, ephemeral=ephemeral))

    async def send_modal(self, modal):
        if self.done:
            raise discord.InteractionResponded(self.interaction)
        self.done = True
        self.interaction.log.sent.append(Sent("modal", modal.custom_id))
        self.interaction.log.modals.append(modal)

    def is_done(self) -> bool:
        return self.done


class Followup:
    def __init__(self, interaction: Interaction):
        self.interaction = interaction

    async def send(self, content, *, allowed_mentions=None, ephemeral=False, wait=False, view=None):
        self.interaction.log.sent.append(Sent("followup", content, allowed_mentions, view, ephemeral,
                                              where=self.interaction.channel.id))
        return Message(self.interaction.log, self.interaction.channel, content)


class Interaction:
    def __init__(self, log: Discord, user: User, channel: Channel, *, id=None, custom_id: str | None = None,
                 fields: dict | None = None):
        self.log, self.user, self.channel = log, user, channel
        self.id = id or next(_ids)
        self.type = (discord.InteractionType.modal_submit if fields is not None else
                     discord.InteractionType.component if custom_id else discord.InteractionType.application_command)
        self.data = {"custom_id": custom_id} if custom_id else {}
        if fields is not None:  # a submitted modal, shaped as Discord sends it (labels around inputs)
            self.data["components"] = [{"type": 18, "component": {"type": 4, "custom_id": k, "value": v}}
                                       for k, v in fields.items()]
        self.response, self.followup = Response(self), Followup(self)
        self.original = Message(log, channel, "")

    async def edit_original_response(self, *, content=None, allowed_mentions=None, view=None):
        self.log.sent.append(Sent("edit_original", content, allowed_mentions, view, where=self.channel.id))
        self.original.content = content
        return self.original

    async def original_response(self):
        return self.original
