"""The learner-facing side of "what next": load a learner's state, compute the
recommendation (tutor/next_step.py), and have the LLM explain it from the chunks of the
recommended concepts, with citations built on the server like any answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tutor.answer import Prepared, Tutor
from tutor.index import LoadedIndex
from tutor.learners import get_learner, known_concepts
from tutor.mastery import MASTERED, mastery_map
from tutor.next_step import recommend
from tutor.roadmap import Roadmap
from tutor.types import Answer, Hit, PaperRef, Recommendation

_NEXT = re.compile(
    r"\bwhat(?:'s| is| should| do| can)? ?(?:i|we)? ?(?:learn|study|do|focus on|tackle|work on)? next\b"
    r"|\bwhat next\b|\bnext step|\bwhere (?:do|should) i go from here|\bwhat comes next for me\b"
    r"|\bwhat should i (?:learn|study) (?:now|after this)", re.I)


def is_next_question(message: str) -> bool:
    """A learner asking, in their own words, what to study next."""
    return bool(_NEXT.search(message))


def papers_in(index: LoadedIndex) -> list[PaperRef]:
    seen: dict[str, PaperRef] = {}
    for c in index.chunks:
        if c.kind == "paper" and c.doc_id not in seen:
            seen[c.doc_id] = PaperRef(c.doc_id, c.title.split(" — ")[0], c.stage, c.concepts)
    return sorted(seen.values(), key=lambda p: (p.stage or 0, p.doc_id))


def recommendation_for(engine: Engine, roadmap: Roadmap, papers: list[PaperRef], learner_id: str,
                       limit: int = 3) -> Recommendation:
    with Session(engine) as session:
        learner = get_learner(session, learner_id)
        known = set(known_concepts(learner))
        track, hours = learner.track, learner.hours_per_week
    rows = mastery_map(engine, learner_id)
    done = known | {cid for cid, r in rows.items() if r.p_known >= MASTERED}
    started = {cid for cid, r in rows.items() if r.attempts and cid not in done}
    return recommend(roadmap, done, started, track, hours, papers, limit)


def recommendation_json(rec: Recommendation) -> dict:
    return {"stage": rec.stage, "finished": rec.finished, "stage_weeks_left": rec.stage_weeks_left,
            "next": [{"concept": s.concept_id, "name": s.name, "stage": s.stage, "why": s.why,
                      "prerequisites_done": list(s.prerequisites_done), "weeks": s.weeks,
                      "resources": list(s.resources)} for s in rec.steps],
            "papers": [{"doc_id": p.doc_id, "title": p.title, "stage": p.stage} for p in rec.papers]}


def _prepared(tutor: Tutor, rec: Recommendation) -> Prepared:
    wanted = [f"concept-{s.concept_id}" for s in rec.steps] + [f"stage-{rec.stage}"]
    first = {}
    for c in tutor.index.chunks:
        if c.doc_id in wanted and c.doc_id not in first:
            first[c.doc_id] = c
    chunks = [first[d] for d in wanted if d in first][:4]
    hits = [Hit(c, 1.0, i, 1.0) for i, c in enumerate(chunks, 1)]
    question = "What should I learn next? " + "; ".join(
        f"{s.name} (stage {s.stage}, about {s.weeks} weeks at my pace), because {s.why}" for s in rec.steps)
    return Prepared(question, hits, tutor._trim(hits, tutor.embedder.encode_one(question), question), False)


def explain_events(tutor: Tutor, rec: Recommendation, cancel=None) -> Iterator[tuple[str, object]]:
    """The same event stream as Tutor.events, for an explanation of `rec`."""
    started = time.perf_counter()
    if rec.finished or not rec.steps:
        text = ("You have mastered every concept in the roadmap. Pick a specialisation project and "
                "keep the monthly habits going.")
        yield "meta", {"question": "what next", "refused": False, "backend": tutor.llm.name, "next": True}
        yield "token", text
        yield "citations", []
        yield "done", Answer(text, (), False, 1.0, tutor.llm.name, "what next", {})
        return
    prepared = _prepared(tutor, rec)
    yield "meta", {"question": prepared.question, "refused": False, "backend": tutor.llm.name,
                   "next": recommendation_json(rec)}
    messages = tutor.prompts.messages("next", steps=rec.steps, stage=rec.stage,
                                      weeks_left=rec.stage_weeks_left, sources=prepared.sources)
    pieces = []
    timings = {}
    for piece in tutor.llm.stream(messages, max_tokens=tutor.settings.max_answer_tokens,
                                  temperature=0.0, cancel=cancel):
        if not pieces:
            timings["first_token"] = time.perf_counter() - started
        pieces.append(piece)
        yield "token", piece
    answer = tutor.finish(prepared, "".join(pieces), timings)
    yield "citations", [c.__dict__ for c in answer.citations]
    yield "done", answer


def explain(tutor: Tutor, rec: Recommendation) -> Answer:
    return next(p for k, p in explain_events(tutor, rec) if k == "done")
