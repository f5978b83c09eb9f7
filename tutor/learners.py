"""Learner profiles: who the learner is, their goal track, pace and where they stand."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session, delete

from tutor.errors import InvalidInput, NotFound
from tutor.models import Conversation, Feedback, Learner, Mastery, Message

TRACKS = ("industry", "research", "freelance")


def get_learner(session: Session, learner_id: str) -> Learner:
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise NotFound(f"no learner {learner_id!r}; create one with PUT /api/learners/{learner_id}")
    return learner


def known_concepts(learner: Learner) -> list[str]:
    return json.loads(learner.known_concepts)


def upsert_learner(engine: Engine, learner_id: str | None, *, concept_ids: set[str], stages: set[int],
                   display_name: str | None = None, track: str | None = None,
                   hours_per_week: int | None = None, current_stage: int | None = None,
                   known: list[str] | None = None) -> Learner:
    """Create or update a profile; only the given fields change. Unknown values are
    rejected whole (nothing is stored)."""
    if track is not None and track not in TRACKS:
        raise InvalidInput(f"unknown track {track!r}; choose one of {', '.join(TRACKS)}")
    if hours_per_week is not None and not 1 <= hours_per_week <= 80:
        raise InvalidInput("hours_per_week must be between 1 and 80")
    if current_stage is not None and current_stage not in stages:
        raise NotFound(f"no stage {current_stage}; stages are {', '.join(map(str, sorted(stages)))}")
    if known is not None and (unknown := sorted(set(known) - concept_ids)):
        raise InvalidInput(f"unknown concept ids: {', '.join(unknown[:5])}")
    with Session(engine) as session:
        learner = session.get(Learner, learner_id) if learner_id else None
        if learner is None:
            learner = Learner(id=learner_id or uuid.uuid4().hex)
        for field, value in (("display_name", display_name), ("track", track),
                             ("hours_per_week", hours_per_week), ("current_stage", current_stage)):
            if value is not None:
                setattr(learner, field, value)
        if known is not None:
            learner.known_concepts = json.dumps(sorted(set(known)))
        learner.updated_at = datetime.now(timezone.utc)
        session.add(learner)
        session.commit()
        session.refresh(learner)
        return learner


def erase_learner(engine: Engine, learner_id: str) -> dict:
    """Delete every row that belongs to the learner (profile, mastery, conversations,
    messages, feedback, and whatever other modules register in ERASERS)."""
    with Session(engine) as session:
        get_learner(session, learner_id)
        counts = {}
        for name, eraser in ERASERS:
            counts[name] = eraser(session, learner_id)
        convo_ids = [c.id for c in session.exec(
            Conversation.__table__.select().where(Conversation.learner_id == learner_id)).all()]
        message_ids = [m.id for m in session.exec(
            Message.__table__.select().where(Message.conversation_id.in_(convo_ids))).all()]
        counts["feedback"] = session.exec(delete(Feedback).where(Feedback.message_id.in_(message_ids))).rowcount
        counts["messages"] = session.exec(delete(Message).where(Message.conversation_id.in_(convo_ids))).rowcount
        counts["conversations"] = session.exec(delete(Conversation).where(Conversation.id.in_(convo_ids))).rowcount
        counts["mastery"] = session.exec(delete(Mastery).where(Mastery.learner_id == learner_id)).rowcount
        session.exec(delete(Learner).where(Learner.id == learner_id))
        session.commit()
    return counts


# Other modules (quizzes, reviews) append (name, fn(session, learner_id) -> rows deleted).
ERASERS: list = []


def _erase_chat_rows(session: Session, learner_id: str) -> int:
    """The Discord bridge's rows of the learner (tutor/api/bridge.py): its chat user, threads,
    handled events and link codes. Runs before the learner's conversations are deleted."""
    from sqlmodel import select

    from tutor.models import ChatEvent, ChatThread, ChatUser, LinkCode

    convos = select(Conversation.id).where(Conversation.learner_id == learner_id)
    n = session.exec(delete(ChatThread).where((ChatThread.learner_id == learner_id)
                                             | ChatThread.conversation_id.in_(convos))).rowcount
    n += session.exec(delete(ChatUser).where((ChatUser.learner_id == learner_id)
                                            | (ChatUser.id == learner_id))).rowcount
    n += session.exec(delete(ChatEvent).where(ChatEvent.learner_id == learner_id)).rowcount
    n += session.exec(delete(LinkCode).where(LinkCode.learner_id == learner_id)).rowcount
    return n


ERASERS.append(("discord", _erase_chat_rows))
