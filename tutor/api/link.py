"""One-time link codes: the widget asks for one, the learner types `/link CODE` in Discord,
and from then on that Discord user acts as the widget's learner (same mastery, reviews).

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I), lives
`link_code_seconds` (600 by default) and works once: redeeming it marks it used in the
same transaction that repoints the chat user, so two redemptions cannot both succeed.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tutor.api.deps import State
from tutor.errors import Conflict, NotFound
from tutor.models import ChatUser, Learner, LinkCode

router = APIRouter(tags=["discord bridge"])
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0, O, 1, I: read off a screen, typed by hand
CODE_LENGTH = 8


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite drops tzinfo


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a person types: any case, spaces or dashes between groups."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def ensure_learner(session: Session, learner_id: str) -> Learner:
    learner = session.get(Learner, learner_id)
    if learner is None:  # the widget's learner may not have a profile yet
        learner = Learner(id=learner_id)
        session.add(learner)
        session.flush()
    return learner


def create_code(engine: Engine, learner_id: str, seconds: int) -> LinkCode:
    with Session(engine) as session:
        ensure_learner(session, learner_id)
        row = LinkCode(code=new_code(), learner_id=learner_id, expires_at=_now() + timedelta(seconds=seconds))
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def chat_user(session: Session, user_id: str) -> ChatUser:
    """The chat user, created on first sight with a learner of the same id ("discord:<id>")."""
    user = session.get(ChatUser, user_id)
    if user is None:
        ensure_learner(session, user_id)
        user = ChatUser(id=user_id, learner_id=user_id)
        session.add(user)
        session.flush()
    return user


def redeem(engine: Engine, user_id: str, code: str) -> dict:
    code = normalise_code(code)
    with Session(engine) as session:
        row = session.get(LinkCode, code) if len(code) == CODE_LENGTH else None
        if row is None:
            raise NotFound("that link code does not exist: check it, or get a new one from the "
                           "tutor's chat window (Link Discord)")
        if row.used_at is not None:
            raise Conflict("that link code was already used: get a new one from the tutor's chat window")
        if _aware(row.expires_at) <= _now():
            raise Conflict("that link code has expired: get a new one from the tutor's chat window")
        user = chat_user(session, user_id)
        previous = user.learner_id
        user.learner_id, row.used_at = row.learner_id, _now()
        session.add_all([user, row])
        session.commit()
        return {"user_id": user_id, "learner_id": row.learner_id, "previous_learner_id": previous}


@router.post("/api/learners/{learner_id}/link-codes", status_code=201,
             summary="A one-time code that joins a Discord user to this learner (`/link CODE`)")
def link_code(learner_id: str, state: State) -> dict:
    seconds = state.settings.link_code_seconds
    row = create_code(state.engine, learner_id, seconds)
    return {"code": row.code, "expires_at": _aware(row.expires_at).isoformat().replace("+00:00", "Z"),
            "expires_in": seconds}
