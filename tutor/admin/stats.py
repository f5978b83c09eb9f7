"""What the operator dashboard shows, as plain functions over the service database: one
function per panel, each returning JSON-ready data (the /admin/api/... twins return it as
is; the page draws it).

Counting happens in Python over the rows of a window (the last DAYS days, at most LIMIT
rows per panel), not in dialect-specific SQL, so SQLite and PostgreSQL give the same numbers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.models import Feedback, Message, QuizAttempt, QuizItem
from tutor.roadmap import Roadmap

DAYS = 30
LIMIT = 500
MIN_ATTEMPTS = 2  # a concept or item needs this many graded answers before it is judged


def _since(days: int) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def questions_per_day(engine: Engine, days: int = DAYS) -> dict:
    """Learners' questions per day, and how their answers ended (ok / refused / failed)."""
    with Session(engine) as session:
        rows = session.exec(select(Message.created_at, Message.role, Message.status)
                            .where(Message.created_at >= _since(days))).all()
    today = datetime.now(timezone.utc).date()
    per_day = {(today - timedelta(days=i)).isoformat(): {"questions": 0, "ok": 0, "refused": 0, "failed": 0}
               for i in range(days - 1, -1, -1)}
    for created, role, status in rows:
        bucket = per_day.get(_day(created))
        if bucket is None:
            continue
        if role == "user":
            bucket["questions"] += 1
        elif status in ("ok", "refused", "failed"):
            bucket[status] += 1
    return {"days": days, "per_day": [{"day": d, **v} for d, v in per_day.items()],
            "total": sum(v["questions"] for v in per_day.values())}


def refusal_rate(engine: Engine, days: int = DAYS) -> dict:
    """The share of finished answers that were refusals (the material had too little support)."""
    with Session(engine) as session:
        statuses = session.exec(select(Message.status).where(
            Message.role == "assistant", Message.created_at >= _since(days))).all()
    counts = Counter(statuses)
    answered = counts["ok"] + counts["refused"]
    return {"days": days, "ok": counts["ok"], "refused": counts["refused"], "failed": counts["failed"],
            "rate": round(counts["refused"] / answered, 4) if answered else None}


def refused_questions(engine: Engine, days: int = DAYS, limit: int = LIMIT) -> list[dict]:
    """The questions the tutor refused, newest first: the standalone question when the
    follow-up was condensed, else what the learner typed."""
    with Session(engine) as session:
        replies = session.exec(select(Message).where(
            Message.role == "assistant", Message.status == "refused",
            Message.created_at >= _since(days))
            .order_by(Message.created_at.desc()).limit(limit)).all()
        out = []
        for reply in replies:
            text = reply.question or _asked_before(session, reply)
            if text:
                out.append({"message_id": reply.id, "question": text, "at": reply.created_at.isoformat()})
    return out


def _asked_before(session: Session, reply: Message) -> str | None:
    asked = session.exec(select(Message.content).where(
        Message.conversation_id == reply.conversation_id, Message.role == "user",
        Message.created_at <= reply.created_at).order_by(Message.created_at.desc()).limit(1)).first()
    return asked


def rated_down(engine: Engine, limit: int = 100) -> list[dict]:
    """Answers learners rated down, newest first, with the question and the cited sources."""
    with Session(engine) as session:
        rows = session.exec(select(Feedback, Message).join(Message, Message.id == Feedback.message_id)
                            .where(Feedback.rating < 0).order_by(Feedback.created_at.desc()).limit(limit)).all()
        return [{"message_id": m.id, "question": m.question or _asked_before(session, m) or "",
                 "answer": m.content, "status": m.status, "support": m.support, "comment": f.comment,
                 "sources": [{"title": c.get("title", ""), "source": c.get("source", ""), "stage": c.get("stage")}
                             for c in json.loads(m.citations or "[]")],
                 "at": f.created_at.isoformat()} for f, m in rows]


def held_back(engine: Engine, limit: int = 100) -> list[dict]:
    """Answers with sentences cut as unsupported by their sources, newest first."""
    with Session(engine) as session:
        rows = session.exec(select(Message).where(Message.role == "assistant", Message.held_back.is_not(None),
                                                  Message.held_back != "[]")
                            .order_by(Message.created_at.desc()).limit(limit)).all()
        return [{"message_id": m.id, "question": m.question or _asked_before(session, m) or "",
                 "sentences": json.loads(m.held_back), "answer": m.content, "at": m.created_at.isoformat()}
                for m in rows]


def _attempts(engine: Engine) -> list[tuple[QuizAttempt, QuizItem]]:
    with Session(engine) as session:
        return list(session.exec(select(QuizAttempt, QuizItem)
                                 .join(QuizItem, QuizItem.id == QuizAttempt.item_id)).all())


def weak_concepts(engine: Engine, roadmap: Roadmap, limit: int = 15) -> list[dict]:
    """Concepts learners get wrong most often in quizzes, across learners (graded answers
    with a learner only; at least MIN_ATTEMPTS per concept), weakest first."""
    per = defaultdict(lambda: {"attempts": 0, "correct": 0, "learners": set()})
    for attempt, item in _attempts(engine):
        if not attempt.learner_id or not item.concept_id:
            continue
        row = per[item.concept_id]
        row["attempts"] += 1
        row["correct"] += int(attempt.correct)
        row["learners"].add(attempt.learner_id)
    out = []
    for cid, row in per.items():
        if row["attempts"] < MIN_ATTEMPTS:
            continue
        concept = roadmap.concept_by_id.get(cid)
        out.append({"concept": cid, "name": concept.name if concept else cid,
                    "stage": concept.stage if concept else None, "attempts": row["attempts"],
                    "learners": len(row["learners"]), "accuracy": round(row["correct"] / row["attempts"], 4)})
    out.sort(key=lambda r: (r["accuracy"], -r["attempts"], r["concept"]))
    return out[:limit]


def quiz_items(engine: Engine, limit: int = 15) -> dict:
    """Bank items most learners miss (under half of their learners right) and items every
    learner passes, judged on each learner's first graded answer to the item."""
    first: dict[tuple[str, str], QuizAttempt] = {}
    items: dict[str, QuizItem] = {}
    for attempt, item in sorted(_attempts(engine), key=lambda p: p[0].created_at):
        if attempt.learner_id:
            first.setdefault((item.id, attempt.learner_id), attempt)
            items[item.id] = item
    per = defaultdict(lambda: [0, 0])  # item id -> [learners, right]
    for (item_id, _), attempt in first.items():
        per[item_id][0] += 1
        per[item_id][1] += int(attempt.correct)
    rows = [{"item_id": i, "question": items[i].question, "stage": items[i].stage,
             "concept": items[i].concept_id, "kind": items[i].kind, "learners": n,
             "passed": right, "pass_rate": round(right / n, 4)}
            for i, (n, right) in per.items() if n >= MIN_ATTEMPTS]
    missed = sorted((r for r in rows if r["pass_rate"] < 0.5), key=lambda r: (r["pass_rate"], -r["learners"]))
    passed = sorted((r for r in rows if r["passed"] == r["learners"]), key=lambda r: -r["learners"])
    return {"min_learners": MIN_ATTEMPTS, "most_missed": missed[:limit], "all_pass": passed[:limit]}
