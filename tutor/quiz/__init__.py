"""Practice quizzes: generated from a stage's chunks with schema-constrained JSON
(generate.py), checked against their source before they are stored as servable
(validate.py), drawn from a bank (bank.py), graded on the server with mastery and FSRS
review updates (grade.py), and hinted at without ever giving the key (hints.py).

Importing the package registers the quiz rows in tutor.learners.ERASERS, so erasing a
learner also erases their hints, attempts, reviews and quizzes (in foreign-key order).
"""

from __future__ import annotations

from sqlmodel import Session, delete, or_, select

from tutor.learners import ERASERS
from tutor.models import Conversation, Quiz, QuizAttempt, QuizHint, Review


def _quiz_ids(session: Session, learner_id: str) -> list[str]:
    return list(session.exec(select(Quiz.id).where(Quiz.learner_id == learner_id)).all())


def _erase_hints(session: Session, learner_id: str) -> int:
    conversations = select(Conversation.id).where(Conversation.learner_id == learner_id)
    return session.exec(delete(QuizHint).where(QuizHint.conversation_id.in_(conversations))).rowcount


def _erase_attempts(session: Session, learner_id: str) -> int:
    return session.exec(delete(QuizAttempt).where(or_(QuizAttempt.learner_id == learner_id,
                                                      QuizAttempt.quiz_id.in_(_quiz_ids(session, learner_id))))).rowcount


def _erase_reviews(session: Session, learner_id: str) -> int:
    return session.exec(delete(Review).where(Review.learner_id == learner_id)).rowcount


def _erase_quizzes(session: Session, learner_id: str) -> int:
    return session.exec(delete(Quiz).where(Quiz.learner_id == learner_id)).rowcount


for _name, _eraser in (("quiz_hints", _erase_hints), ("quiz_attempts", _erase_attempts),
                       ("reviews", _erase_reviews), ("quizzes", _erase_quizzes)):
    if all(name != _name for name, _ in ERASERS):
        ERASERS.append((_name, _eraser))
