"""Answers without the model: when the LLM backend cannot be reached before the first token
(a server down, or the circuit breaker open: tutor/llm/breaker.py), the learner still gets
the passages of the roadmap material that match the question best, with a notice and
citations, instead of an error. Retrieval, the support gate and sentence selection need no
model, so this costs one retrieval (tens of milliseconds).

A follow-up cannot be condensed without the model: it is retrieved together with the
learner's previous message. A question the gate would refuse is refused as usual."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from tutor.answer import last_user
from tutor.errors import BackendUnavailable
from tutor.events import Event, closing_events
from tutor.types import Answer

if TYPE_CHECKING:
    from tutor.answer import Turn, Tutor

NOTICE = ("The language model is not reachable right now, so this is not a written answer: here are the "
          "passages of the roadmap material that match your question best.")
log = logging.getLogger(__name__)


def answer_events(tutor: Tutor, message: str, history: Sequence[Turn] = (), *, stage: int | None = None,
                  cancel=None) -> Iterator[Event]:
    """`tutor.events(...)`, or the retrieval-only answer when the backend fails before the
    first token. A failure after text went out stays an error (the text cannot be taken back)."""
    meta_sent = token_sent = False
    try:
        for kind, payload in tutor.events(message, history, stage=stage, cancel=cancel):
            meta_sent |= kind == "meta"
            token_sent |= kind == "token"
            yield kind, payload
    except BackendUnavailable as exc:
        if token_sent:
            raise
        log.warning("LLM unreachable, answering from retrieval only: %s", exc)
        yield from retrieval_only(tutor, message, history, stage=stage, meta=not meta_sent)


def retrieval_only(tutor: Tutor, message: str, history: Sequence[Turn] = (), *, stage: int | None = None,
                   meta: bool = True) -> Iterator[Event]:
    started = time.perf_counter()
    before = last_user(history)
    prepared = tutor.prepare(f"{before} {message}".strip() if before else message, (), stage=stage)
    if meta:
        yield "meta", {"question": prepared.question, "refused": prepared.refused, "backend": tutor.llm.name,
                       "index_version": tutor.index.version, "degraded": "llm-unreachable"}
    timings = {**prepared.timings, "total": time.perf_counter() - started}
    if prepared.refused:
        answer = Answer.refusal(tutor.refusal_text(prepared.question), tutor.llm.name, prepared.question, timings)
    else:
        passages, citations = prepared.passages()
        text = f"{NOTICE}\n\n{passages}"
        # support 0: nothing was written, so nothing was checked; the passages are quoted
        answer = Answer(text, citations, False, 0.0, tutor.llm.name, prepared.question, timings,
                        sources=prepared.source_ids)
    yield "token", answer.answer
    yield from closing_events(answer)
