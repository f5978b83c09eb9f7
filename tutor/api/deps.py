"""Application state and FastAPI dependencies, declared once as Annotated aliases."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from tutor.answer import Tutor
from tutor.config import Settings
from tutor.errors import BackendUnavailable
from tutor.index import LoadedIndex
from tutor.roadmap import Roadmap
from tutor.runtime import Runtime


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    index: LoadedIndex
    roadmap: Roadmap
    runtime: Runtime  # builds the tutor (embedder, model) on the start-up thread
    tutor: Tutor | None = None  # set once the embedder and the model are loaded
    load_error: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)


def get_state(request: Request) -> AppState:
    return request.app.state.tutor_state


def get_tutor(request: Request) -> Tutor:
    state = get_state(request)
    request.app.state.index_follower.poke(state)  # a newer version written elsewhere (tutor/api/follow.py)
    if state.tutor is None:
        raise BackendUnavailable(state.load_error or "the tutor is still loading its model; retry in a few seconds")
    return state.tutor


State = Annotated[AppState, Depends(get_state)]
TutorDep = Annotated[Tutor, Depends(get_tutor)]
