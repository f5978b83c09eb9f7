"""The operator dashboard (/admin, server-rendered) and its JSON twins (/admin/api/...),
plus the xAPI export of learning records.

Everything here sits behind `Authorization: Bearer $TUTOR_ADMIN_KEY`, compared in
constant time. With no key set the whole surface answers 404, as if it did not exist:
an operator turns it on deliberately. The page carries no script, and its only inline
style is allowed by hash in its Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tutor import xapi
from tutor.admin import plots, stats, topics
from tutor.api.deps import AppState, State
from tutor.errors import BackendUnavailable

TEMPLATES = Path(__file__).resolve().parent.parent / "admin" / "templates"
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def require_admin(request: Request) -> None:
    key = request.app.state.tutor_state.settings.admin_key
    if not key:
        raise HTTPException(404, "Not Found")  # the admin surface is off
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise HTTPException(401, "admin key missing or wrong: send Authorization: Bearer $TUTOR_ADMIN_KEY",
                            headers={"WWW-Authenticate": 'Bearer realm="admin"'})


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])
Days = Annotated[int, Query(ge=1, le=365, description="window in days")]


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def _unanswered(state: AppState, days: int) -> list[dict]:
    if state.tutor is None:  # the embedder loads with the model
        raise BackendUnavailable(state.load_error or "the embedder is still loading; retry in a few seconds")
    return topics.topics(stats.refused_questions(state.engine, days), state.tutor.embedder)


@router.get("/api/questions", summary="Questions per day and how their answers ended")
def questions(state: State, days: Days = stats.DAYS) -> dict:
    return stats.questions_per_day(state.engine, days)


@router.get("/api/refusals", summary="Refusal rate: refused / (answered + refused)")
def refusals(state: State, days: Days = stats.DAYS) -> dict:
    return stats.refusal_rate(state.engine, days)


@router.get("/api/unanswered", summary="Questions the material could not answer, grouped by topic")
def unanswered(state: State, days: Days = stats.DAYS) -> dict:
    return {"days": days, "similarity": topics.SIMILAR, "topics": _unanswered(state, days)}


@router.get("/api/rated-down", summary="Answers rated down, with their sources")
def rated_down(state: State) -> dict:
    return {"answers": stats.rated_down(state.engine)}


@router.get("/api/held-back", summary="Sentences cut from answers as unsupported by their sources")
def held_back(state: State) -> dict:
    return {"answers": stats.held_back(state.engine)}


@router.get("/api/weak-concepts", summary="Concepts learners miss most in quizzes, across learners")
def weak_concepts(state: State) -> dict:
    return {"min_attempts": stats.MIN_ATTEMPTS, "concepts": stats.weak_concepts(state.engine, state.roadmap)}


@router.get("/api/quiz-items", summary="Quiz items most learners miss, and items every learner passes")
def quiz_items(state: State) -> dict:
    return stats.quiz_items(state.engine)


@router.get("/api/xapi", summary="Quiz attempts and progress as xAPI 1.0.3 statements (a StatementResult)")
def xapi_export(request: Request, state: State,
                learner_id: str | None = Query(None, description="only this learner's statements")) -> dict:
    home = str(request.base_url).rstrip("/")
    return {"statements": xapi.statements(state.engine, state.roadmap, home, learner_id), "more": ""}


@router.post("/api/reindex", status_code=202,
             summary="Rebuild the index as `tutor ingest` does; new requests are answered from the new version")
def reindex(request: Request, state: State) -> dict:
    if state.tutor is None:  # the new Tutor is built from the loaded one's embedder and model
        raise BackendUnavailable(state.load_error or "the tutor is still loading its model; retry in a few seconds")
    if not request.app.state.reindexer.start(state):
        raise HTTPException(409, "a re-index is already running: GET /admin/api/reindex shows its progress")
    return request.app.state.reindexer.job.json()


@router.get("/api/reindex", summary="The last re-index: state, the version served, counts, error")
def reindex_status(request: Request) -> dict:
    return request.app.state.reindexer.job.json()


@router.get("", response_class=HTMLResponse, summary="The operator dashboard (HTML)")
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard(state: State, days: Days = stats.DAYS) -> HTMLResponse:
    per_day = stats.questions_per_day(state.engine, days)
    try:
        unanswered, unanswered_error = _unanswered(state, days), None
    except BackendUnavailable as exc:
        unanswered, unanswered_error = [], str(exc)
    weak = stats.weak_concepts(state.engine, state.roadmap)
    items = stats.quiz_items(state.engine)
    env = _templates()
    style = env.get_template("admin.css").render()
    html = env.get_template("dashboard.html.j2").render(
        days=days, style=style, per_day=per_day, refusals=stats.refusal_rate(state.engine, days),
        questions_plot=plots.daily_columns(per_day["per_day"]),
        unanswered=unanswered, unanswered_error=unanswered_error,
        topics_plot=plots.horizontal_bars(unanswered[:12], "label", "size", "Refused questions per topic"),
        rated_down=stats.rated_down(state.engine), held_back=stats.held_back(state.engine),
        weak=weak, weak_plot=plots.horizontal_bars(weak, "name", "accuracy", "Quiz accuracy per concept, "
                                                   "weakest first", percent=True, width=420, name_width=150),
        items=items, min_attempts=stats.MIN_ATTEMPTS)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'")
    return HTMLResponse(html, headers={**PAGE_HEADERS, "Content-Security-Policy": csp})
