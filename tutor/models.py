"""Database tables (sqlmodel), one module for all of them.

The service database holds what learners create: conversations, messages, feedback.
The index's chunk rows live with each index version instead (tutor/index.py), so a
re-ingest never touches learners' data.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlmodel import Field, SQLModel


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _id() -> str:
    return uuid.uuid4().hex


class Conversation(SQLModel, table=True):
    id: str = Field(default_factory=_id, primary_key=True)
    learner_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)


class Message(SQLModel, table=True):
    id: str = Field(default_factory=_id, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    role: str  # user | assistant
    content: str = ""
    # user messages: ok; assistant: streaming -> ok | refused | failed (partial text kept)
    status: str = "ok"
    question: str | None = None  # the standalone question the answer addressed
    citations: str = "[]"  # JSON list of Citation dicts
    support: float | None = None
    error: str | None = None
    created_at: datetime = Field(default_factory=_now, index=True)


class Feedback(SQLModel, table=True):
    id: str = Field(default_factory=_id, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True)
    rating: int  # +1 thumbs up, -1 thumbs down
    comment: str | None = None
    created_at: datetime = Field(default_factory=_now)
