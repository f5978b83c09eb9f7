"""Database tables (sqlmodel), one module for all of them.

The service database holds what learners create: conversations, messages, feedback.
The index's chunk rows live with each index version instead (tutor/index.py), so a
re-ingest never touches learners' data.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import BigInteger
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
    # JSON list of draft sentences cut as unsupported (assistant); null on rows from before
    # it was stored. Read by the operator dashboard (tutor/admin/).
    held_back: str | None = None


class Feedback(SQLModel, table=True):
    id: str = Field(default_factory=_id, primary_key=True)
    message_id: str = Field(foreign_key="message.id", index=True)
    rating: int  # +1 thumbs up, -1 thumbs down
    comment: str | None = None
    created_at: datetime = Field(default_factory=_now)


# -- learners -----------------------------------------------------------------------------

class Learner(SQLModel, table=True):
    id: str = Field(primary_key=True)  # chosen by the client (e.g. a site's user id) or generated
    display_name: str = ""
    track: str = "industry"  # industry | research | freelance
    hours_per_week: int = 15
    current_stage: int = 1
    known_concepts: str = "[]"  # JSON list of concept ids the learner says they know
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class Mastery(SQLModel, table=True):
    """Knowledge-tracing state of one concept for one learner (see tutor/mastery.py)."""

    learner_id: str = Field(foreign_key="learner.id", primary_key=True)
    concept_id: str = Field(primary_key=True)
    p_known: float
    attempts: int = 0
    correct: int = 0
    updated_at: datetime = Field(default_factory=_now)


# -- quizzes ------------------------------------------------------------------------------

class QuizItem(SQLModel, table=True):
    """One generated question in the bank. Only status "accepted" is ever served; rejected
    candidates are kept with their reasons (tutor/quiz/validate.py) for the bench and debugging."""

    id: str = Field(default_factory=_id, primary_key=True)
    stage: int = Field(index=True)
    concept_id: str | None = Field(default=None, index=True)  # the concept mastery is updated for
    concepts: str = "[]"  # JSON list: every concept of the source chunk
    kind: str  # mcq | tf | short
    question: str
    options: str = "[]"  # JSON list of option texts (mcq)
    answer: str  # JSON: option index (mcq), bool (tf) or text (short); never sent before grading
    explanation: str = ""
    fact: str = ""  # the source sentence the model said it tested
    chunk_id: str = Field(index=True)
    source_title: str = ""
    source: str = ""
    status: str = Field(default="accepted", index=True)  # accepted | rejected
    reasons: str = "[]"  # JSON list of validator reasons (rejected items)
    scores: str = "{}"  # JSON: support scores and similarities behind the verdict
    backend: str = ""
    created_at: datetime = Field(default_factory=_now)


class Quiz(SQLModel, table=True):
    """A served quiz: which bank items a learner (or an anonymous visitor) was given."""

    id: str = Field(default_factory=_id, primary_key=True)
    learner_id: str | None = Field(default=None, foreign_key="learner.id", index=True)
    stage: int
    item_ids: str = "[]"  # JSON list, in the order served
    created_at: datetime = Field(default_factory=_now)
    graded_at: datetime | None = None


class QuizAttempt(SQLModel, table=True):
    id: str = Field(default_factory=_id, primary_key=True)
    quiz_id: str = Field(foreign_key="quiz.id", index=True)
    item_id: str = Field(foreign_key="quizitem.id", index=True)
    learner_id: str | None = Field(default=None, foreign_key="learner.id", index=True)
    given: str  # JSON of what the learner sent (choice index, bool or text)
    correct: bool
    created_at: datetime = Field(default_factory=_now)


class Review(SQLModel, table=True):
    """The spaced-review schedule of one item for one learner (an FSRS card)."""

    learner_id: str = Field(foreign_key="learner.id", primary_key=True)
    item_id: str = Field(foreign_key="quizitem.id", primary_key=True)
    card: str  # fsrs.Card.to_json()
    due: datetime = Field(index=True)
    updated_at: datetime = Field(default_factory=_now)


class QuizHint(SQLModel, table=True):
    """A hint given in quiz mode: the count per (conversation, item) sets the next level."""

    id: str = Field(default_factory=_id, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    item_id: str = Field(foreign_key="quizitem.id", index=True)
    level: int
    fallback: bool = False  # the model's hint failed the key filter; a template was sent
    created_at: datetime = Field(default_factory=_now)


# -- Discord bridge (tutor/discord/, tutor/api/bridge.py) ---------------------------------
# The bot keeps no state that matters: who a Discord user is, which conversation a thread
# holds, which events were already handled and who wants reminders all live here.

class LinkCode(SQLModel, table=True):
    """A one-time code the widget shows; `/link CODE` in Discord joins that user to the learner."""

    code: str = Field(primary_key=True)
    learner_id: str = Field(foreign_key="learner.id", index=True)
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=_now)


class ChatUser(SQLModel, table=True):
    """A chat-platform user ("discord:<user id>") and the learner they act as."""

    id: str = Field(primary_key=True)
    learner_id: str = Field(foreign_key="learner.id", index=True)
    remind: bool = False  # opted in to review reminders (`/review remind`)
    reminded_at: datetime | None = None  # last reminder sent: at most one a day
    created_at: datetime = Field(default_factory=_now)


class ChatThread(SQLModel, table=True):
    """A Discord thread or DM channel and the tutor conversation it holds."""

    id: str = Field(primary_key=True)  # "discord:<channel id>"
    conversation_id: str = Field(foreign_key="conversation.id", index=True)
    learner_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)


class ChatEvent(SQLModel, table=True):
    """An event already handled (interaction id, message id, a feedback press): a replayed
    or duplicated event finds its row and is not handled twice."""

    id: str = Field(primary_key=True)  # "discord:<kind>:<id>"
    learner_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=_now)


# -- coordination between replicas --------------------------------------------------------

class Lease(SQLModel, table=True):
    """A named job one process of several holds until `expires_at` (the quiz top-up of a
    stage): replicas share the database, not their memory, so a process-local flag would
    let each of them start the same job (tutor/lease.py)."""

    name: str = Field(primary_key=True)  # e.g. "quiz-top-up:2"
    holder: str  # host:pid:random of the process that claimed it
    expires_at: datetime
    created_at: datetime = Field(default_factory=_now)


class RateCounter(SQLModel, table=True):
    """Requests admitted under one rate-limit key ("addr:10.0.0.7", "learner:ada", "global")
    in one window (epoch seconds // window length). In the database so every replica counts
    against the same limits (tutor/ratelimit.py); rows older than the previous window are
    deleted as windows pass."""

    key: str = Field(primary_key=True, max_length=200)
    window: int = Field(primary_key=True, sa_type=BigInteger)
    count: int = 0
