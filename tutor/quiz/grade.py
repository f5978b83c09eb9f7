"""Grading on the server, and what follows from it: attempts, mastery, spaced review.

Everything is validated before anything is written (quiz exists and is not graded,
learner exists, each answer names an item of the quiz and fits its kind), then one
transaction stores the attempts, updates mastery (BKT, tutor/mastery.py) for each
item's concept, schedules each item for review with FSRS, and marks the quiz graded. A
request that fails validation stores nothing.

Review schedule: FSRS (py-fsrs) with default parameters, one learning step of an hour
and no fuzz: a wrong answer (Rating.Again) comes back an hour later, a right one
(Rating.Good) graduates to a review interval of a few days, growing with each success.
Items the learner skipped are not graded and not scheduled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fsrs import Card, Rating, Scheduler
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.errors import Conflict, InvalidInput, NotFound
from tutor.learners import get_learner
from tutor.mastery import record_answer
from tutor.models import Learner, Quiz, QuizAttempt, QuizItem, Review
from tutor.quiz.bank import citation, public_item
from tutor.quiz.schema import LETTERS
from tutor.quiz.validate import normalise
from tutor.redact import maybe
from tutor.text import stem, terms

SCHEDULER = Scheduler(learning_steps=(timedelta(hours=1),), relearning_steps=(timedelta(hours=1),),
                      enable_fuzzing=False)


@dataclass(frozen=True)
class Given:
    item_id: str
    choice: int | None = None  # mcq: option index
    answer: str | bool | None = None  # tf: bool; short: text


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def key_of(item: QuizItem):
    return json.loads(item.answer)


def key_json(item: QuizItem) -> dict:
    key = key_of(item)
    if item.kind == "mcq":
        return {"choice": key, "letter": LETTERS[key], "text": json.loads(item.options)[key]}
    return {"answer": key}


def _check(item: QuizItem, given: Given) -> None:
    if item.kind == "mcq":
        options = json.loads(item.options)
        if given.choice is None:
            raise InvalidInput(f"item {item.id}: a multiple-choice answer needs \"choice\" (0-{len(options) - 1})")
        if not 0 <= given.choice < len(options):
            raise InvalidInput(f"item {item.id}: choice {given.choice} is not an option (0-{len(options) - 1})")
    elif item.kind == "tf" and not isinstance(given.answer, bool):
        raise InvalidInput(f"item {item.id}: a true/false answer needs \"answer\": true or false")
    elif item.kind == "short" and not (isinstance(given.answer, str) and given.answer.strip()):
        raise InvalidInput(f"item {item.id}: a short answer needs \"answer\" as text")


def is_correct(item: QuizItem, given: Given) -> bool:
    key = key_of(item)
    if item.kind == "mcq":
        return given.choice == key
    if item.kind == "tf":
        return given.answer is key
    # short: the same words, or every content word of the key present (stems of 5 letters)
    if normalise(given.answer) == normalise(key):
        return True
    wanted = {stem(t) for t in terms(key)}
    return bool(wanted) and wanted <= {stem(t) for t in terms(str(given.answer))}


def _schedule(session: Session, learner_id: str, item_id: str, correct: bool, now: datetime) -> Review:
    row = session.get(Review, (learner_id, item_id))
    card = Card.from_json(row.card) if row else Card()
    card, _ = SCHEDULER.review_card(card, Rating.Good if correct else Rating.Again, review_datetime=now)
    row = row or Review(learner_id=learner_id, item_id=item_id, card="", due=card.due)
    row.card, row.due, row.updated_at = card.to_json(), card.due, now
    session.add(row)
    return row


def grade_quiz(engine: Engine, quiz_id: str, answers: list[Given], learner_id: str | None = None,
               now: datetime | None = None, redact: bool = False) -> dict:
    now = now or _now()
    with Session(engine) as session:
        quiz = session.get(Quiz, quiz_id)
        if quiz is None:
            raise NotFound(f"no quiz {quiz_id!r}; get one with POST /api/quizzes")
        if quiz.graded_at is not None:
            raise Conflict(f"quiz {quiz_id} was already graded; start a new quiz to try again")
        if learner_id and quiz.learner_id and learner_id != quiz.learner_id:
            raise InvalidInput("this quiz was served to another learner")
        learner_id = learner_id or quiz.learner_id
        if learner_id:
            get_learner(session, learner_id)
        item_ids = json.loads(quiz.item_ids)
        items = {i.id: i for i in session.exec(select(QuizItem).where(QuizItem.id.in_(item_ids))).all()}
        by_item: dict[str, Given] = {}
        for given in answers:
            if given.item_id not in items:
                raise InvalidInput(f"item {given.item_id!r} is not in quiz {quiz_id}")
            if given.item_id in by_item:
                raise InvalidInput(f"item {given.item_id!r} is answered twice")
            _check(items[given.item_id], given)
            by_item[given.item_id] = given
        _claim(session, quiz, learner_id, now)
        results = [_grade_one(session, quiz, items[i], by_item.get(i), learner_id, now, redact)
                   for i in item_ids]
        quiz.graded_at = now
        if learner_id and not quiz.learner_id:
            quiz.learner_id = learner_id
        session.add(quiz)
        session.commit()
    answered = [r for r in results if r["answered"]]
    return {"quiz_id": quiz_id, "learner_id": learner_id, "graded_at": now.isoformat(),
            "correct": sum(r["correct"] for r in answered), "answered": len(answered),
            "total": len(results), "results": results}


def _claim(session: Session, quiz: Quiz, learner_id: str | None, now: datetime) -> None:
    """Make this the only grading of the quiz, and the only one of the learner's answers in
    flight, across every replica on the database. The check above read graded_at outside
    any lock: a conditional UPDATE decides (the database serialises it; the loser matches no
    row). Then the learner's row is locked (FOR UPDATE on PostgreSQL; SQLite's write lock,
    taken by the UPDATE, already serialises writers), so two quizzes graded at once cannot
    both read and overwrite the same mastery or review row."""
    claimed = session.exec(update(Quiz).where(Quiz.id == quiz.id, Quiz.graded_at.is_(None))
                           .values(graded_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        session.rollback()
        raise Conflict(f"quiz {quiz.id} was already graded; start a new quiz to try again")
    if learner_id:
        session.exec(select(Learner.id).where(Learner.id == learner_id).with_for_update())


def _grade_one(session: Session, quiz: Quiz, item: QuizItem, given: Given | None,
               learner_id: str | None, now: datetime, redact: bool) -> dict:
    correct = given is not None and is_correct(item, given)
    if given is not None:
        value = given.choice if item.kind == "mcq" else given.answer
        if isinstance(value, str):  # graded on what was typed, stored without contact details
            value = maybe(value, redact)
        session.add(QuizAttempt(quiz_id=quiz.id, item_id=item.id, learner_id=learner_id,
                                given=json.dumps(value), correct=correct, created_at=now))
        if learner_id:
            if item.concept_id:
                record_answer(session, learner_id, item.concept_id, correct, item.kind)
            _schedule(session, learner_id, item.id, correct, now)
    return {"item_id": item.id, "answered": given is not None, "correct": correct, "key": key_json(item),
            "explanation": item.explanation, "citation": citation(item)}


def due_reviews(engine: Engine, learner_id: str, until: datetime | None = None) -> list[dict]:
    """Items due for review by `until` (default now), most overdue first, without keys."""
    until = _aware(until) if until else _now()
    with Session(engine) as session:
        get_learner(session, learner_id)
        rows = session.exec(select(Review, QuizItem).join(QuizItem, QuizItem.id == Review.item_id)
                            .where(Review.learner_id == learner_id).order_by(Review.due)).all()
        return [{**public_item(item), "due": _aware(review.due).isoformat()}
                for review, item in rows if _aware(review.due) <= until]
