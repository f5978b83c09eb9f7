"""The service's side of the Discord bridge: everything the bot would otherwise have to
remember. Who a Discord user is (and which learner they act as after `/link`), which
conversation a thread holds, which events were already handled (so a replayed event never
answers twice), one-item quizzes for buttons, reminder opt-ins and who is due.

Every route here needs `Authorization: Bearer $TUTOR_SERVICE_KEY`; with no key set the
bridge is off (503 saying how to turn it on). The bot uses the public routes (/api/chat,
/api/quizzes/{id}/answers, /api/feedback, /api/learners/...) for the rest.
"""

from __future__ import annotations

import hmac
import json
import random
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.api.deps import State, get_state
from tutor.api.link import chat_user, redeem
from tutor.errors import BackendUnavailable, Conflict, InvalidInput, NotFound, TutorError
from tutor.learners import get_learner
from tutor.models import ChatEvent, ChatThread, ChatUser, Conversation, Quiz, QuizAttempt, QuizItem, Review
from tutor.privacy import erase
from tutor.quiz.bank import BankEmpty, accepted_items, check_concept, check_stage, public_item, shortfall, topic

REMIND_EVERY = timedelta(days=1)
EVENT_DAYS = 30  # handled events kept this long (a feedback press older than that may count again)
MAX_ITEMS = 10


class Unauthorized(TutorError):
    http_status = 401


def require_service_key(state: Annotated[object, Depends(get_state)],
                        authorization: Annotated[str | None, Header()] = None) -> None:
    key = state.settings.service_key
    if not key:
        raise BackendUnavailable("the Discord bridge is off: set TUTOR_SERVICE_KEY on the service "
                                 "and give the bot the same key")
    sent = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), key.encode()):
        raise Unauthorized("wrong or missing service key: send Authorization: Bearer $TUTOR_SERVICE_KEY")


router = APIRouter(prefix="/api/bridge", tags=["discord bridge"], dependencies=[Depends(require_service_key)])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment and not moment.tzinfo else moment


def _user_json(user: ChatUser) -> dict:
    return {"user_id": user.id, "learner_id": user.learner_id, "remind": user.remind}


# -- users and links ------------------------------------------------------------------------

@router.post("/users/{user_id}", summary="The learner a chat user acts as (created on first sight)")
def resolve_user(user_id: str, state: State) -> dict:
    from sqlalchemy.exc import IntegrityError

    for _ in range(2):  # two first requests of a new user at once: one inserts, the other re-reads
        with Session(state.engine) as session:
            try:
                user = chat_user(session, user_id)
                session.commit()
                return _user_json(user)
            except IntegrityError:
                session.rollback()
    raise Conflict(f"could not register {user_id}; try again")


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40, description="the code the widget showed")


@router.post("/users/{user_id}/link", summary="Join a chat user to a widget learner with a one-time code")
def link(user_id: str, body: LinkRequest, state: State) -> dict:
    return redeem(state.engine, user_id, body.code)


class ReminderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    remind: bool


@router.put("/users/{user_id}/reminders", summary="Opt in or out of review reminders")
def reminders(user_id: str, body: ReminderRequest, state: State) -> dict:
    with Session(state.engine) as session:
        user = chat_user(session, user_id)
        user.remind = body.remind
        session.add(user)
        session.commit()
        return _user_json(user)


@router.delete("/users/{user_id}", summary="Erase the chat user's learner (and its own learner if linked)")
def forget(user_id: str, state: State) -> dict:
    with Session(state.engine) as session:
        user = session.get(ChatUser, user_id)
        learners = [user.learner_id, user_id] if user else [user_id]
    erased = erase(state.engine, *learners)  # the linked learner, then the Discord-only one, at once
    if not erased:
        raise NotFound("nothing is stored for you")
    return {"erased": erased}


# -- events: handled once ---------------------------------------------------------------------

@router.post("/events/{event_id}", summary="Claim an event: first=true only for the first claim")
def claim_event(event_id: str, state: State, learner_id: str | None = None) -> dict:
    return {"event_id": event_id, "first": claim(state.engine, event_id, learner_id)}


def claim(engine: Engine, event_id: str, learner_id: str | None = None) -> bool:
    """Insert the event's row; the primary key makes a second claim fail, in any replica."""
    from sqlalchemy.exc import IntegrityError

    with Session(engine) as session:
        session.add(ChatEvent(id=event_id, learner_id=learner_id))
        try:
            session.commit()
        except IntegrityError:
            return False
    return True


# -- threads ----------------------------------------------------------------------------------

class ThreadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str
    learner_id: str | None = None


@router.get("/threads/{thread_id}", summary="The conversation a thread holds (null if none yet)")
def get_thread(thread_id: str, state: State) -> dict:
    with Session(state.engine) as session:
        row = session.get(ChatThread, thread_id)
        return {"thread_id": thread_id, "conversation_id": row.conversation_id if row else None}


