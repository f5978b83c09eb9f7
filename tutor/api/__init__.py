"""The HTTP service: `create_app(settings)` builds it; routes live in one module per area.

Start-up opens the database and the index synchronously (a missing index fails at once
with "run `tutor ingest`"), then loads the embedder and the model on a thread (both from
the app's Runtime, tutor/runtime.py), so /healthz answers at once and /readyz turns 200
when the tutor can answer. A model server that is down at start-up does not stop it: the
backend starts with its circuit breaker open (tutor/llm/__init__.py), questions get
retrieval-only answers (tutor/fallback.py), and the server is tried again after the cool-down.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from tutor import __version__
from tutor.answer import Tutor
from tutor.api import bridge, chat, health, learners, link, openai_routes, quizzes, web
from tutor.api import admin
from tutor.api import roadmap as roadmap_api  # `roadmap` names the loaded Roadmap below
from tutor.api.deps import AppState
from tutor.api.limits import Admission, GenerationQueue
from tutor.api.follow import IndexFollower
from tutor.api.reindex import Reindexer
from tutor.api.security import SecurityHeaders, parse_networks
from tutor.config import Settings
from tutor.db import make_engine
from tutor.cors import cors_options
from tutor.errors import BackendUnavailable, ConfigError, TutorError
from tutor.privacy import RetentionLoop
from tutor.ratelimit import RateLimiter
from tutor.roadmap import load_roadmap
from tutor.runtime import Runtime

log = logging.getLogger(__name__)


def _load_tutor(state: AppState) -> None:
    try:
        tutor = state.runtime.tutor
        try:
            tutor.warm_up()
        except BackendUnavailable as exc:  # a model server that is down: retrieval-only answers until it is back
            log.warning("warm-up skipped: %s", exc)
        state.tutor = tutor
    except TutorError as exc:
        state.load_error = str(exc)
    except Exception as exc:  # keep serving /healthz and say why answers are unavailable
        state.load_error = f"the tutor could not start: {type(exc).__name__}: {exc}"
    finally:
        state.ready.set()


def create_app(settings: Settings, *, tutor: Tutor | None = None, engine=None) -> FastAPI:
    """Build the app. Tests pass a ready `tutor` (for example with a scripted LLM)."""
    cors = cors_options(settings)  # a wildcard with credentials stops start-up here
    try:
        proxies = parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    runtime = Runtime(settings, tutor=tutor)
    index = runtime.index  # a missing index fails here, before the model loads on its thread
    roadmap = load_roadmap(settings.corpus_dir / "roadmap.yaml")
    state = AppState(settings, engine or make_engine(settings.database_url), index, roadmap, runtime, tutor)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if state.tutor is None:
            threading.Thread(target=_load_tutor, args=(state,), name="load-tutor", daemon=True).start()
        else:
            state.ready.set()
        # TUTOR_RETENTION_DAYS: old conversations are purged now and then periodically
        app.state.retention = (RetentionLoop(state.engine, settings.retention_days,
                                             settings.retention_check_seconds).start()
                               if settings.retention_days else None)
        yield
        if app.state.retention:
            app.state.retention.stop()

    app = FastAPI(title="Roadmap Tutor", version=__version__, lifespan=lifespan,
                  description="Answers about a learning roadmap, with citations. "
                              "Streaming chat, an OpenAI-compatible endpoint, and an embeddable widget.")
    app.state.tutor_state = state
    app.state.reindexer = Reindexer()  # POST /admin/api/reindex (tutor/api/reindex.py)
    app.state.index_follower = IndexFollower(settings.index_poll_seconds)  # versions written elsewhere
    # Innermost first: admission (size, rate, queue: tutor/api/limits.py) runs before any
    # route; CORS wraps it so a 413/429/503 still reaches the widget's script on another site.
    app.state.generation_queue = GenerationQueue(settings.generation_slots, settings.generation_queue)
    app.add_middleware(Admission, settings=settings, limiter=RateLimiter(state.engine, settings.rate_limit_window_seconds),
                       queue=app.state.generation_queue, proxies=proxies)
    app.add_middleware(CORSMiddleware, **cors)  # the origins of the sites that embed the widget
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(TutorError)
    async def tutor_error(request: Request, exc: TutorError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError):
        problems = ["malformed JSON in the request body" if e["type"] == "json_invalid" else
                    f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
                    for e in exc.errors()]
        return JSONResponse({"detail": "; ".join(problems), "errors": jsonable(exc.errors())},
                            status_code=422)

    for module in (health, chat, openai_routes, learners, quizzes, web, link, bridge):
        app.include_router(module.router)
    app.include_router(roadmap_api.router)  # GET /api/roadmap, read-only
    app.include_router(admin.router)  # /admin: 404 unless TUTOR_ADMIN_KEY is set
    return app


def jsonable(errors: list) -> list:
    return [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
