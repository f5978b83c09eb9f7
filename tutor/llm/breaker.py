"""A circuit breaker around a backend that can go away (the `openai` backend: a vLLM or
llama.cpp server on another machine).

    closed     calls go through; FAILURES consecutive BackendUnavailable errors open it
    open       calls fail at once with BackendUnavailable, no connection tried, until
               COOLDOWN seconds have passed
    half-open  one call goes through as a trial: success closes the breaker, failure opens
               it for another cool-down; other calls meanwhile fail at once

`trip(reason)` opens it from outside: `get_llm` does so when the server cannot be reached at
start-up, so the service starts answering from retrieval and tries the server again after
the cool-down, instead of failing to start (or answering 503 until a restart).

A call counts as a success once its first piece arrives, or when its reply came back but
is not in the form asked for (MalformedReply: a quiz reply that is not JSON says the server
is up; three of them used to open the breaker for a cool-down). A trial that ends any other
way (another exception that is not BackendUnavailable: a bug of ours) judged nothing, so the next caller becomes the trial (otherwise the breaker would stay
half-open with its one trial taken and fail every call until a restart).

The tutor turns a fast failure into a retrieval-only answer (tutor/fallback.py), so while
the server stays down each learner gets the top sources at once instead of waiting out
connect timeouts and retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from tutor.errors import BackendUnavailable, MalformedReply
from tutor.llm.base import LLM, Completion, Messages

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker(LLM):
    def __init__(self, inner: LLM, *, failures: int = 3, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self.inner = inner
        self.name = inner.name
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self.state = CLOSED
        self.failed = 0  # consecutive failures while closed
        self.opened_at = 0.0
        self.fast_failures = 0  # calls refused without reaching the backend
        self._lock = threading.Lock()
        self._trial = False
        self._why = ""  # why it opened, for the fast failures' message

    def __getattr__(self, name):  # schema_enforced, check_schema, base_url ... of the backend
        return getattr(self.inner, name)

    # -- state ---------------------------------------------------------------------------------

    def _admit(self) -> bool:
        """Let a call through (True when it is the half-open trial) or fail it fast."""
        with self._lock:
            if self.state == OPEN and self.clock() - self.opened_at >= self.cooldown:
                self.state, self._trial = HALF_OPEN, False
            if self.state == CLOSED or (self.state == HALF_OPEN and not self._trial):
                self._trial = self.state == HALF_OPEN
                return self._trial
            self.fast_failures += 1
            left = max(self.cooldown - (self.clock() - self.opened_at), 0.0)
            why = self._why or f"the {self.name} backend failed {self.failures} times in a row"
        raise BackendUnavailable(f"{why}; not trying it again for {left:.0f} s (circuit breaker open)")

    def trip(self, reason: str) -> None:
        """Open now (the backend is known to be down), for one cool-down."""
        with self._lock:
            self.state, self.opened_at, self._trial, self._why = OPEN, self.clock(), False, reason

    def _succeeded(self) -> None:
        with self._lock:
            self.state, self.failed, self._trial, self._why = CLOSED, 0, False, ""

    def _failed(self) -> None:
        with self._lock:
            self.failed += 1
            if self.state == HALF_OPEN or self.failed >= self.failures:
                self.state, self.opened_at, self._trial = OPEN, self.clock(), False

    def _unjudged(self, trial: bool) -> None:
        """The trial ended neither way: the next caller may try."""
        if trial:
            with self._lock:
                if self.state == HALF_OPEN:
                    self._trial = False

    def _call(self, fn, *args, **kwargs):
        trial = self._admit()
        try:
            result = fn(*args, **kwargs)
        except BackendUnavailable:
            self._failed()
            raise
        except MalformedReply:
            self._succeeded()  # it answered
            raise
        except BaseException:
            self._unjudged(trial)
            raise
        self._succeeded()
        return result

    # -- the seam ------------------------------------------------------------------------------

    def stream(self, messages: Messages, **opts) -> Iterator[str]:
        trial = self._admit()
        judged = False
        try:
            for piece in self.inner.stream(messages, **opts):
                if not judged:
                    judged = True
                    self._succeeded()
                yield piece
            if not judged:
                judged = True
                self._succeeded()  # an empty reply still came back
        except BackendUnavailable:
            judged = True
            self._failed()
            raise
        finally:
            if not judged:
                self._unjudged(trial)

    def complete(self, messages: Messages, **opts) -> Completion:
        return self._call(self.inner.complete, messages, **opts)

    def json(self, messages: Messages, schema: dict, **opts) -> dict:
        return self._call(self.inner.json, messages, schema, **opts)

    def complete_many(self, conversations: list[Messages], **opts) -> list[Completion]:
        return self._call(self.inner.complete_many, conversations, **opts)

    def json_many(self, conversations: list[Messages], schema: dict, **opts) -> list[dict]:
        return self._call(self.inner.json_many, conversations, schema, **opts)

    def close(self) -> None:
        self.inner.close()
