"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tutor.api.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
def healthz(state: State) -> dict:
    return {"status": "ok", "index_version": state.index.version, "backend": state.tutor.llm.name if state.tutor else state.settings.llm_backend}


@router.get("/readyz", summary="Readiness: index and model loaded")
def readyz(state: State):
    body = {"ready": state.tutor is not None, "index": True, "model": state.tutor is not None,
            "index_version": state.index.version, "chunks": len(state.index.chunks)}
    if state.load_error:
        body["error"] = state.load_error
    return JSONResponse(body, status_code=200 if state.tutor is not None else 503)
