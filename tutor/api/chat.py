"""/api/chat (SSE or JSON), conversation history, and feedback."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.sse import ServerSentEvent
from sqlmodel import Session

from tutor import coach, conversations
from tutor.api.deps import State, TutorDep
from tutor.api.quizzes import quiz_mode
from tutor.api.schemas import (ChatRequest, ChatResponse, ConversationOut, FeedbackRequest,
                               MessageOut)
from tutor.api.streaming import bridge, documented, event_stream
from tutor.errors import NotFound
from tutor.models import Feedback, Message
from tutor.redact import maybe
from tutor.turns import error_from_event, run_turn

router = APIRouter(prefix="/api", tags=["chat"])


@router.post("/chat", response_model=ChatResponse,
             summary="Ask the tutor; Server-Sent Events (meta, token, citations, done, error) by default",
             responses=documented("JSON when `stream` is false; else one event per step, `data` a JSON object",
                                  ("meta", "token", "citations", "done", "error")))
async def chat(body: ChatRequest, request: Request, tutor: TutorDep, state: State):
    tutor.validate(body.message)  # 422/413 before anything is stored or streamed
    if body.conversation_id:
        conversations.open_conversation(state.engine, body.conversation_id, None)  # 404 early

    respond = None
    if body.learner_id and coach.is_next_question(body.message):
        # "what should I learn next", in the learner's words: computed, then explained
        rec = coach.recommendation_for(state.engine, state.roadmap, coach.papers_in(state.index), body.learner_id)
        respond = lambda cancel: coach.explain_events(tutor, rec, cancel)  # noqa: E731

    if body.quiz_item_id:  # quiz mode: graduated hints, never the key (tutor/quiz/hints.py)
        body, respond = quiz_mode(tutor, state, body)

    def produce(cancel):
        return run_turn(tutor, state.engine, body.message, conversation_id=body.conversation_id,
                        learner_id=body.learner_id, stage=body.stage, cancel=cancel, respond=respond)

    events = bridge(request, produce)
    if body.stream:
        return event_stream(_sse(events))
    meta, answer = {}, None
    async for kind, payload in events:
        if kind == "meta":
            meta = payload
        elif kind == "done":
            answer = payload
        elif kind == "error":
            raise error_from_event(payload)
    return {**answer.to_json(), "conversation_id": meta["conversation_id"], "message_id": meta["message_id"]}


async def _sse(events):
    """The turn's events as the widget and the Discord bot read them: `event:` the kind,
    `data:` a JSON object (a token as {"text": ...}, the answer with its question)."""
    async for kind, payload in events:
        if kind == "token":
            payload = {"text": payload}
        elif kind == "done":
            payload = {**payload.to_json(), "question": payload.question}
        yield ServerSentEvent(event=kind, data=payload)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut,
            summary="A conversation's messages, oldest first")
def conversation(conversation_id: str, state: State) -> dict:
    rows = conversations.messages(state.engine, conversation_id)
    return {"id": conversation_id, "messages": [
        MessageOut(id=m.id, role=m.role, content=m.content, status=m.status,
                   citations=json.loads(m.citations)) for m in rows]}


@router.post("/feedback", status_code=201, summary="Thumbs up or down on one answer")
def feedback(body: FeedbackRequest, state: State) -> dict:
    with Session(state.engine) as session:
        message = session.get(Message, body.message_id)
        if message is None or message.role != "assistant":
            raise NotFound(f"no answer with id {body.message_id!r}")
        row = Feedback(message_id=body.message_id, rating=1 if body.rating == "up" else -1,
                       comment=maybe(body.comment, state.settings.redact))
        session.add(row)
        session.commit()
        return {"id": row.id, "message_id": body.message_id, "rating": body.rating}
