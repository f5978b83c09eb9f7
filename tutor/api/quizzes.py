"""Practice quizzes: served from the bank at once (topped up in the background), graded
on the server only, and spaced review of what was answered."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from tutor.api.deps import AppState, State
from tutor.learners import get_learner
from tutor.errors import InvalidInput
from tutor.quiz.bank import BankEmpty, Refiller, check_concept, check_stage, public_item, serve_quiz, shortfall
from tutor.quiz.grade import Given, due_reviews, grade_quiz

router = APIRouter(tags=["quizzes"])
MAX_ITEMS = 20


class QuizRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: int | None = Field(None, description="roadmap stage the questions come from (give it, a concept, or both)")
    concept: str | None = Field(None, min_length=1, max_length=80,
                                description="a concept id from GET /api/roadmap (e.g. 'linear-algebra'): only "
                                            "questions on that concept; its stage is the quiz's stage")
    count: int = Field(5, ge=1, le=MAX_ITEMS, description="number of questions")
    learner_id: str | None = Field(None, min_length=1, max_length=128, description="record the quiz for this learner")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str
    choice: int | None = Field(None, description="multiple choice: the option index, from 0")
    answer: bool | str | None = Field(None, description="true/false: a boolean; short answer: text")


class AnswersRequest(BaseModel):
    """Only the learner's answers: the server grades (a client-sent score is rejected)."""

    model_config = ConfigDict(extra="forbid")
    learner_id: str | None = Field(None, min_length=1, max_length=128)
    answers: list[AnswerIn] = Field(min_length=1, max_length=MAX_ITEMS)


def refiller(request: Request, state: AppState) -> Refiller:
    app_state = request.app.state
    if getattr(app_state, "quiz_refiller", None) is None:
        app_state.quiz_refiller = Refiller(state.engine)
    return app_state.quiz_refiller


@router.post("/api/quizzes", status_code=201,
             summary="A quiz for one stage or one concept, served from the bank (no keys)")
def create_quiz(body: QuizRequest, request: Request, state: State) -> dict:
    """Give `stage`, or `concept` (a concept id: only items whose concept is that one), or
    both (422 if the stage does not hold the concept; 422 naming an unknown concept id).
    `requested` is the count asked for and `available` how many items the quiz holds;
    when the bank holds fewer, `message` says so, naming the stage or concept (otherwise
    null), and a background top-up starts (for a concept: from the stage's sources about it)."""
    if body.stage is None and body.concept is None:
        raise InvalidInput("give a stage (1-4) or a concept id, e.g. {\"concept\": \"linear-algebra\"}")
    concept = check_concept(state.roadmap, body.concept, body.stage) if body.concept is not None else None
    stage = concept.stage if concept is not None else body.stage
    check_stage(sorted(state.roadmap.stage_by_id), stage)
    if body.learner_id:
        with Session(state.engine) as session:
            get_learner(session, body.learner_id)
    topper = refiller(request, state)
    try:
        quiz, items = serve_quiz(state.engine, stage, body.count, body.learner_id, concept=concept)
    except BankEmpty as exc:
        if state.tutor is not None and topper.maybe_top_up(state.tutor, stage, wanted=body.count, concept=body.concept):
            exc.args = (f"{exc.args[0]} (a background top-up has started; retry in a minute)",)
        raise
    if state.tutor is not None:
        topper.maybe_top_up(state.tutor, stage, wanted=body.count, concept=body.concept)
    return {"quiz_id": quiz.id, "stage": quiz.stage, "concept": body.concept, "learner_id": quiz.learner_id,
            "items": [public_item(i) for i in items],
            "requested": body.count, "available": len(items),
            "message": shortfall(stage, body.count, len(items), writing=topper.running(stage, body.concept),
                                concept=concept)}


@router.post("/api/quizzes/{quiz_id}/answers", summary="Grade answers on the server: keys, explanations, citations")
def answer_quiz(quiz_id: str, body: AnswersRequest, state: State) -> dict:
    answers = [Given(a.item_id, a.choice, a.answer) for a in body.answers]
    return grade_quiz(state.engine, quiz_id, answers, body.learner_id, redact=state.settings.redact)


@router.get("/api/learners/{learner_id}/reviews", summary="Quiz items due for spaced review (no keys)")
def reviews(learner_id: str, state: State,
            until: datetime | None = Query(None, description="due by this time (default: now)")) -> dict:
    return {"learner_id": learner_id, "due": due_reviews(state.engine, learner_id, until)}


def quiz_mode(tutor, state: AppState, body):
    """/api/chat with a quiz_item_id: open (or continue) the conversation here, so the hint
    level can be counted in it, and answer with hints instead of the answer flow.
    Returns (the body with its conversation_id, the `respond` event source for run_turn)."""
    from tutor import conversations
    from tutor.quiz.hints import hint_events, load_item

    load_item(state.engine, body.quiz_item_id)  # 404 before anything is stored
    if body.learner_id:
        with Session(state.engine) as session:
            get_learner(session, body.learner_id)
    conversation_id = conversations.open_conversation(state.engine, body.conversation_id, body.learner_id)
    body = body.model_copy(update={"conversation_id": conversation_id})

    def respond(cancel):
        return hint_events(tutor, state.engine, body.quiz_item_id, conversation_id, body.message,
                           body.learner_id, state.roadmap)

    return body, respond
