"""Learner profiles: who the learner is, their goal track, pace and where they stand."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tutor.errors import InvalidInput, NotFound
from tutor.models import Learner

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
    """Delete every row of the learner, in every table (tutor/privacy.py works out which from
    the schema), and of the chat users acting as it; rows deleted per table. NotFound when
    nothing at all was stored (a learner without a profile may still own conversations)."""
    from tutor.privacy import erase

    counts: dict[str, int] = {}
    for rows in erase(engine, learner_id).values():
        for table, n in rows.items():
            counts[table] = counts.get(table, 0) + n
    if not counts:
        raise NotFound(f"nothing is stored for learner {learner_id!r}")
    return counts
