"""Bridge a synchronous event iterator (the model runs on a worker thread) to an async
HTTP stream, stop the model when the client goes away, and send the stream as Server-Sent
Events with FastAPI's own `fastapi.sse` (EventSourceResponse, ServerSentEvent).

The worker checks `cancel()` between tokens; `cancel` becomes true when the client
disconnects (polled) or when the response task is cancelled (Starlette does that on
disconnect), so the model stops computing instead of finishing an answer nobody reads.

A generation also has a wall-clock limit (TUTOR_GENERATION_SECONDS): past it the worker is
told to stop and the stream ends with an "error" event (HTTP 504 for a non-streaming
request) even if the backend is stuck and never yields again, so no client waits forever.

The routes return an `EventSourceResponse` rather than use FastAPI's generator form
(`response_class=EventSourceResponse` on a route that yields): /api/chat and
/v1/chat/completions answer JSON or a stream from one route, as the body's `stream` asks,
and a generator route can only stream. So `event_stream` writes each `ServerSentEvent`
with FastAPI's `format_sse_event`, as its router does, except that JSON keeps non-ASCII
text as it is (what these routes always sent). The router's idle keep-alive comments
(": ping" every 15 s) belong to the generator form and are not sent here, as before.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator

from fastapi.encoders import jsonable_encoder
from fastapi.sse import EventSourceResponse, ServerSentEvent, format_sse_event
from starlette.requests import Request

_END = object()
POLL_SECONDS = 0.25
# the headers FastAPI's router puts on an SSE route: no caching, no buffering in nginx
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def bridge(request: Request, produce: Callable[[Callable[[], bool]], Iterator]) -> AsyncIterator:
    cancelled = threading.Event()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def work() -> None:
        items = produce(cancelled.is_set)
        try:
            for item in items:
                loop.call_soon_threadsafe(queue.put_nowait, item)
                if cancelled.is_set():
                    break
        except Exception as exc:  # surfaced to the consumer, which decides what to send
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            close = getattr(items, "close", None)
            if close:
                close()  # runs the producer's finally (records a failed turn)
            loop.call_soon_threadsafe(queue.put_nowait, _END)

    loop.run_in_executor(None, work)
    seconds = request.app.state.tutor_state.settings.generation_seconds
    deadline = loop.time() + seconds
    pending = None
    try:
        while True:
            if stopping(request.app).is_set():  # SIGTERM (tutor serve): end with a reason, not a cut
                cancelled.set()
                yield "error", {"message": "the server is shutting down; ask again in a moment", "status": 503}
                return
            pending = pending or asyncio.ensure_future(queue.get())
            left = deadline - loop.time()
            if left <= 0:
                cancelled.set()
                yield "error", {"message": f"the answer took longer than {seconds:g} s (TUTOR_GENERATION_SECONDS) "
                                           "and was stopped; ask again, or ask something narrower",
                                "status": 504}
                return
            done, _ = await asyncio.wait({pending}, timeout=min(POLL_SECONDS, left))
            if not done:
                if await request.is_disconnected():
                    return
                continue
            item, pending = pending.result(), None
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        cancelled.set()
        if pending is not None:
            pending.cancel()


def stopping(app) -> threading.Event:
    """Set when the server is told to stop (`tutor serve` on SIGTERM or Ctrl-C): every open
    stream then ends with an "error" event within POLL_SECONDS and its model is stopped, so
    the server can exit while clients know their answer was cut short, and why."""
    if not hasattr(app.state, "stopping"):
        app.state.stopping = threading.Event()
    return app.state.stopping


def event_stream(events: AsyncIterator[ServerSentEvent]) -> EventSourceResponse:
    """The response that sends `events` as they come (text/event-stream)."""
    return EventSourceResponse(_encoded(events), headers=SSE_HEADERS)


async def _encoded(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        yield encode(event)


def encode(event: ServerSentEvent) -> bytes:
    """One event in the wire format: `data` as JSON (`raw_data` as given), then a blank line."""
    data = event.raw_data
    if data is None and event.data is not None:
        data = json.dumps(jsonable_encoder(event.data), ensure_ascii=False)
    return format_sse_event(data_str=data, event=event.event, id=event.id, retry=event.retry,
                            comment=event.comment)


def documented(description: str, events: tuple[str, ...] = (), data: dict | None = None) -> dict:
    """The `responses=` entry of a route that may stream: its 200 also as text/event-stream,
    with an item schema like the one FastAPI writes for its own SSE routes (OpenAPI 3.2
    `itemSchema`): the event names it sends, `data` JSON unless `data` says otherwise."""
    item = {"type": "object", "required": ["data"], "properties": {
        "event": {"type": "string", **({"enum": list(events)} if events else {})},
        "data": data or {"type": "string", "contentMediaType": "application/json"}}}
    return {200: {"description": description, "content": {"text/event-stream": {"itemSchema": item}}}}
