"""Hardening costs and fault timings, measured in one process (`python -m eval.bench.faults`):

1. The LLM unreachable: seconds to a retrieval-only answer on /api/chat with the `openai`
   backend pointed at a closed port (the connection refused), then at a host that does not
   answer (a socket whose accept queue is full: SYNs are dropped, as for a machine that is
   down), default timeouts, retries (2, backoff 0.2 s then 0.4 s) and connect budget
   (1.2 s for all attempts of a request), for the first requests
   (breaker closed: each pays its retries) and once the breaker is open; beside the same
   question answered normally by the scripted backend (the baseline). Target: 2 s.
2. The output filter: seconds per reply to pass a 220-token answer through it, against
   the same events not filtered.
Needs an index (TUTOR_INDEX_DIR, default var/index); loads no LLM.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from eval.bench.common import free_port

os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUESTIONS = ["How long is stage 1?", "What is the milestone of stage 2?", "What is backpropagation?",
             "Which papers should I read in stage 4?", "What does stage 3 cover?"]


def _timed_chat(app, questions) -> list[float]:
    from fastapi.testclient import TestClient

    out = []
    with TestClient(app) as client:
        for q in questions:
            started = time.perf_counter()
            r = client.post("/api/chat", json={"message": q, "stream": False})
            out.append(time.perf_counter() - started)
            assert r.status_code == 200, r.text
    return out


@contextmanager
def _silent_port():
    """A port whose accept queue is full, so a connect to it hangs until its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname())
    try:
        yield listener.getsockname()[1]
    finally:
        filler.close()
        listener.close()


def unreachable() -> None:
    from tutor.answer import Tutor
    from tutor.api import create_app
    from tutor.config import load_settings
    from tutor.db import make_engine
    from tutor.embed import Embedder
    from tutor.index import load_index
    from tutor.llm import get_llm
    from tutor.llm.fake import FakeLLM

    base = load_settings(rate_limit_per_learner=0, rate_limit_per_address=0)
    index, embedder = load_index(base.index_dir), Embedder(base.embed_threads, settings=base)
    db = Path(tempfile.mkdtemp()) / "bench.db"
    normal = Tutor(base, index, embedder, FakeLLM())
    baseline = _timed_chat(create_app(base, tutor=normal, engine=make_engine(f"sqlite:///{db}")), QUESTIONS)
    print("LLM unreachable: seconds to the retrieval-only answer (target: 2 s)")
    print(f"  baseline, scripted backend answering: {' '.join(f'{t:.2f}' for t in baseline)} s")
    with _silent_port() as silent:
        for label, port in (("closed port", free_port()), ("host not answering", silent)):
            down = base.model_copy(update={"llm_backend": "openai", "openai_check_schema": False,
                                           "openai_base_url": f"http://127.0.0.1:{port}/v1"})
            tutor = Tutor(down, index, embedder, get_llm(down))
            seconds = _timed_chat(create_app(down, tutor=tutor, engine=make_engine(f"sqlite:///{db}")), QUESTIONS)
            n = down.llm_breaker_failures
            print(f"LLM unreachable, {label} ({down.openai_retries} retries, connect timeout "
                  f"{down.openai_connect_timeout} s within a budget of {down.openai_connect_budget} s a request, "
                  f"breaker opens after {n} failures):")
            print(f"  breaker closed (requests 1-{n}): {' '.join(f'{t:.2f}' for t in seconds[:n])} s")
            print(f"  breaker open (requests {n + 1}-{len(seconds)}):   {' '.join(f'{t:.2f}' for t in seconds[n:])} s")
            print(f"  worst {max(seconds):.2f} s ({'PASS' if max(seconds) < 2 else 'FAIL'} against 2 s), "
                  f"{max(seconds) / sorted(baseline)[len(baseline) // 2]:.1f}x the baseline median; breaker "
                  f"{tutor.llm.state}, {tutor.llm.fast_failures} calls refused without a connection")
            tutor.llm.close()


def filter_cost(replies: int = 200) -> None:
    from tutor.guard import OutputGuard, new_canary
    from tutor.prompts import Prompts
    from tutor.types import Answer

    canary = new_canary()
    guard = OutputGuard(canary, list(Prompts(Path("prompts"), canary).systems().values()))
    text = ("Stage 1 runs for eight weeks and covers linear algebra, calculus, probability and the "
            "classical machine-learning methods [1]. ") * 12
    pieces = [p + " " for p in text.split()][:220]
    answer = Answer(text, (), False, 1.0, "bench", "q", {})

    def events():
        yield "meta", {"question": "q"}
        yield from (("token", p) for p in pieces)
        yield "done", answer

    started = time.perf_counter()
    for _ in range(replies):
        list(events())
    plain = (time.perf_counter() - started) / replies
    started = time.perf_counter()
    for _ in range(replies):
        list(guard.filter(events()))
    filtered = (time.perf_counter() - started) / replies
    print(f"output filter: {filtered * 1000:.1f} ms per 220-token reply ({filtered / len(pieces) * 1e6:.0f} µs a "
          f"token) against {plain * 1000:.2f} ms unfiltered; blocked {guard.blocked} of {replies}")


if __name__ == "__main__":
    filter_cost()
    unreachable()