@router.put("/threads/{thread_id}", summary="Remember which conversation a thread holds")
def put_thread(thread_id: str, body: ThreadRequest, state: State) -> dict:
    with Session(state.engine) as session:
        if session.get(Conversation, body.conversation_id) is None:
            raise NotFound(f"no conversation {body.conversation_id!r}")
        row = session.get(ChatThread, thread_id) or ChatThread(id=thread_id, conversation_id=body.conversation_id)
        row.conversation_id, row.learner_id = body.conversation_id, body.learner_id
        session.add(row)
        session.commit()
        return {"thread_id": thread_id, "conversation_id": row.conversation_id}


# -- quizzes: one item per message, so each button is graded on its own ------------------------

class QuizRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    learner_id: str
    stage: int | None = None
    concept: str | None = Field(None, min_length=1, max_length=80,
                                description="a concept id: only questions on it (its stage is used)")
    item_ids: list[str] | None = Field(None, max_length=MAX_ITEMS, description="these items (a review)")
    count: int = Field(3, ge=1, le=MAX_ITEMS)


@router.post("/quizzes", status_code=201, summary="N one-item quizzes (no keys), each graded on its own")
def one_item_quizzes(body: QuizRequest, state: State) -> dict:
    """Like POST /api/quizzes (a stage, a concept id or both; the same 422s), plus `item_ids`
    for a review. `requested`, `available` and `message` as there: `message` says when
    fewer items are ready than asked for (no top-up starts here), otherwise null."""
    with Session(state.engine) as session:
        get_learner(session, body.learner_id)  # 404 before anything is stored
        concept = None
        if body.item_ids:
            items = [session.get(QuizItem, i) for i in body.item_ids]
            if None in items:
                raise NotFound("that review question no longer exists; run /review again")
            stage, requested = items[0].stage, len(body.item_ids)
        else:
            stage, concept = _stage_of(state, body)
            items = pick_items(session, stage, concept, body.learner_id, body.count)
            requested = body.count
        quizzes = [Quiz(learner_id=body.learner_id, stage=i.stage, item_ids=json.dumps([i.id])) for i in items]
        session.add_all(quizzes)
        session.commit()
        return {"stage": stage, "concept": concept.id if concept else None,
                "items": [{"quiz_id": q.id, **public_item(i)} for q, i in zip(quizzes, items)],
                "requested": requested, "available": len(items),
                "message": shortfall(stage, requested, len(items), concept=concept)}


def _stage_of(state, body: QuizRequest):
    """(stage, the roadmap Concept or None), checked as POST /api/quizzes checks them."""
    roadmap = state.roadmap
    if body.stage is None and not body.concept:
        raise InvalidInput("give a stage or a concept")
    concept = check_concept(roadmap, body.concept, body.stage) if body.concept else None
    stage = concept.stage if concept else body.stage
    check_stage(sorted(roadmap.stage_by_id), stage)
    return stage, concept


def pick_items(session: Session, stage: int, concept, learner_id: str, count: int) -> list[QuizItem]:
    """Up to `count` of the stage's (or the roadmap Concept's) accepted items, unseen first."""
    items = accepted_items(session, stage, concept.id if concept else None)
    if not items:
        build = f"--concept {concept.id}" if concept else f"--stage {stage}"
        raise BankEmpty(f"no quiz questions for {topic(stage, concept)} yet: an admin can build them with "
                        f"`tutor quiz build {build}`")
    seen = set(session.exec(select(QuizAttempt.item_id).where(QuizAttempt.learner_id == learner_id)).all())
    random.shuffle(items)
    items.sort(key=lambda i: i.id in seen)  # unseen first
    return items[:count]


# -- review reminders -------------------------------------------------------------------------

@router.post("/reminders/claim", summary="Opted-in users with reviews due and no reminder in a day; marks them reminded")
def claim_reminders(state: State) -> dict:
    now = _now()
    prune_events(state.engine, now)  # every bot polls this route: the bridge's housekeeping tick
    return {"due": due_reminders(state.engine, now)}


def prune_events(engine: Engine, now: datetime) -> int:
    """Forget handled events after EVENT_DAYS: Discord does not replay an interaction that old."""
    from sqlmodel import delete

    with Session(engine) as session:
        gone = session.exec(delete(ChatEvent).where(ChatEvent.created_at < now - timedelta(days=EVENT_DAYS))).rowcount
        session.commit()
    return gone


def due_reminders(engine: Engine, now: datetime) -> list[dict]:
    out = []
    with Session(engine) as session:
        for user in session.exec(select(ChatUser).where(ChatUser.remind.is_(True))).all():
            last = _aware(user.reminded_at)
            if last and now - last < REMIND_EVERY:
                continue
            due = [r for r in session.exec(select(Review).where(Review.learner_id == user.learner_id)).all()
                   if _aware(r.due) <= now]
            if due:
                user.reminded_at = now  # claimed here, so two bots never both send it
                session.add(user)
                out.append({**_user_json(user), "due": len(due)})
        session.commit()
    return out

