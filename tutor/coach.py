"""The learner-facing side of "what next": load a learner's state (or read it from the
question's own words when there is no learner), compute the recommendation
(tutor/next_step.py), and have the LLM explain it from the chunks of the recommended
concepts and stage, with citations built on the server like any answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlmodel import Session

from typing import TYPE_CHECKING

from tutor.context import Prepared
from tutor.events import Event, closing_events
from tutor.index import LoadedIndex
from tutor.learners import get_learner, known_concepts
from tutor.mastery import MASTERED, mastery_map
from tutor.next_step import recommend
from tutor.retrieve import stages_named
from tutor.roadmap import Roadmap
from tutor.routing import stage_title_pattern
from tutor.types import Answer, Chunk, Hit, PaperRef, Recommendation

if TYPE_CHECKING:
    from tutor.answer import Tutor


_NEXT = re.compile(
    r"\bwhat(?:'s| is| should| do| can)? ?(?:i|we)? ?(?:learn|study|do|focus on|tackle|work on)? next\b"
    r"|\bwhats next\b|\bwhat next\b|\bnext steps?\b|\bwhere (?:do|should|can) i go (?:from here|next|now)"
    r"|\bwhat comes next\b|\bwhat(?:'s| is)? (?:my|the) next\b"
    r"|\bwhat (?:should|do|can) i (?:learn|study|do|tackle|focus on|pick up) "
    r"(?:now|after (?:this|that|it|stage|finishing|i)|once|since|next)"
    r"|\bwhat (?:to|should i) (?:learn|study) (?:after|next)\b|\bready (?:to move on|for the next)"
    # "I know python and numpy, what now?", "done with CNNs. next?", "what comes after X for me?"
    r"|\bwhat now\b|(?:^|[.,;!]\s*)next\s*\?|\bwhat comes after\b[^?.]{0,60}\bfor me\b", re.I)
_WEEK = re.compile(r"\bweek (\d{1,2})\b", re.I)
_FINISHED = re.compile(r"\b(?:done|finish\w*|complet\w*|through|mastered|know|learn[te]d?|covered|"
                       r"comfortable|wrapped up|got|after|move on from|moving on from)\b", re.I)


def is_next_question(message: str) -> bool:
    """A learner asking, in their own words, what to study next."""
    return bool(_NEXT.search(message))


def _aliases(name: str, cid: str) -> set[str]:
    """How a learner may write a concept: its name, its id in words, what its name has in
    brackets ("ResNet"), the initials of a long name ("SVM" for support vector machines),
    and each word of a pair of one-word names ("LSTM" for "LSTM and GRU": "know RNNs and
    LSTMs now" was recommended LSTM and GRU; "Data and model versioning" is no pair)."""
    base = re.sub(r"\s*\(.*?\)", "", name).lower()
    found = {base, cid.replace("-", " "), *(p.strip().lower() for p in re.findall(r"\((.*?)\)", name)
                                           for p in p.split(","))}
    if m := re.fullmatch(r"(\S+) and (\S+)", base):
        found.update(m.groups())
    words = base.split()
    if len(words) >= 2:
        found.add("".join(w[0] for w in words if w not in ("and", "of")))
    return {a for a in found if len(a) > 2}


def concepts_named(roadmap: Roadmap, text: str) -> set[str]:
    """The ids of the concepts a question names (plurals and initials included)."""
    lowered = text.lower()
    return {c.id for c in roadmap.concepts
            if any(re.search(rf"\b{re.escape(a)}(?:e?s)?\b", lowered) for a in _aliases(c.name, c.id))}


def _stages_by_title(roadmap: Roadmap, text: str) -> set[int]:
    """Stages named by their title's parts ("classical ML", "deep learning fundamentals")."""
    return {s.id for s in roadmap.stages if stage_title_pattern(s.title, loose=True).search(text)}


def done_in_words(roadmap: Roadmap, text: str) -> set[str]:
    """What a learner with no profile says they have done: the concepts they name with
    everything those build on, and every concept of the stages before the one they are in
    (a stage they say they finished counts as before the next one)."""
    by_id = roadmap.concept_by_id
    named = concepts_named(roadmap, text)
    stages = stages_named(text, roadmap.stages[-1].id) | _stages_by_title(roadmap, text)
    finished = bool(_FINISHED.search(text))
    current = max((s + 1 if finished else s for s in stages), default=0)
    for week in map(int, _WEEK.findall(text)):  # "finished the week 8 project": stage 1 is done
        for s in roadmap.stages:
            if s.weeks[0] <= week <= s.weeks[1]:
                current = max(current, s.id + 1 if finished and week == s.weeks[1] else s.id)
    current = max([current, *(by_id[c].stage for c in named)])
    done = {c.id for c in roadmap.concepts if c.stage < current}
    todo = list(named)
    while todo:
        cid = todo.pop()
        if cid not in done:
            done.add(cid)
            todo.extend(by_id[cid].prerequisites)
    return done


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


def recommendation_from_words(roadmap: Roadmap, papers: list[PaperRef], text: str,
                              limit: int = 3) -> Recommendation:
    """"What next" for a learner with no profile, from what their question says is done."""
    return recommend(roadmap, done_in_words(roadmap, text), set(), "industry", 15, papers, limit,
                     named=set(concepts_named(roadmap, text)))


def recommendation_json(rec: Recommendation) -> dict:
    return {"stage": rec.stage, "finished": rec.finished, "stage_weeks_left": rec.stage_weeks_left,
            "stage_time_left": rec.time_left,
            "next": [{"concept": s.concept_id, "name": s.name, "stage": s.stage, "why": s.why,
                      "prerequisites_done": list(s.prerequisites_done), "weeks": s.weeks, "time": s.time,
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
        f"{s.name} (stage {s.stage}, {s.time} at my pace), because {s.why}" for s in rec.steps)
    # Each entry gets its share of the budget: chosen together, the first two steps' pages
    # took it all, and the answer's sentence on the third step had no source to cite.
    qv, share = tutor.embedder.encode_one(question), tutor.settings.context_tokens // max(len(hits), 1)
    sources = [s for h in hits for s in tutor.select([h], qv, question, budget=share)]
    return Prepared(question, hits, sources, False, facts=step_facts(rec))


def step_facts(rec: Recommendation) -> list[Chunk]:
    """The computed recommendation in the words the next prompt gives the model, one line
    per fact. The steps, their reasons and the weeks are computed, not read from the
    corpus: the explanation may state them, so the support check counts them as backed.
    Each line stands for the entry it is about (its doc_id: the stage, a step's concept),
    and a sentence it backs cites that entry's source (Tutor.finish)."""
    lines = [(f"stage-{rec.stage}",
              f"Your next steps are in stage {rec.stage}, which has {rec.time_left} of study left at your pace.")]
    lines += [(f"concept-{s.concept_id}",
               f"Study {s.name} next (stage {s.stage}), because {s.why}. It takes {s.time} at your pace.")
              for s in rec.steps]
    return [Chunk(f"recommendation#{n}", doc_id, text, "Computed next step", "user", "next_step")
            for n, (doc_id, text) in enumerate(lines)]


def explain_events(tutor: Tutor, rec: Recommendation, cancel=None) -> Iterator[Event]:
    """The same event stream as Tutor.events, for an explanation of `rec`."""
    started = time.perf_counter()
    if rec.finished or not rec.steps:
        text = ("You have mastered every concept in the roadmap. Pick a specialisation project and "
                "keep the monthly habits going.")
        yield "meta", {"question": "what next", "refused": False, "backend": tutor.llm.name, "next": True}
        yield "token", text
        yield from closing_events(Answer(text, (), False, 1.0, tutor.llm.name, "what next", {}))
        return
    prepared = _prepared(tutor, rec)
    yield "meta", {"question": prepared.question, "refused": False, "backend": tutor.llm.name,
                   "next": recommendation_json(rec)}
    messages = tutor.prompts.messages("next", facts=[f.text for f in prepared.facts], sources=prepared.sources)
    yield from tutor.reply(prepared, messages, started=started, cancel=cancel)


def explain(tutor: Tutor, rec: Recommendation) -> Answer:
    """The explanation as GET /api/learners/{id}/next?explain=true and `tutor next --explain`
    serve it: through the output filter, like every reply (tutor/guard.py)."""
    from tutor.guard import guarded

    return next(p for k, p in guarded(tutor, explain_events(tutor, rec)) if k == "done")
