"""A seeded service database for the dashboard and xAPI tests: questions over several days
(answered, refused in two topics, failed), ratings, held-back sentences, three learners
with graded quizzes and mastery. Written with the real tables, as the service writes them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from tutor.models import (Conversation, Feedback, Learner, Mastery, Message, Quiz, QuizAttempt,
                          QuizItem)

REFUSED = {  # topic -> questions the material cannot answer
    "gpu": ["How do I schedule GPU jobs on a Kubernetes cluster?",
            "What GPU should I buy for training large models at home?",
            "How much GPU memory does fine-tuning a 7B model need?"],
    "cooking": ["What is a good recipe for sourdough bread?",
                "How long should I bake a sourdough loaf?"],
}
LEARNERS = ("ada", "bob", "cy")


def _at(days_ago: int, minute: int = 0) -> datetime:
    """`days_ago` days before now, ordered by `minute`, and never in the future (an hour back)."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now - timedelta(days=days_ago, hours=1) + timedelta(minutes=minute % 50)


def _turn(session, question: str, answer: str, status: str, days_ago: int, minute: int, *,
          learner: str | None = None, citations=(), held_back=None, support=None) -> Message:
    convo = Conversation(learner_id=learner, created_at=_at(days_ago, minute))
    session.add(convo)
    session.flush()
    session.add(Message(conversation_id=convo.id, role="user", content=question, created_at=_at(days_ago, minute)))
    reply = Message(conversation_id=convo.id, role="assistant", content=answer, status=status,
                    question=question if status != "failed" else None, citations=json.dumps(list(citations)),
                    support=support, held_back=None if held_back is None else json.dumps(held_back),
                    created_at=_at(days_ago, minute) + timedelta(seconds=5))
    session.add(reply)
    session.flush()
    return reply


def seed(engine) -> dict:
    cite = {"n": 1, "chunk_id": "stage-2#0", "title": "Stage 2: Deep Learning Fundamentals",
            "source": "corpus/roadmap.yaml", "stage": 2}
    with Session(engine) as session:
        for lid in LEARNERS:
            session.add(Learner(id=lid, display_name=lid.title()))
        session.flush()
        for i in range(6):
            _turn(session, f"What does stage {i % 4 + 1} cover?", "It covers the basics [1].", "ok", i, i,
                  citations=[cite], support=1.0, held_back=[])
        minute = 10
        for topic, questions in REFUSED.items():
            for q in questions:
                _turn(session, q, "The roadmap material does not cover that.", "refused", minute % 5, minute)
                minute += 1
        _turn(session, "Why does my training crash?", "Check the", "failed", 0, 40)
        disliked = _turn(session, "Is PyTorch better than TensorFlow?", "PyTorch is used in stage 2 [1].", "ok",
                         1, 41, learner="ada", citations=[cite], support=0.5)
        session.add(Feedback(message_id=disliked.id, rating=-1, comment="too short"))
        liked = _turn(session, "What is backpropagation?", "It computes gradients [1].", "ok", 1, 42,
                      citations=[cite], support=1.0)
        session.add(Feedback(message_id=liked.id, rating=1))
        _turn(session, "How long is stage 2?", "Stage 2 runs weeks 9-16 [1].", "ok", 0, 43, citations=[cite],
              support=1.0, held_back=["Stage 2 graduates receive a gold medal."])

        items = {}
        for key, concept, question in (("hard", "backpropagation", "What does backpropagation compute?"),
                                       ("easy", "pytorch", "Which library does stage 2 use?"),
                                       ("mid", "linear-algebra", "What is a matrix?")):
            item = QuizItem(stage=2 if key != "mid" else 1, concept_id=concept, kind="mcq", question=question,
                            options=json.dumps(["gradients", "weights", "losses", "layers"]), answer="0",
                            explanation="", chunk_id=f"concept-{concept}#0", source_title=concept)
            session.add(item)
            items[key] = item
        session.flush()
        outcomes = {"ada": {"hard": False, "easy": True, "mid": True},
                    "bob": {"hard": False, "easy": True, "mid": False},
                    "cy": {"hard": True, "easy": True, "mid": True}}
        for n, (lid, marks) in enumerate(outcomes.items()):
            quiz = Quiz(learner_id=lid, stage=2, item_ids=json.dumps([items[k].id for k in marks]),
                        created_at=_at(2, n), graded_at=_at(2, n))
            session.add(quiz)
            session.flush()
            for key, right in marks.items():
                session.add(QuizAttempt(quiz_id=quiz.id, item_id=items[key].id, learner_id=lid,
                                        given="0" if right else "1", correct=right, created_at=_at(2, n)))
            for key, right in marks.items():
                session.add(Mastery(learner_id=lid, concept_id=items[key].concept_id,
                                    p_known=0.97 if right else 0.2, attempts=1, correct=int(right),
                                    updated_at=_at(2, n)))
        session.commit()
        return {"items": {k: v.id for k, v in items.items()}, "disliked": disliked.id}
