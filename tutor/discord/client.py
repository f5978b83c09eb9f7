"""The bot's only way to the tutor: its HTTP API, over httpx, with the service key.

Errors, all raised as `ServiceError` with a message fit to show a learner:

    ServiceError        the service answered 4xx: its `detail` (written for users: "no stage 9; ...")
    ├── ServiceDown     connection refused, DNS, a 5xx: the service is not working
    ├── ServiceSlow     no answer within `timeout` seconds
    └── ServiceRefused  401: the service key is wrong (or the bridge is off: a 503 from /api/bridge)

A 5xx or 401 body is never shown: it may carry internals or set-up details; the learner
gets a plain sentence and the operator's log gets the service's words (`.detail`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx


class ServiceError(Exception):
    """str(error) is safe to show in Discord."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class ServiceDown(ServiceError):
    def __init__(self, message: str = "The tutor service is not answering right now. Please try again in a minute."):
        super().__init__(message, 503)


class ServiceSlow(ServiceError):
    def __init__(self, message: str = "The tutor is taking too long to answer. Please try again in a minute."):
        super().__init__(message, 504)


class ServiceRefused(ServiceError):
    def __init__(self, detail: str):
        super().__init__("The tutor bot is not set up correctly right now; please tell the server's admins.", 401)
        self.detail = detail


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return detail if isinstance(detail, str) and detail else "The tutor could not do that."


def _check(response: httpx.Response) -> None:
    if response.status_code == 401 or (response.status_code == 503 and "TUTOR_SERVICE_KEY" in response.text):
        raise ServiceRefused(_detail(response))
    if response.status_code >= 500:
        raise ServiceDown()
    if response.status_code >= 400:
        raise ServiceError(_detail(response), response.status_code)


def user_key(discord_user_id: int | str) -> str:
    return f"discord:{discord_user_id}"


class TutorClient:
    """One method per route the bot uses; all return parsed JSON."""

    def __init__(self, base_url: str, service_key: str | None, timeout: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Authorization": f"Bearer {service_key}"} if service_key else {}
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, transport=transport,
                                      timeout=httpx.Timeout(timeout, connect=5.0))

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, **kwargs):
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ServiceSlow() from None
        except httpx.HTTPError:
            raise ServiceDown() from None
        _check(response)
        return response.json()

    # -- the bridge's own routes (tutor/api/bridge.py) ------------------------------------------

    async def check(self) -> None:
        """One cheap call with the key: raises ServiceRefused (wrong key, bridge off) or ServiceDown."""
        await self._call("GET", "/api/bridge/threads/discord:0")

    async def learner_for(self, discord_user_id) -> dict:
        return await self._call("POST", f"/api/bridge/users/{user_key(discord_user_id)}")

    async def claim(self, event_id: str, learner_id: str | None = None) -> bool:
        params = {"learner_id": learner_id} if learner_id else None
        return (await self._call("POST", f"/api/bridge/events/{event_id}", params=params))["first"]

    async def thread_conversation(self, thread_key: str) -> str | None:
        return (await self._call("GET", f"/api/bridge/threads/{thread_key}"))["conversation_id"]

    async def remember_thread(self, thread_key: str, conversation_id: str, learner_id: str | None) -> None:
        await self._call("PUT", f"/api/bridge/threads/{thread_key}",
                         json={"conversation_id": conversation_id, "learner_id": learner_id})

    async def link(self, discord_user_id, code: str) -> dict:
        return await self._call("POST", f"/api/bridge/users/{user_key(discord_user_id)}/link", json={"code": code})

    async def set_reminders(self, discord_user_id, remind: bool) -> dict:
        return await self._call("PUT", f"/api/bridge/users/{user_key(discord_user_id)}/reminders",
                                json={"remind": remind})

    async def forget(self, discord_user_id) -> dict:
        return await self._call("DELETE", f"/api/bridge/users/{user_key(discord_user_id)}")

    async def quiz(self, learner_id: str, *, stage: int | None = None, concept: str | None = None,
                   item_ids: list[str] | None = None, count: int = 3) -> dict:
        body = {"learner_id": learner_id, "stage": stage, "concept": concept, "count": count}
        if item_ids:
            body["item_ids"] = item_ids
        return await self._call("POST", "/api/bridge/quizzes", json=body)

    async def claim_reminders(self) -> list[dict]:
        return (await self._call("POST", "/api/bridge/reminders/claim"))["due"]

    # -- public routes -----------------------------------------------------------------------------

    async def answer(self, quiz_id: str, learner_id: str, item_id: str, *, choice: int | None = None,
                     answer: bool | str | None = None) -> dict:
        given = {"item_id": item_id, "choice": choice} if choice is not None else {"item_id": item_id, "answer": answer}
        return await self._call("POST", f"/api/quizzes/{quiz_id}/answers",
                                json={"learner_id": learner_id, "answers": [given]})

    async def next_step(self, learner_id: str) -> dict:
        return await self._call("GET", f"/api/learners/{learner_id}/next")

    async def progress(self, learner_id: str) -> dict:
        return await self._call("GET", f"/api/learners/{learner_id}")

    async def reviews(self, learner_id: str) -> list[dict]:
        return (await self._call("GET", f"/api/learners/{learner_id}/reviews"))["due"]

    async def feedback(self, message_id: str, rating: str) -> dict:
        return await self._call("POST", "/api/feedback", json={"message_id": message_id, "rating": rating})

    async def ask(self, message: str, *, conversation_id: str | None, learner_id: str | None,
                  stage: int | None = None) -> AsyncIterator[tuple[str, dict]]:
        """The /api/chat event stream: ("meta" | "token" | "citations" | "done" | "error", data)."""
        body = {"message": message, "conversation_id": conversation_id, "learner_id": learner_id,
                "stage": stage, "stream": True}
        try:
            async with self.http.stream("POST", "/api/chat", json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    _check(response)
                async for event in _sse_events(response.aiter_lines()):
                    yield event
        except httpx.TimeoutException:
            raise ServiceSlow() from None
        except httpx.HTTPError:
            raise ServiceDown() from None


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict]]:
    """Server-Sent Events as tutor/api/streaming.py writes them: `event:` and `data:` lines,
    a blank line after each event."""
    kind, data = None, []
    async for line in lines:
        if not line:
            if kind and data:
                yield kind, json.loads("\n".join(data))
            kind, data = None, []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if kind and data:
        yield kind, json.loads("\n".join(data))
