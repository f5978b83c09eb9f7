"""Letting go of learners' data: erasure of one learner and the retention limit on
conversations, both worked out from the schema rather than from a list of tables.

A row belongs to a learner when a column that holds learner ids names them (see
`learner_columns`), or when it references, by foreign key, a row that belongs to them (a
message of their conversation, feedback on that message, an attempt at their quiz). The
closure is computed from SQLModel.metadata on every call, so a table added later is
erased with its learner as soon as it has a `learner_id` column or a foreign key to a
learner's row; tests/test_privacy.py fails on a column that looks personal and is
neither (or is not declared below as holding nothing of a learner's).

Deletes run children first, in one transaction: a learner is erased whole or not at all.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import Table, and_, delete, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel

from tutor import lease
from tutor.models import Conversation, Message

log = logging.getLogger(__name__)

# Keys that are learner ids themselves: the learner, and a chat user (a Discord user's own
# learner has the chat user's id, "discord:<id>"). Every column named learner_id counts too.
LEARNER_KEYS = {"learner.id", "chatuser.id"}


def _rate_key(learner_id: str) -> str:
    from tutor.ratelimit import Limit, counter_key

    return counter_key(Limit("learner", learner_id, 0))


# Columns that hold a value derived from a learner id: the rate-limit counter of a learner
# is keyed by a hash of the id (tutor/ratelimit.py), which still singles the learner out.
DERIVED_KEYS = {"ratecounter.key": _rate_key}
# Tables that hold nothing of any learner's (tests/test_privacy.py fails on a table that is
# neither here nor reached by the erase).
NO_LEARNER_DATA = {
    "quizitem": "the question bank, generated from the corpus and shared by every learner",
    "lease": "which process runs a background job",
}
# Columns whose names look personal but hold nothing of a learner's (checked by the tests).
NOT_PERSONAL = {
    "lease.holder": "the host:pid of the process holding a job lease",
}
RETENTION_LEASE = "retention"
RETENTION_LEASE_SECONDS = 600  # a purge that crashed frees the job after this long


def learner_columns(table: Table) -> list:
    """The columns of `table` that hold a learner id."""
    return [c for c in table.columns
            if c.name == "learner_id" or f"{table.name}.{c.name}" in LEARNER_KEYS
            or any(fk.target_fullname == "learner.id" for fk in c.foreign_keys)]


def owned(seeds: dict[str, ColumnElement]) -> dict[Table, ColumnElement]:
    """For every table, the condition under which its row is doomed: a seed condition on it,
    or a foreign key into a doomed row of its parent. Tables in dependency order."""
    where: dict[Table, ColumnElement] = {}
    for table in SQLModel.metadata.sorted_tables:  # parents before children
        parts = [seeds[table.name]] if table.name in seeds else []
        for column in table.columns:
            for fk in column.foreign_keys:
                parent = fk.column.table
                if parent in where and parent is not table:
                    parts.append(column.in_(select(fk.column).where(where[parent])))
        if parts:
            where[table] = or_(*parts)
    return where


def delete_owned(session: Session, seeds: dict[str, ColumnElement]) -> dict[str, int]:
    """Delete the rows `owned(seeds)` names, children first; rows deleted per table."""
    counts = {}
    for table, condition in reversed(list(owned(seeds).items())):
        n = session.execute(delete(table).where(condition)).rowcount
        if n:
            counts[table.name] = n
    return counts


def learner_seeds(learner_ids: list[str]) -> dict[str, ColumnElement]:
    seeds = {}
    for table in SQLModel.metadata.sorted_tables:
        parts = [c.in_(learner_ids) for c in learner_columns(table)]
        for column in table.columns:
            derive = DERIVED_KEYS.get(f"{table.name}.{column.name}")
            if derive:
                parts.append(column.in_([derive(i) for i in learner_ids]))
        if parts:
            seeds[table.name] = or_(*parts)
    return seeds


def person_ids(session: Session, learner_ids: tuple[str, ...]) -> list[str]:
    """The learners and the chat users acting as them: a Discord user linked to a learner
    is the same person, and that user's own learner ("discord:<id>") holds what they did
    before linking."""
    from tutor.models import ChatUser

    linked = session.execute(select(ChatUser.id).where(ChatUser.learner_id.in_(learner_ids))).scalars().all()
    return list(dict.fromkeys([*learner_ids, *linked]))


def erase(engine: Engine, *learner_ids: str) -> dict[str, dict[str, int]]:
    """Delete every row of the learners (and of the chat users acting as them) in one
    transaction; rows deleted per learner and table, leaving out learners with none."""
    erased = {}
    with Session(engine) as session:
        for learner_id in person_ids(session, learner_ids):
            counts = delete_owned(session, learner_seeds([learner_id]))
            if counts:
                erased[learner_id] = counts
        session.commit()
    return erased


# -- retention ----------------------------------------------------------------------------

def stale_conversations(cutoff: datetime) -> ColumnElement:
    """Conversations with nothing newer than `cutoff`: started before it, and no message
    since (an old conversation a learner still uses is kept)."""
    recent = select(Message.conversation_id).where(Message.created_at >= cutoff)
    return and_(Conversation.created_at < cutoff, Conversation.id.not_in(recent))


def purge_conversations(engine: Engine, days: int, now: datetime | None = None) -> dict[str, int]:
    """Delete conversations idle for more than `days` days with their messages, feedback,
    quiz hints and Discord threads; rows deleted per table."""
    if days < 1:
        raise ValueError("retention must be at least one day")
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    with Session(engine) as session:
        counts = delete_owned(session, {Conversation.__tablename__: stale_conversations(cutoff)})
        session.commit()
    return counts


def purge_once(engine: Engine, days: int) -> dict[str, int] | None:
    """One purge, if no other process is running one (None when another holds the lease)."""
    if not lease.claim(engine, RETENTION_LEASE, RETENTION_LEASE_SECONDS):
        return None
    try:
        return purge_conversations(engine, days)
    finally:
        lease.release(engine, RETENTION_LEASE)


class RetentionLoop:
    """Purges at start and then every `every` seconds, in a daemon thread of the service.
    Each replica runs one; the lease makes their purges take turns."""

    def __init__(self, engine: Engine, days: int, every: float):
        self.engine, self.days, self.every = engine, days, every
        self.stopped = threading.Event()
        self.runs = 0  # purges this loop ran (tests wait on it)
        self.thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> RetentionLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                counts = purge_once(self.engine, self.days)
                if counts:
                    log.info("retention: deleted %s (older than %d days)", counts, self.days)
            except Exception:  # a database hiccup must not end the loop; the next tick retries
                log.exception("retention purge failed")
            self.runs += 1
            self.stopped.wait(self.every)

