"""Conversations and their messages: the persistence side of a chat turn.

A turn stores the learner's message first, then an assistant message in status
"streaming" that is updated as the answer completes: "ok" or "refused" at the end,
"failed" (with the partial text and the error) when generation breaks or the client
leaves. Nothing a learner wrote is lost, whatever happens to the model.

With `redact` (TUTOR_REDACT=1) e-mail addresses, phone numbers and card numbers are
replaced in everything stored here, the learner's words and the reply alike (tutor/redact.py).
"""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.answer import Turn
from tutor.errors import NotFound
from tutor.models import Conversation, Message
from tutor.redact import maybe
from tutor.types import Answer

HISTORY_MESSAGES = 8


def open_conversation(engine: Engine, conversation_id: str | None, learner_id: str | None) -> str:
    with Session(engine) as session:
        if conversation_id is None:
            conversation = Conversation(learner_id=learner_id)
            session.add(conversation)
            session.commit()
            return conversation.id
        if session.get(Conversation, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id!r}; omit conversation_id to start one")
        return conversation_id


def history(engine: Engine, conversation_id: str) -> list[Turn]:
    """Recent turns that completed (failed replies are kept but not fed back to the model)."""
    with Session(engine) as session:
        rows = session.exec(
            select(Message).where(Message.conversation_id == conversation_id,
                                  Message.status.in_(("ok", "refused")))
            .order_by(Message.created_at.desc()).limit(HISTORY_MESSAGES)).all()
    return [Turn(m.role, m.content) for m in reversed(rows)]


def messages(engine: Engine, conversation_id: str) -> list[Message]:
    with Session(engine) as session:
        if session.get(Conversation, conversation_id) is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return list(session.exec(select(Message).where(Message.conversation_id == conversation_id)
                                 .order_by(Message.created_at)).all())


def start_turn(engine: Engine, conversation_id: str, text: str, *, redact: bool = False) -> str:
    """Store the learner's message and a placeholder reply; returns the reply's id."""
    with Session(engine) as session:
        session.add(Message(conversation_id=conversation_id, role="user", content=maybe(text, redact)))
        reply = Message(conversation_id=conversation_id, role="assistant", status="streaming")
        session.add(reply)
        session.commit()
        return reply.id


def finish_turn(engine: Engine, reply_id: str, answer: Answer, *, redact: bool = False) -> None:
    with Session(engine) as session:
        reply = session.get(Message, reply_id)
        reply.content = maybe(answer.answer, redact)
        reply.status = "refused" if answer.refused else "ok"
        reply.question = maybe(answer.question, redact)
        reply.citations = json.dumps([c.__dict__ for c in answer.citations])
        reply.support = answer.support
        reply.held_back = json.dumps([maybe(s, redact) for s in answer.held_back])
        session.add(reply)
        session.commit()


def fail_turn(engine: Engine, reply_id: str, partial: str, error: str, *, redact: bool = False) -> None:
    with Session(engine) as session:
        reply = session.get(Message, reply_id)
        reply.content, reply.status, reply.error = maybe(partial, redact), "failed", error[:500]
        session.add(reply)
        session.commit()
