"""Admission: what a request must pass before any route, model or embedder sees it.

    1. size     the body is read up to TUTOR_MAX_BODY_BYTES; a larger Content-Length, or a
                body that grows past it while streaming in, is answered 413 at once
    2. rate     questions (the routes in QUESTION_ROUTES) are counted per learner, per
                client address and for the whole service, in counters all replicas share
                (tutor/ratelimit.py); over a limit: 429 with Retry-After
    3. queue    at most TUTOR_GENERATION_SLOTS answers are generated at once in this process,
                TUTOR_GENERATION_QUEUE more may wait; beyond that 503 with Retry-After at
                once, so an overloaded replica says so instead of making everyone wait

All three answer in a few milliseconds with `{"detail": ...}` naming the limit and the
setting behind it. One pure ASGI middleware, so the body is read once and replayed to the
route. The wall-clock limit of one generation lives where the answer streams
(tutor/api/streaming.py), because only there can the stream end with an error event.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import re
from dataclasses import dataclass, field

from anyio import to_thread

from tutor.config import Settings
from tutor.ratelimit import Decision, Limit, RateLimiter
from tutor.api.security import IPNetwork, scope_client

# (method, path pattern): the routes that run the embedder and the model. Only these are
# rate limited and queued; reading a profile or the roadmap is cheap.
QUESTION_ROUTES = (
    ("POST", re.compile(r"^/api/chat$")),
    ("POST", re.compile(r"^/v1/chat/completions$")),
    ("GET", re.compile(r"^/api/learners/(?P<learner>[^/]+)/next$")),
)


def _question_route(method: str, path: str) -> re.Match | None:
    for want, pattern in QUESTION_ROUTES:
        if method == want and (match := pattern.match(path)):
            return match
    return None


class TooLarge(Exception):
    pass


async def _read_body(receive, limit: int) -> bytes:
    """The whole body, or TooLarge as soon as it passes `limit` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away while sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _learner_of(body: bytes, match: re.Match) -> str | None:
    if "learner" in match.groupdict():
        return match["learner"]
    try:
        data = json.loads(body)
    except ValueError:
        return None  # the route answers 422 for it
    if isinstance(data, dict):
        learner = data.get("learner_id") or data.get("user")  # /v1 clients name the end user in `user`
        return learner if isinstance(learner, str) and learner else None
    return None


@dataclass
class GenerationQueue:
    """N running plus M waiting, in this process; anything more is refused at once.
    The mean time a generation holds its slot (moving average) sizes Retry-After."""

    slots: int
    waiting_room: int
    running: int = 0
    waiting: int = 0
    mean_seconds: float = 5.0  # until measured
    _free: asyncio.Condition | None = field(default=None, repr=False)

    def admit(self) -> bool:
        """Take a running or a waiting place without waiting; False when both are full."""
        if self.running + self.waiting >= self.slots + self.waiting_room:
            return False
        self.waiting += 1
        return True

    def leave(self) -> None:
        """Give back a place taken by `admit` without starting (the request was refused)."""
        self.waiting -= 1

    async def start(self) -> float:
        """Wait (in line, after `admit`) for a slot; returns the loop time it was taken."""
        self._free = self._free or asyncio.Condition()
        async with self._free:
            try:
                await self._free.wait_for(lambda: self.running < self.slots)
            finally:
                self.waiting -= 1
            self.running += 1
        return asyncio.get_running_loop().time()

    async def finish(self, started: float) -> None:
        held = asyncio.get_running_loop().time() - started
        self.mean_seconds = 0.8 * self.mean_seconds + 0.2 * held
        async with self._free:
            self.running -= 1
            self._free.notify()

    def retry_after(self) -> int:
        """Seconds until the line ahead has likely drained."""
        return min(300, max(1, math.ceil(self.mean_seconds * (self.running + self.waiting) / self.slots)))


class Admission:
    def __init__(self, app, settings: Settings, limiter: RateLimiter, queue: GenerationQueue,
                 proxies: list[IPNetwork]):
        self.app = app
        self.settings = settings
        self.limiter = limiter
        self.queue = queue
        self.proxies = proxies

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        limit = self.settings.max_body_bytes
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _refuse(send, 413, self._too_large(), {})
        try:
            body = await _read_body(receive, limit)
        except TooLarge:
            return await _refuse(send, 413, self._too_large(), {"Connection": "close"})
        except ConnectionError:
            return None
        replay = _replay(body, receive)
        match = _question_route(scope["method"], scope["path"])
        if match is None:
            return await self.app(scope, replay, send)
        # A place in the queue first (in memory): when the replica is full, a question is
        # refused without touching the shared counters, and is not counted against anyone.
        if not self.queue.admit():
            return await _refuse(send, 503, self._busy_message(), {"Retry-After": str(self.queue.retry_after())})
        limits = self._limits(scope, body, match)
        try:
            decision = self.limiter.precheck(limits) or await to_thread.run_sync(self.limiter.check, limits)
        except BaseException:
            self.queue.leave()
            raise
        if not decision.allowed:
            self.queue.leave()
            return await _refuse(send, 429, self._rate_message(decision), {"Retry-After": str(decision.retry_after)})
        started = await self.queue.start()
        try:
            await self.app(scope, replay, send)
        finally:
            await self.queue.finish(started)

    def _limits(self, scope, body: bytes, match: re.Match) -> list[Limit]:
        s = self.settings
        limits = [Limit("global", "", s.rate_limit_global)]
        if not self._is_service(scope):  # the Discord bot speaks for many users from one address
            limits.insert(0, Limit("address", scope_client(scope, self.proxies), s.rate_limit_per_address))
        if learner := _learner_of(body, match):
            limits.insert(0, Limit("learner", learner, s.rate_limit_per_learner))
        return limits

    def _is_service(self, scope) -> bool:
        key = self.settings.service_key
        sent = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        return bool(key) and hmac.compare_digest(sent.removeprefix("Bearer ").strip().encode(), key.encode())

    def _too_large(self) -> str:
        return (f"the request body is larger than {self.settings.max_body_bytes} bytes "
                "(TUTOR_MAX_BODY_BYTES): send a shorter message or fewer past turns")

    def _rate_message(self, decision: Decision) -> str:
        s = self.settings
        setting, per = {"learner": ("TUTOR_RATE_LIMIT_PER_LEARNER", s.rate_limit_per_learner),
                        "address": ("TUTOR_RATE_LIMIT_PER_ADDRESS", s.rate_limit_per_address),
                        "global": ("TUTOR_RATE_LIMIT_GLOBAL", s.rate_limit_global)}[decision.scope]
        who = {"learner": "this learner", "address": "this address", "global": "the service"}[decision.scope]
        return (f"too many questions: {who} may ask {per} per {s.rate_limit_window_seconds} s ({setting}); "
                f"retry in {decision.retry_after} s")

    def _busy_message(self) -> str:
        return (f"the tutor is busy: {self.queue.running} answers are being written and {self.queue.waiting} "
                f"are waiting (TUTOR_GENERATION_SLOTS={self.settings.generation_slots}, "
                f"TUTOR_GENERATION_QUEUE={self.settings.generation_queue}); retry shortly")


def _replay(body: bytes, receive):
    """The receive callable the route sees: the body once, then the real channel (disconnects)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
