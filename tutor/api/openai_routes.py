"""OpenAI-compatible endpoints, so any OpenAI client or chat UI can use the tutor.

The last message must come from the user; earlier user/assistant messages are the
conversation (follow-ups are condensed with them). System messages are ignored: the
tutor's grounding prompt is not negotiable. Citations travel in an extra `citations`
field on the completion (and on the final chunk when streaming).
"""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Request
from fastapi.sse import ServerSentEvent

from tutor.answer import Turn, held_back_note
from tutor.api.deps import State, TutorDep
from tutor.api.schemas import OpenAIChatRequest
from tutor.api.streaming import bridge, documented, event_stream
from tutor.errors import InvalidInput
from tutor.turns import error_from_event, run_turn

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "roadmap-tutor"


def _text(content) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _split(body: OpenAIChatRequest) -> tuple[str, list[Turn]]:
    turns = [Turn(m.role, _text(m.content)) for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise InvalidInput("the last message must have role 'user'")
    return turns[-1].content, turns[:-1]


@router.get("/models", summary="The one model this service offers")
def models() -> dict:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                                        "owned_by": "roadmap-tutor"}]}


@router.post("/chat/completions", summary="OpenAI-compatible chat completion, stream or not",
             responses=documented("a chat.completion; with `stream`, chat.completion.chunk objects as "
                                  "`data:` lines, then `data: [DONE]`",
                                  data={"type": "string", "description": "a JSON chunk, or [DONE] last"}))
async def chat_completions(body: OpenAIChatRequest, request: Request, tutor: TutorDep, state: State):
    question, history = _split(body)
    tutor.validate(question)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def produce(cancel):
        return run_turn(tutor, state.engine, question, history=history, cancel=cancel)

    events = bridge(request, produce)
    if body.stream:
        return event_stream(_chunks(events, completion_id, created))
    answer = None
    async for kind, payload in events:
        if kind == "done":
            answer = payload
        elif kind == "error":
            raise error_from_event(payload)
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer.answer}}],
            **_extras(answer)}


def _extras(answer) -> dict:
    return {"citations": [c.__dict__ for c in answer.citations], "refused": answer.refused,
            "withdrawn": bool(answer.withdrawn), "held_back": list(answer.held_back),
            "support": round(answer.support, 3)}


def _chunk(completion_id: str, created: int, delta: dict, finish=None, **extra) -> ServerSentEvent:
    return ServerSentEvent(data={"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                 "model": MODEL_ID, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                                 **extra})


async def _chunks(events, completion_id: str, created: int):
    """OpenAI's stream: unnamed events whose data is a chunk (an error as {"error": ...}),
    ended by the literal `data: [DONE]`."""
    yield _chunk(completion_id, created, {"role": "assistant", "content": ""})
    async for kind, payload in events:
        if kind == "token":
            yield _chunk(completion_id, created, {"content": payload})
        elif kind == "done":
            if payload.withdrawn:  # the streamed draft was held back: say so at the end
                yield _chunk(completion_id, created, {"content": f"\n\n{payload.answer}"})
            for sentence in payload.added:  # composed from the sources after the draft
                yield _chunk(completion_id, created, {"content": f"\n\n{sentence}"})
            if payload.held_back and not payload.withdrawn:  # deltas cannot be taken back: name the cut ones
                yield _chunk(completion_id, created, {"content": "\n\n" + held_back_note(payload.held_back)})
            yield _chunk(completion_id, created, {}, "stop", **_extras(payload))
        elif kind == "error":
            yield ServerSentEvent(data={"error": {"message": payload["message"], "type": "server_error"}})
    yield ServerSentEvent(raw_data="[DONE]")
