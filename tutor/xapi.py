"""Learning records as xAPI statements (Experience API 1.0.3), for a school's LMS or
learning record store: GET /admin/api/xapi and `tutor export xapi`.

Statements are derived from the service database on every export, never stored, so
erasing a learner (DELETE /api/learners/{id}) erases their statements too. Each
statement's id is a UUID5 of what it records, so exporting twice yields the same ids and
a record store that receives both keeps one copy (xAPI statements are idempotent by id).

  quiz attempt  -> actor answered <quiz item>    result.success, result.response
                   (context: the quiz as parent, the item's concept as category)
  mastery row   -> actor mastered|progressed <concept>   result.score.scaled = p_known
  finished stage -> actor completed <stage>     when every concept of it is mastered

The actor is an xAPI account: {homePage: the tutor's address, name: the learner id}. No
name or e-mail leaves the tutor. Anonymous quiz attempts (no learner) are not exported.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor.mastery import MASTERED
from tutor.models import Learner, Mastery, Quiz, QuizAttempt, QuizItem
from tutor.next_step import progress
from tutor.roadmap import Roadmap

VERSION = "1.0.3"
NAMESPACE = uuid.UUID("6f1c2a52-5d1e-4c3b-9a51-3f6d2b7e8c40")  # ours: statement ids are uuid5 in it
ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {name: {"id": ADL + name, "display": {"en-US": name}}
         for name in ("answered", "mastered", "progressed", "completed")}
INTERACTION = {"mcq": "choice", "tf": "true-false", "short": "fill-in"}


def _when(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _statement_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


class Records:
    """Builds the statements of one tutor (its address names the actors and activities)."""

    def __init__(self, roadmap: Roadmap, home_page: str):
        self.roadmap = roadmap
        self.home = home_page.rstrip("/")

    def actor(self, learner_id: str) -> dict:
        return {"objectType": "Agent", "account": {"homePage": self.home, "name": learner_id}}

    def activity(self, kind: str, ident: str, name: str, activity_type: str, **definition) -> dict:
        return {"objectType": "Activity", "id": f"{self.home}/xapi/activities/{kind}/{ident}",
                "definition": {"name": {"en-US": name}, "type": activity_type, **definition}}

    def concept(self, concept_id: str) -> dict:
        concept = self.roadmap.concept_by_id.get(concept_id)
        return self.activity("concepts", concept_id, concept.name if concept else concept_id,
                             "http://adlnet.gov/expapi/activities/objective")

    def answered(self, attempt: QuizAttempt, item: QuizItem, learner_id: str) -> dict:
        definition = {"interactionType": INTERACTION.get(item.kind, "other"),
                      "description": {"en-US": f"Stage {item.stage} practice question"}}
        if item.kind == "mcq":
            definition["choices"] = [{"id": str(i), "description": {"en-US": o}}
                                     for i, o in enumerate(json.loads(item.options))]
        context = {"contextActivities": {"parent": [self.activity(
            "quizzes", attempt.quiz_id, "Practice quiz", "http://adlnet.gov/expapi/activities/assessment")]},
            "platform": "Roadmap Tutor", "language": "en"}
        if item.concept_id:
            context["contextActivities"]["category"] = [self.concept(item.concept_id)]
        return {"id": _statement_id("answered", attempt.id), "version": VERSION, "actor": self.actor(learner_id),
                "verb": VERBS["answered"],
                "object": self.activity("quiz-items", item.id, item.question,
                                        "http://adlnet.gov/expapi/activities/cmi.interaction", **definition),
                "result": {"success": bool(attempt.correct), "response": _response(attempt.given),
                           "score": {"scaled": 1.0 if attempt.correct else 0.0, "raw": int(attempt.correct),
                                     "min": 0, "max": 1}},
                "context": context, "timestamp": _when(attempt.created_at)}

    def progressed(self, row: Mastery) -> dict:
        mastered = row.p_known >= MASTERED
        verb = "mastered" if mastered else "progressed"
        return {"id": _statement_id(verb, row.learner_id, row.concept_id, _when(row.updated_at)),
                "version": VERSION, "actor": self.actor(row.learner_id), "verb": VERBS[verb],
                "object": self.concept(row.concept_id),
                "result": {"score": {"scaled": round(row.p_known, 4)}, "completion": mastered,
                           "extensions": {f"{self.home}/xapi/extensions/attempts": row.attempts,
                                          f"{self.home}/xapi/extensions/correct": row.correct}},
                "context": {"platform": "Roadmap Tutor", "language": "en"}, "timestamp": _when(row.updated_at)}

    def completed(self, learner_id: str, stage_id: int, at: datetime) -> dict:
        stage = self.roadmap.stage_by_id[stage_id]
        return {"id": _statement_id("completed", learner_id, str(stage_id)), "version": VERSION,
                "actor": self.actor(learner_id), "verb": VERBS["completed"],
                "object": self.activity("stages", str(stage_id), f"Stage {stage_id}: {stage.title}",
                                        "http://adlnet.gov/expapi/activities/module",
                                        description={"en-US": stage.milestone}),
                "result": {"completion": True, "success": True},
                "context": {"platform": "Roadmap Tutor", "language": "en"}, "timestamp": _when(at)}


def _response(given: str) -> str:
    value = json.loads(given)
    return str(value).lower() if isinstance(value, bool) else str(value)


def statements(engine: Engine, roadmap: Roadmap, home_page: str, learner_id: str | None = None) -> list[dict]:
    """Every statement (of one learner when `learner_id` is given), oldest first."""
    records = Records(roadmap, home_page)
    out = []
    with Session(engine) as session:
        query = (select(QuizAttempt, QuizItem, Quiz.learner_id)
                 .join(QuizItem, QuizItem.id == QuizAttempt.item_id).join(Quiz, Quiz.id == QuizAttempt.quiz_id))
        for attempt, item, quiz_learner in session.exec(query).all():
            who = attempt.learner_id or quiz_learner
            if who and (learner_id is None or who == learner_id):
                out.append(records.answered(attempt, item, who))
        rows = session.exec(select(Mastery).where(Mastery.learner_id == learner_id) if learner_id
                            else select(Mastery)).all()
        known = {lid: set(json.loads(k)) for lid, k in session.exec(select(Learner.id, Learner.known_concepts))}
    by_learner: dict[str, list[Mastery]] = {}
    for row in rows:
        out.append(records.progressed(row))
        by_learner.setdefault(row.learner_id, []).append(row)
    for who, mine in by_learner.items():
        stages = progress(roadmap, {r.concept_id: (r.p_known, r.attempts) for r in mine}, known.get(who, set()))
        last = max(r.updated_at for r in mine)
        out += [records.completed(who, s["stage"], last) for s in stages if s["milestone_status"] == "ready"]
    return sorted(out, key=lambda s: (s["timestamp"], s["id"]))
