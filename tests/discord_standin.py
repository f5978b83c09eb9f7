"""A loopback stand-in for Discord: just enough of the REST API and the gateway for
discord.py 2.7 to log in, sync slash commands, receive one interaction and one message,
and post its replies. Every REST request is recorded, so tests assert on exactly what
the bot sent to "Discord".

What discord.py needs, read from its source (discord/http.py, gateway.py, client.py):
  GET  /users/@me                  login (401 -> discord.LoginFailure)
  GET  /oauth2/applications/@me    application info, right after login
  WS   /gateway                    HELLO -> heartbeat + IDENTIFY -> READY (it does not ask
                                   GET /gateway/bot; it connects to DEFAULT_GATEWAY, which
                                   the bot points here under TUTOR_DISCORD_API_BASE)
  PUT  /applications/{app}/commands                      CommandTree.sync()
  POST /interactions/{id}/{token}/callback?with_response=1   defer
  PATCH/POST /webhooks/{app}/{token}[/messages/@original]    edit the response, follow-ups
  POST/PATCH /channels/{id}/messages[/{mid}]                  messages and edits
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time

from aiohttp import WSMsgType, web

TOKEN = "stand-in-token"
BOT = {"id": "4242", "username": "tutor", "discriminator": "0", "global_name": "Tutor", "avatar": None, "bot": True}
APP = "4343"
USER = {"id": "777", "username": "ana", "discriminator": "0", "global_name": "Ana", "avatar": None}
DM = "888"
GUILD, TEXT = "999", "321"  # a server and one of its text channels


def _json(data, status: int = 200) -> web.Response:
    # exactly "application/json": discord.py compares the header verbatim (no charset)
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


class Standin:
    def __init__(self):
        self.requests: list[dict] = []
        self.identified = threading.Event()
        self.synced = threading.Event()
        self._ids = itertools.count(100_000)
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(2)
        self.channel_of: dict[str, str] = {}  # interaction token -> its channel
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _start(self):
        app = web.Application()
        app.router.add_get("/gateway", self.gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    # -- what the test does -----------------------------------------------------------------

    def dispatch(self, event: str, data: dict) -> None:
        """Send a gateway DISPATCH to every connected bot."""
        async def send():
            for ws in self._sockets:
                await ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})
        asyncio.run_coroutine_threadsafe(send(), self.loop).result(10)

    def wait_for(self, predicate, timeout: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [r for r in list(self.requests) if predicate(r)]
            if hits:
                return hits
            time.sleep(0.05)
        seen = [f"{r['method']} {r['path']}" for r in self.requests]
        raise AssertionError(f"no such request within {timeout} s; seen: {seen}")

    def slash_command(self, name: str, options: dict, interaction_id: str = "5001", guild: bool = False) -> None:
        where = ({"guild_id": GUILD, "channel_id": TEXT, "member": self.member(), "context": 0,
                  "channel": {"id": TEXT, "type": 0, "name": "study-group", "position": 0, "guild_id": GUILD,
                              "permission_overwrites": [], "nsfw": False, "parent_id": None}}
                 if guild else {"channel_id": DM, "channel": {"id": DM, "type": 1, "recipients": [USER]},
                                "user": USER, "context": 1})
        self.channel_of[f"tok-{interaction_id}"] = where["channel_id"]
        self.dispatch("INTERACTION_CREATE", {
            "id": interaction_id, "application_id": APP, "type": 2, "token": f"tok-{interaction_id}", "version": 1,
            **where, "data": {"id": "6001", "name": name, "type": 1,
                              "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()]},
            "locale": "en-US", "app_permissions": "0", "entitlements": [], "authorizing_integration_owners": {},
            "attachment_size_limit": 10_000_000})

    def member(self) -> dict:
        return {"user": USER, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False,
                "flags": 0, "permissions": "0"}

    def mention_in(self, channel_id: str, content: str, message_id: str) -> None:
        """A mention in a server channel or thread (with the author as a member)."""
        data = self.message(channel_id, f"<@{BOT['id']}> {content}", author=USER, id=message_id, mentions=[BOT])
        self.dispatch("MESSAGE_CREATE", {**data, "guild_id": GUILD, "member": self.member()})

    def button(self, custom_id: str, interaction_id: str = "5002") -> None:
        self.dispatch("INTERACTION_CREATE", {
            "id": interaction_id, "application_id": APP, "type": 3, "token": f"tok-{interaction_id}", "version": 1,
            "channel_id": DM, "channel": {"id": DM, "type": 1, "recipients": [USER]}, "user": USER,
            "message": self.message(DM, "the answer"),
            "data": {"custom_id": custom_id, "component_type": 2},
            "locale": "en-US", "app_permissions": "0", "entitlements": [], "authorizing_integration_owners": {},
            "context": 1, "attachment_size_limit": 10_000_000})

    def mention(self, content: str, message_id: str = "7001") -> None:
        self.dispatch("MESSAGE_CREATE", self.message(DM, f"<@{BOT['id']}> {content}", author=USER, id=message_id,
                                                     mentions=[BOT]))

    # -- the fake Discord -------------------------------------------------------------------------

    def message(self, channel_id: str, content: str, *, author=BOT, id=None, mentions=()) -> dict:
        return {"id": id or str(next(self._ids)), "channel_id": channel_id, "author": author, "content": content,
                "timestamp": "2026-11-30T00:00:00+00:00", "edited_timestamp": None, "tts": False,
                "mention_everyone": False, "mentions": list(mentions), "mention_roles": [], "attachments": [],
                "embeds": [], "pinned": False, "type": 0, "flags": 0, "components": []}

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            if payload["op"] == 1:  # heartbeat
                await ws.send_json({"op": 11})
            elif payload["op"] == 2:  # identify
                self.identified.set()
                await ws.send_json({"op": 0, "t": "READY", "s": 1, "d": {
                    "v": 10, "user": BOT, "guilds": [], "session_id": "standin-session",
                    "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                    "application": {"id": APP, "flags": 0}, "private_channels": [], "relationships": [],
                    "shard": [0, 1]}})
        self._sockets.remove(ws)
        return ws

    async def rest(self, request: web.Request) -> web.Response:
        path, method = "/" + request.match_info["tail"], request.method
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        self.requests.append({"method": method, "path": path, "json": body, "query": dict(request.query),
                              "auth": request.headers.get("Authorization")})
        if request.headers.get("Authorization") != f"Bot {TOKEN}" and not path.startswith(("/webhooks", "/interactions")):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        if path == "/users/@me":
            return _json(BOT)
        if path == "/oauth2/applications/@me":
            return _json({"id": APP, "name": "Tutor", "icon": None, "description": "", "bot_public": True,
                                      "bot_require_code_grant": False, "owner": USER, "verify_key": "0" * 64,
                                      "flags": 0, "summary": ""})
        if path == "/gateway/bot":
            return _json({"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1,
                                      "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0,
                                                              "max_concurrency": 1}})
        if path.startswith(f"/applications/{APP}/") and path.endswith("/commands") and method == "PUT":
            self.synced.set()
            return _json([{**c, "id": str(6001 + i), "application_id": APP, "version": "1",
                                       "type": c.get("type", 1), "description": c.get("description", "")}
                                      for i, c in enumerate(body)])
        if path.startswith("/interactions/") and path.endswith("/callback"):
            return _json({"interaction": {"id": path.split("/")[2], "type": 2,
                                                      "response_message_loading": True}})
        if path.startswith("/webhooks/"):
            token = path.split("/")[3]
            original = "5" + token.removeprefix("tok-") + "0"  # the response's message id, stable per interaction
            return _json(self.message(self.channel_of.get(token, DM), (body or {}).get("content") or "",
                                      id=original if path.endswith("/@original") else None))
        if path.startswith("/channels/") and path.endswith("/threads") and method == "POST":
            parts = path.split("/")  # /channels/{channel}/messages/{message}/threads: the thread takes its id
            return _json({"id": parts[4], "guild_id": GUILD, "parent_id": parts[2], "owner_id": BOT["id"],
                          "name": body["name"], "type": 11, "message_count": 0, "member_count": 1,
                          "rate_limit_per_user": 0, "flags": 0,
                          "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "locked": False,
                                              "archive_timestamp": "2026-11-30T00:00:00+00:00"}})
        if path.startswith("/channels/") and "/messages" in path and method in ("POST", "PATCH"):
            parts = path.split("/")
            message_id = parts[4] if len(parts) > 4 else None
            return _json(self.message(parts[2], (body or {}).get("content") or "", id=message_id))
        return _json({"message": "Unknown", "code": 0}, status=404)
