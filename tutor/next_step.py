"""What should I learn next: a pure, deterministic function of the prerequisite graph, the
learner's mastery, their goal track and their pace. No model is involved; the LLM only
explains the result afterwards (tutor/coach.py).

A concept is *ready* when it is not done and all its prerequisites are done (mastered, or
declared known). Only ready concepts of the earliest unfinished stage are offered, ordered by
  1. stage (finish the earlier stage first: the roadmap is sequential),
  2. already started before not started (finish what is in progress),
  3. after the last concept the learner named as done before behind it (someone "done with
     random forests and SVMs" goes on to kNN and clustering, not back to Git; only for
     "what next" asked in words, where `named` is what the question names),
  4. in the goal track's focus before not,
  5. how many concepts it unlocks (more first),
  6. its position in the roadmap (a stable tie-break).
Time: a stage of W weeks with n concepts takes W/n weeks per concept at the roadmap's pace
of 17.5 hours a week (the middle of its 15-20); a learner's weeks scale by 17.5 / hours.
"""

from __future__ import annotations

from tutor.roadmap import Roadmap
from tutor.types import PaperRef, Recommendation, Step

PLANNED_HOURS = (15, 20)  # a week of the roadmap, as corpus/roadmap.yaml's duration states it
ROADMAP_HOURS_PER_WEEK = sum(PLANNED_HOURS) / 2
TRACK_FOCUS = {
    # what each track's month plan emphasises (corpus/roadmap.yaml, tracks)
    "industry": {"pytorch", "model-serving", "docker", "mlops", "experiment-tracking", "ml-pipelines",
                 "cloud-ml-platforms", "system-design", "kubernetes", "model-monitoring", "portfolio-projects"},
    "research": {"linear-algebra", "calculus", "probability", "statistics", "information-theory",
                 "eigenvalues-svd", "bayesian-thinking", "optimizers", "backpropagation", "attention",
                 "transformers"},
    "freelance": {"portfolio-projects", "scikit-learn", "model-serving", "docker", "kaggle-competitions",
                  "data-visualization", "feature-engineering", "fine-tuning"},
}


def recommend(roadmap: Roadmap, done: set[str], started: set[str], track: str, hours_per_week: int,
              papers: list[PaperRef] = (), limit: int = 3, named: set[str] = frozenset()) -> Recommendation:
    concepts = roadmap.concepts
    order = {c.id: i for i, c in enumerate(concepts)}
    frontier = max((order[c] for c in named if c in order), default=-1)
    unlocks: dict[str, int] = {}
    for c in concepts:
        for p in c.prerequisites:
            unlocks[p] = unlocks.get(p, 0) + 1
    focus = TRACK_FOCUS.get(track, set())
    ready = [c for c in concepts if c.id not in done and all(p in done for p in c.prerequisites)]
    ready.sort(key=lambda c: (c.stage, c.id not in started, order[c.id] < frontier, c.id not in focus,
                              -unlocks.get(c.id, 0), order[c.id]))
    pace = ROADMAP_HOURS_PER_WEEK / max(hours_per_week, 1)
    per_stage = {s.id: sum(1 for c in concepts if c.stage == s.id) for s in roadmap.stages}

    def weeks_per_concept(stage_id: int) -> float:
        stage = roadmap.stage_by_id[stage_id]
        return stage.length / max(per_stage[stage_id], 1) * pace

    # Stay within the earliest unfinished stage: later stages wait, even when a few of
    # their concepts only need stage-1 prerequisites.
    ready = [c for c in ready if c.stage == ready[0].stage] if ready else []
    steps = []
    for c in ready[:limit]:
        stage = roadmap.stage_by_id[c.stage]
        names = tuple(roadmap.concept_by_id[p].name for p in c.prerequisites)
        why = (f"its prerequisites are done: {', '.join(names)}" if names
               else "it is a starting point of the roadmap with no prerequisites")
        if c.id in started:
            why += "; you have already started it"
        if c.id in focus:
            why += f"; the {track} track emphasises it"
        steps.append(Step(c.id, c.name, c.stage, why, tuple(c.prerequisites),
                          round(weeks_per_concept(c.stage), 1), tuple(r.title for r in stage.resources)))
    current = steps[0].stage if steps else roadmap.stages[-1].id
    left = [c for c in concepts if c.stage == current and c.id not in done]
    mastered_papers = tuple(p for p in papers if p.concepts and all(c in done for c in p.concepts))
    return Recommendation(current, tuple(steps), round(len(left) * weeks_per_concept(current), 1),
                          mastered_papers[:limit], finished=not ready and not left)


def progress(roadmap: Roadmap, mastery: dict[str, tuple[float, int]], known: set[str]) -> list[dict]:
    """Per stage: concepts mastered, in progress, not started, and the milestone's status.
    `mastery` maps concept id -> (p_known, attempts)."""
    from tutor.mastery import status

    out = []
    for stage in roadmap.stages:
        groups = {"mastered": [], "in_progress": [], "not_started": []}
        for c in roadmap.concepts:
            if c.stage != stage.id:
                continue
            p, attempts = mastery.get(c.id, (None, 0))
            groups["mastered" if c.id in known else status(p, attempts)].append(c.id)
        total = sum(len(v) for v in groups.values())
        milestone = ("ready" if len(groups["mastered"]) == total else
                     "in_progress" if groups["mastered"] or groups["in_progress"] else "not_started")
        out.append({"stage": stage.id, "title": stage.title, "weeks": list(stage.weeks), **groups,
                    "milestone": stage.milestone, "milestone_status": milestone})
    return out
