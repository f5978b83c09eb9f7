"""The item bank: building it (generate -> validate -> store), serving quizzes from it, and
topping it up in the background when a stage runs low.

An item the model wrote is served and graded as text a client receives, so before it is
accepted it also passes the output filter's check (tutor/guard.py): a field that shows the
canary, in any form the filter knows, or 12 words of a system prompt rejects it ("leak").

Serving never waits for the model: a quiz is drawn from accepted items at once (items
the learner has not attempted first), for a stage or for one concept (the items whose
concept is that one). When fewer than LOW_WATER accepted items remain for a stage (or a
concept quiz finds fewer than it asked for), one background thread generates REFILL_BATCH
more, from the stage's sources (or only those about the concept): never two at a time for
a stage, in this process or another replica (a lease row, tutor/lease.py).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor import lease
from tutor.answer import Tutor
from tutor.errors import InvalidInput, NotFound, TutorError
from tutor.guard import Leaks, guard_for
from tutor.models import Quiz, QuizAttempt, QuizItem
from tutor.quiz.distractors import DistractorRepair, Phrases
from tutor.quiz.generate import generate_many, primary_concept, source_chunks
from tutor.quiz.schema import Candidate
from tutor.quiz.validate import Validator, Verdict, normalise, shown, stages_in
from tutor.types import Chunk

KIND_CYCLE = ("mcq", "mcq", "tf", "mcq", "short")
LOW_WATER = 8
REFILL_BATCH = 4


class BankEmpty(TutorError):
    http_status = 503


def stages_of(tutor_or_chunks) -> list[int]:
    chunks = getattr(getattr(tutor_or_chunks, "index", None), "chunks", tutor_or_chunks)
    return sorted({c.stage for c in chunks if c.stage is not None and c.kind == "roadmap"})


def check_stage(stages: list[int], stage: int) -> None:
    if stage not in stages:
        raise NotFound(f"no stage {stage}; stages are {', '.join(map(str, stages))}")


def check_concept(roadmap, concept: str, stage: int | None = None):
    """The roadmap's Concept for an id (422 naming an unknown id, or a stage that does not
    hold the concept: a concept belongs to one stage, corpus/roadmap.yaml)."""
    found = roadmap.concept_by_id.get(concept)
    if found is None:
        raise InvalidInput(f"unknown concept id {concept!r}: concept ids look like 'linear-algebra' "
                           "(GET /api/roadmap lists them)")
    if stage is not None and stage != found.stage:
        raise InvalidInput(f"concept {concept!r} ({found.name}) is in stage {found.stage}, not stage {stage}: "
                           f"ask for stage {found.stage}, or give the concept alone")
    return found


# -- building -----------------------------------------------------------------------------

@dataclass
class BuildReport:
    stage: int
    candidates: int = 0
    accepted: int = 0
    repaired: int = 0  # mcq items whose failed wrong options were replaced (distractors.py)
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    # the accepted items as built: (candidate, concept id, source chunk, verdict); the
    # candidate keeps what the stored row does not (a false statement's correction)
    kept: list = field(default_factory=list)
    stopped: str | None = None  # why it stopped early ("Ctrl-C", "max_seconds"): what was accepted counts

    @property
    def rejected(self) -> int:
        return self.candidates - self.accepted

    @property
    def pass_rate(self) -> float:
        return self.accepted / self.candidates if self.candidates else 0.0

    @property
    def seconds_per_valid(self) -> float | None:
        return self.seconds / self.accepted if self.accepted else None


def _store(session: Session, c: Candidate, verdict: Verdict, chunk, backend: str,
           concept: str | None = None) -> QuizItem:
    # a false statement names another concept on purpose (swaps.py): its correction names the item's
    said = c.correction if c.kind == "tf" and c.answer is False else c.question  # (a rejected row may lack a key)
    row = QuizItem(stage=chunk.stage, concept_id=primary_concept(chunk, f"{said} {c.explanation}", concept),
                   concepts=json.dumps(list(chunk.concepts)), kind=c.kind, question=str(c.question),
                   options=json.dumps(c.options), answer=json.dumps(c.answer), explanation=str(c.explanation),
                   fact=str(c.fact), chunk_id=chunk.id, source_title=chunk.title, source=chunk.source,
                   status="accepted" if verdict.ok else "rejected", reasons=json.dumps(verdict.details),
                   scores=json.dumps(verdict.scores), backend=backend)
    session.add(row)
    session.commit()
    return row


def leaked_field(leaks: Leaks, c: Candidate) -> str | None:
    """The first field of an item that would show a client the canary or a span of a system prompt."""
    for name in ("question", "options", "answer", "explanation", "fact", "correction"):
        value = getattr(c, name)
        if leaks.leaks(value if isinstance(value, str) else json.dumps(value)):
            return name
    return None


def key_text(item: QuizItem) -> str:
    """A stored item's key as words (the correct option's text, or the short answer)."""
    key = json.loads(item.answer)
    return str(json.loads(item.options)[key] if item.kind == "mcq" else key)


def _serves(stage: int, concept: str | None = None):
    """Which accepted items a quiz draws from: the stage's, or those of one concept (the
    item's concept, whichever stage's source it came from)."""
    where = QuizItem.concept_id == concept if concept else QuizItem.stage == stage
    return where, QuizItem.status == "accepted"


def accepted_items(session: Session, stage: int, concept: str | None = None) -> list[QuizItem]:
    return list(session.exec(select(QuizItem).where(*_serves(stage, concept)).order_by(QuizItem.created_at)).all())


class _StageChecks:
    """What a new candidate of one stage is checked against, grown as items are accepted:
    the validators, the distractor repair, the stage's questions (embedded) and keys, and the
    questions review dropped."""

    def __init__(self, tutor: Tutor, session: Session, stage: int, bank: list[QuizItem]):
        self.embedder = tutor.embedder
        self.validator = Validator(tutor.embedder, tutor.sentence_vectors, stages_in(tutor.index.chunks))
        self.leaks = guard_for(tutor.prompts).leaks
        self.vectors = tutor.embedder.encode([i.question for i in bank]) if bank else None
        self.answers = Phrases(tutor.embedder, [key_text(i) for i in bank if i.kind != "tf"])
        self.keys = {normalise(key_text(i)) for i in bank if i.kind != "tf"}
        self.shown = [(i.question, None if i.kind == "tf" else key_text(i)) for i in bank]
        self.verdicts = Counter(json.loads(i.answer) for i in bank if i.kind == "tf")  # {True: n, False: m}
        self.dropped = {normalise(q) for q in session.exec(select(QuizItem.question).where(
            QuizItem.stage == stage, QuizItem.kind == "dropped")).all()}
        self.repair = DistractorRepair(self.validator, Phrases.corpus_names(tutor.index.chunks, tutor.embedder),
                                       self.answers)

    def check(self, made, kind: str, chunk: Chunk) -> tuple[Candidate, Verdict, list]:
        """(candidate as repaired, verdict, wrong options the repair replaced)."""
        if isinstance(made, Exception):  # the backend returned something that is not JSON
            verdict = Verdict()
            verdict.fail("schema", str(made)[:200])
            return Candidate(kind, "", None), verdict, []
        candidate, replaced = self.repair.repair(made, chunk)
        verdict = self.validator.check(candidate, chunk, self.vectors, frozenset(self.keys), self.shown)
        if normalise(candidate.question) in self.dropped:
            verdict.fail("duplicate", "review dropped the same question before")
        if leaked := leaked_field(self.leaks, candidate):
            verdict.fail("leak", f"its {leaked} shows the canary or a span of a system prompt")
        if replaced:
            verdict.scores["replaced"] = replaced
        return candidate, verdict, replaced

    def truth(self, kind: str) -> bool | None:
        """The verdict a new true/false item is asked for: false while the stage holds fewer false
        items than true ones (a bank of true statements is passed by answering "true" to all;
        the shipped bank had 3 false of 45 in session 11), else the seeded coin (None)."""
        return False if kind == "tf" and self.verdicts[False] < self.verdicts[True] else None

    def accept(self, candidate: Candidate, question: str) -> None:
        new = self.embedder.encode([question])
        self.vectors = new if self.vectors is None else np.vstack([self.vectors, new])
        self.shown.append(shown(candidate))
        if candidate.kind == "tf":
            self.verdicts[candidate.answer] += 1
        if candidate.kind != "tf":
            self.answers.add([candidate.key_text()])
            self.keys.add(normalise(candidate.key_text()))


def build_stage(tutor: Tutor, engine: Engine, stage: int, per_stage: int, *,
                max_candidates: int | None = None, concept: str | None = None,
                kinds: tuple[str, ...] = KIND_CYCLE, batch: int = 1, max_seconds: float | None = None) -> BuildReport:
    """Generate until `per_stage` items are accepted or `max_candidates` (default twice
    that) were tried. Sources used least so far go first, so rebuilding widens the bank.
    `batch` candidates are written per model call (`generate_many`); each is then checked
    in turn, against the bank as the ones before it left it. With `concept`, only the
    stage's sources about it are used, and an item is tagged with it when the item's words
    do not point to another of its source's concepts more (generate.primary_concept).
    A build stopped by Ctrl-C, or one that ran `max_seconds` (checked between model calls),
    returns what it accepted so far, marked `stopped`. A question that review dropped
    before (a "dropped" row, seeded by shipped.export_stage) is rejected as a duplicate."""
    report = BuildReport(stage)
    sources = source_chunks(tutor.index.chunks, stage, concept)
    if not sources:
        return report
    started = time.perf_counter()
    with Session(engine) as session:
        used = Counter(session.exec(select(QuizItem.chunk_id).where(QuizItem.stage == stage)).all())
        bank = accepted_items(session, stage)
        checks = _StageChecks(tutor, session, stage, bank)
        order = sorted(range(len(sources)), key=lambda i: (used[sources[i].id], i))
        limit = max_candidates or 2 * per_stage
        n = 0
        try:
            while n < limit and report.accepted < per_stage:
                if max_seconds is not None and time.perf_counter() - started >= max_seconds:
                    report.stopped = "max_seconds"
                    break
                jobs = []
                for k in range(n, min(n + batch, limit, n + per_stage - report.accepted)):  # no more than wanted
                    chunk = sources[order[k % len(order)]]
                    kind = kinds[(len(bank) + k) % len(kinds)]
                    jobs.append((chunk, kind, used[chunk.id], checks.truth(kind)))
                    used[chunk.id] += 1
                n += len(jobs)
                for (chunk, kind, *_), made in zip(jobs, generate_many(tutor, jobs)):
                    if report.accepted >= per_stage:
                        break
                    candidate, verdict, replaced = checks.check(made, kind, chunk)
                    row = _store(session, candidate, verdict, chunk, tutor.llm.name, concept)
                    report.candidates += 1
                    report.repaired += bool(replaced)
                    report.reasons.update(verdict.reasons)
                    if verdict.ok:
                        report.accepted += 1
                        report.kept.append((candidate, row.concept_id, chunk, verdict))
                        checks.accept(candidate, row.question)
        except KeyboardInterrupt:  # Ctrl-C: keep what was accepted (export_stage writes it)
            report.stopped = "Ctrl-C"
    report.seconds = time.perf_counter() - started
    return report


# -- serving ------------------------------------------------------------------------------

def public_item(item: QuizItem) -> dict:
    """What a learner sees before answering: never the key or the explanation."""
    body = {"id": item.id, "kind": item.kind, "question": item.question, "concept": item.concept_id,
            "citation": citation(item)}
    if item.kind == "mcq":
        body["options"] = json.loads(item.options)
    return body


def citation(item: QuizItem) -> dict:
    return {"chunk_id": item.chunk_id, "title": item.source_title, "source": item.source, "stage": item.stage}


def available(engine: Engine, stage: int, concept: str | None = None) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(QuizItem).where(*_serves(stage, concept))).one()


def topic(stage: int, concept=None) -> str:
    """How a quiz's subject is named to a learner: "stage 2", or "Linear algebra (linear-algebra)"."""
    return f"{concept.name} ({concept.id})" if concept is not None else f"stage {stage}"


