"""Learner profiles, progress, and "what should I learn next"."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from tutor import coach, learners
from tutor.api.deps import State, TutorDep
from tutor.mastery import mastery_map
from tutor.next_step import progress

router = APIRouter(prefix="/api/learners", tags=["learners"])


class LearnerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, max_length=200)
    track: str | None = Field(None, description="industry, research or freelance")
    hours_per_week: int | None = Field(None, ge=1, le=80)
    current_stage: int | None = None
    known_concepts: list[str] | None = Field(None, description="concept ids the learner already knows")


def _profile(learner) -> dict:
    return {"id": learner.id, "display_name": learner.display_name, "track": learner.track,
            "hours_per_week": learner.hours_per_week, "current_stage": learner.current_stage,
            "known_concepts": json.loads(learner.known_concepts)}


@router.get("/{learner_id}", summary="A learner's profile and progress per stage")
def get_learner(learner_id: str, state: State) -> dict:
    with Session(state.engine) as session:
        learner = learners.get_learner(session, learner_id)
        profile = _profile(learner)
    rows = mastery_map(state.engine, learner_id)
    stages = progress(state.roadmap, {c: (r.p_known, r.attempts) for c, r in rows.items()},
                      set(profile["known_concepts"]))
    return {**profile, "progress": stages}


@router.put("/{learner_id}", summary="Create or update a learner (only the fields given change)")
def put_learner(learner_id: str, body: LearnerUpdate, state: State) -> dict:
    rm = state.roadmap
    learner = learners.upsert_learner(
        state.engine, learner_id, concept_ids=set(rm.concept_by_id), stages=set(rm.stage_by_id),
        display_name=body.display_name, track=body.track, hours_per_week=body.hours_per_week,
        current_stage=body.current_stage, known=body.known_concepts)
    return _profile(learner)


@router.delete("/{learner_id}", summary="Erase every row of this learner")
def delete_learner(learner_id: str, state: State) -> dict:
    return {"deleted": learners.erase_learner(state.engine, learner_id)}


@router.get("/{learner_id}/next", summary="What to learn next, computed from the prerequisite graph")
def next_step(learner_id: str, state: State, tutor: TutorDep,
              explain: bool = Query(False, description="also have the tutor explain it, with citations"),
              limit: int = Query(3, ge=1, le=10)) -> dict:
    rec = coach.recommendation_for(state.engine, state.roadmap, coach.papers_in(state.index), learner_id, limit)
    body = {"learner_id": learner_id, **coach.recommendation_json(rec)}
    if explain:
        answer = coach.explain(tutor, rec)
        body["explanation"] = answer.to_json()
    return body
