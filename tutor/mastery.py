"""Mastery per concept: Bayesian Knowledge Tracing (Corbett & Anderson, 1994).

Each (learner, concept) holds p_known, the probability the learner knows the concept.
After a graded answer:

    posterior = p(1-slip) / (p(1-slip) + (1-p) guess)          if correct
              = p slip    / (p slip    + (1-p)(1-guess))        if wrong
    p_known   = posterior + (1 - posterior) * LEARN             (learning from the attempt)

GUESS depends on the item kind (a 4-option question is guessed 1 time in 4, true/false 1
in 2, short answers rarely). A concept is mastered at p_known >= MASTERED: from the prior,
four correct answers in a row get there, two wrong ones in a row bring it back down.
Concepts the learner says they know start at KNOWN_PRIOR instead of PRIOR.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.models import Mastery

PRIOR = 0.10
KNOWN_PRIOR = 0.95
LEARN = 0.15
SLIP = 0.10
GUESS = {"mcq": 0.25, "tf": 0.5, "short": 0.05}
MASTERED = 0.95


def bkt_update(p: float, correct: bool, kind: str = "mcq") -> float:
    guess = GUESS.get(kind, 0.25)
    if correct:
        posterior = p * (1 - SLIP) / (p * (1 - SLIP) + (1 - p) * guess)
    else:
        posterior = p * SLIP / (p * SLIP + (1 - p) * (1 - guess))
    return posterior + (1 - posterior) * LEARN


def status(p_known: float | None, attempts: int = 0) -> str:
    """mastered | in_progress | not_started."""
    if p_known is not None and p_known >= MASTERED:
        return "mastered"
    if attempts > 0:
        return "in_progress"
    return "not_started"


def record_answer(session: Session, learner_id: str, concept_id: str, correct: bool,
                  kind: str = "mcq", known: bool = False) -> Mastery:
    """Update one concept's mastery inside the caller's transaction (grading commits once)."""
    row = session.get(Mastery, (learner_id, concept_id))
    if row is None:
        row = Mastery(learner_id=learner_id, concept_id=concept_id, p_known=KNOWN_PRIOR if known else PRIOR)
    row.p_known = bkt_update(row.p_known, correct, kind)
    row.attempts += 1
    row.correct += int(correct)
    row.updated_at = datetime.now(timezone.utc)
    session.add(row)
    return row


def mastery_map(engine: Engine, learner_id: str) -> dict[str, Mastery]:
    with Session(engine) as session:
        rows = session.exec(select(Mastery).where(Mastery.learner_id == learner_id)).all()
    return {r.concept_id: r for r in rows}