def shortfall(stage: int, requested: int, served: int, writing: bool = False, concept=None) -> str | None:
    """What a learner is told when the bank holds fewer items than they asked for (never
    a silently shorter quiz); None when the quiz is complete. `writing`: a top-up is running.
    `concept`: the roadmap Concept of a concept quiz."""
    if served >= requested:
        return None
    text = f"Only {served} of the {requested} questions you asked for are ready for {topic(stage, concept)}"
    if writing:
        return text + "; more are being written: ask again in a few minutes."
    return text + (f"; a stage {stage} quiz draws on the whole stage." if concept is not None else ".")


def _kinds_in_turn(items: list[QuizItem], rng: random.Random) -> list[QuizItem]:
    """The items with their kinds taking turns (in an order drawn per quiz), each kind's
    items in the order given: a short quiz mixes mcq, short-answer and true/false where the
    bank has them, rather than mirroring a bank that is mostly true/false."""
    queues: dict[str, list[QuizItem]] = {}
    for item in items:
        queues.setdefault(item.kind, []).append(item)
    kinds = sorted(queues)
    rng.shuffle(kinds)
    turns = [queues[k] for k in kinds]
    return [q[n] for n in range(max(map(len, turns), default=0)) for q in turns if n < len(q)]


def serve_quiz(engine: Engine, stage: int, count: int, learner_id: str | None = None,
               rng: random.Random | None = None, concept=None) -> tuple[Quiz, list[QuizItem]]:
    """Draw `count` accepted items (fewer if the bank holds fewer: the caller says so, see
    shortfall) and record the quiz: items the learner has not attempted first, at random,
    their kinds taking turns (_kinds_in_turn). `concept`: the roadmap Concept of a concept
    quiz (its items, recorded as a quiz of `stage`, the concept's stage)."""
    rng = rng or random.Random()
    with Session(engine) as session:
        items = accepted_items(session, stage, concept.id if concept is not None else None)
        if not items and concept is not None:
            raise BankEmpty(f"no quiz questions are ready for {topic(stage, concept)} (0 of the {count} asked "
                            f"for): take the stage {stage} quiz, or build some with "
                            f"`tutor quiz build --concept {concept.id}`")
        if not items:
            raise BankEmpty(f"no quiz questions are ready for stage {stage} (0 of the {count} asked for): "
                            f"load the shipped bank with `tutor db upgrade` or build one with "
                            f"`tutor quiz build --stage {stage}`")
        seen = set()
        if learner_id:
            seen = set(session.exec(select(QuizAttempt.item_id).where(QuizAttempt.learner_id == learner_id)).all())
        rng.shuffle(items)
        chosen = _kinds_in_turn([i for i in items if i.id not in seen], rng)
        chosen += _kinds_in_turn([i for i in items if i.id in seen], rng)
        chosen = chosen[:count]
        quiz = Quiz(learner_id=learner_id, stage=stage, item_ids=json.dumps([i.id for i in chosen]))
        session.add(quiz)
        session.commit()
        session.refresh(quiz)
        for item in chosen:
            session.refresh(item)
        return quiz, chosen


