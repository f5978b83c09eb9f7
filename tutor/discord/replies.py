"""Where a reply goes (the deferred response of an interaction, or a channel message that
is edited while the answer streams) and the buttons attached to replies. Every send and
edit passes AllowedMentions.none(): text from a question or from the model pings no one."""

from __future__ import annotations

import discord

from tutor.discord import render

NO_PINGS = discord.AllowedMentions.none()


class InteractionReply:
    """The deferred response of a slash command, then follow-ups."""

    def __init__(self, interaction):
        self.interaction = interaction

    async def show(self, text: str, view=None) -> None:
        kwargs = {"view": view} if view else {}
        await self.interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS, **kwargs)
        forget_view(view)

    async def more(self, text: str, view=None, ephemeral: bool = False) -> None:
        kwargs = {"view": view} if view else {}
        await self.interaction.followup.send(text, allowed_mentions=NO_PINGS, ephemeral=ephemeral, wait=True, **kwargs)
        forget_view(view)


class ChannelReply:
    """A message in a channel (a mention's thread or DM), edited while the answer streams."""

    def __init__(self, channel, reference=None):
        self.channel, self.reference, self.message = channel, reference, None

    async def show(self, text: str, view=None) -> None:
        kwargs = {"view": view} if view else {}
        if self.message is None:
            ref = {"reference": self.reference, "mention_author": False} if self.reference else {}
            self.message = await self.channel.send(text, allowed_mentions=NO_PINGS, **ref, **kwargs)
        else:
            await self.message.edit(content=text, allowed_mentions=NO_PINGS, **kwargs)
        forget_view(view)

    async def more(self, text: str, view=None, ephemeral: bool = False) -> None:
        kwargs = {"view": view} if view else {}
        await self.channel.send(text, allowed_mentions=NO_PINGS, **kwargs)
        forget_view(view)


def forget_view(view) -> None:
    """discord.py keeps every sent view with timeout=None in memory for the life of the
    process; ours need none of it (presses are routed by custom id in on_interaction)."""
    if view is not None:
        view.stop()


def buttons(*specs: tuple[str, str, discord.ButtonStyle]) -> discord.ui.View:
    """A view of buttons whose custom ids carry everything needed to handle a press, so a
    press works after a bot restart (see Handlers.component)."""
    view = discord.ui.View(timeout=None)
    for label, custom_id, style in specs:
        view.add_item(discord.ui.Button(label=label, custom_id=custom_id, style=style))
    return view


def feedback_buttons(message_id: str) -> discord.ui.View:
    return buttons(("👍", f"rt:fb:up:{message_id}", discord.ButtonStyle.secondary),
                   ("👎", f"rt:fb:down:{message_id}", discord.ButtonStyle.secondary))


def quiz_buttons(item: dict) -> discord.ui.View:
    base = f"rt:q:{item['quiz_id']}:{item['id']}"
    if item["kind"] == "short":  # the press opens a modal to type the answer in
        return buttons(("Answer", f"rt:qs:{item['quiz_id']}:{item['id']}", discord.ButtonStyle.primary))
    if item["kind"] == "mcq":
        return buttons(*[(render.LETTERS[i], f"{base}:{i}", discord.ButtonStyle.primary)
                         for i in range(len(item["options"]))])
    return buttons(("True", f"{base}:t", discord.ButtonStyle.primary), ("False", f"{base}:f", discord.ButtonStyle.primary))
