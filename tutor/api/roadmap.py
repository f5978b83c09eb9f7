"""The roadmap itself, read-only: stages with their weeks and milestones, and concepts with
their prerequisites. The widget's "My roadmap" view draws the path from it; a learner's
standing comes from GET /api/learners/{id} and /next."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tutor.api.deps import State

router = APIRouter(prefix="/api", tags=["roadmap"])


@router.get("/roadmap", summary="The roadmap: stages (weeks, goal, milestone) and concepts (stage, prerequisites)")
def roadmap(state: State, response: Response) -> dict:
    rm = state.roadmap
    response.headers["Cache-Control"] = "public, max-age=300"  # changes only with a new corpus
    return {
        "id": rm.roadmap.id, "title": rm.roadmap.title, "duration": rm.roadmap.duration,
        "stages": [{"id": s.id, "title": s.title, "weeks": list(s.weeks), "goal": s.goal,
                    "milestone": s.milestone,
                    "week_plan": [{"weeks": list(b.weeks), "focus": b.focus} for b in s.week_plan]}
                   for s in rm.stages],
        "concepts": [{"id": c.id, "name": c.name, "stage": c.stage, "prerequisites": list(c.prerequisites),
                      "summary": c.summary} for c in rm.concepts],
    }