# A top-up of REFILL_BATCH items takes a minute or two with the packaged model on 2 cores;
# a process that dies holding the lease frees the stage after this long.
TOP_UP_LEASE_SECONDS = 900


def top_up_lease(stage: int) -> str:
    return f"quiz-top-up:{stage}"


class Refiller:
    """Background top-up of a stage's bank: at most one generation thread at a time."""

    def __init__(self, engine: Engine, low_water: int = LOW_WATER, batch: int = REFILL_BATCH):
        self.engine = engine
        self.low_water = low_water
        self.batch = batch
        self.last_report: BuildReport | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._writing: tuple[int, str | None] | None = None  # (stage, concept) of the top-up

    def maybe_top_up(self, tutor: Tutor, stage: int, wanted: int = 0, concept: str | None = None) -> bool:
        """Start a top-up when the stage is low (under low_water, or fewer than `wanted`
        items) and none is running, in this process or in another replica on the same
        database (a lease row, per stage); True if one started. With `concept` (one of the
        stage's concepts): when the concept holds fewer than `wanted` items (at least one)
        and the stage has sources about it, written from those sources only."""
        floor = max(wanted, 1) if concept else max(self.low_water, wanted)
        if available(self.engine, stage, concept) >= floor:
            return False
        if concept and not source_chunks(tutor.index.chunks, stage, concept):
            return False  # nothing to write from: the stage quiz is the learner's way on
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            if not lease.claim(self.engine, top_up_lease(stage), TOP_UP_LEASE_SECONDS):
                return False
            self._writing = (stage, concept)
            self._thread = threading.Thread(target=self._run, args=(tutor, stage, concept),
                                            name=f"quiz-top-up-{stage}", daemon=True)
            self._thread.start()
        return True

    def _run(self, tutor: Tutor, stage: int, concept: str | None = None) -> None:
        try:
            self.last_report = build_stage(tutor, self.engine, stage, self.batch, concept=concept)
        except Exception as exc:  # keep serving; the next low quiz request retries
            self.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                lease.release(self.engine, top_up_lease(stage))
            except Exception:  # the database went away: the lease expires by itself
                pass

    def running(self, stage: int | None = None, concept: str | None = None) -> bool:
        """A top-up is running (with `stage`: one writing for a quiz on it, or on `concept`)."""
        if self._thread is None or not self._thread.is_alive():
            return False
        if stage is None:
            return True
        return self._writing is not None and self._writing[0] == stage and concept in (None, self._writing[1])

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
