"""A scripted LLM for orchestration tests and web-tier benchmarks (never the only test
of a feature). Given a script it replays it; without one it answers extractively: the
first sentence of the first numbered source in the prompt, cited as [1]. It is fast and
deterministic, which is exactly what a load test of the web tier needs."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator

from tutor.llm.base import LLM, Cancel, Messages

Script = list[str] | Callable[[Messages], str]
_SOURCE = re.compile(r"^\[1\] [^\n]*\n(.+)$", re.M)  # "[1] heading" then the source's text


def extractive_reply(messages: Messages) -> str:
    prompt = messages[-1]["content"]
    if follow_up := re.search(r"^Follow-up: (.+)$", prompt, re.M):  # the condense task
        asked = re.findall(r"^user: (.+)$", prompt, re.M)
        return f"{asked[-1] if asked else ''} {follow_up.group(1)}".strip()
    match = _SOURCE.search(prompt)
    if not match:
        return "The roadmap material does not cover this."
    first = re.split(r"(?<=[.!?])\s", match.group(1).strip())[0]
    body, stop = re.match(r"(.*?)([.!?]?)$", first, re.S).groups()
    return f"{body} [1]{stop or '.'}"  # cited the way the answer prompt asks


class FakeLLM(LLM):
    name = "fake"

    def __init__(self, script: Script | None = None, *, delay: float = 0.0):
        self.script = script
        self.delay = delay  # seconds per piece, to exercise cancellation
        self.calls: list[Messages] = []
        self.pieces_sent = 0

    def _reply(self, messages: Messages) -> str:
        self.calls.append(messages)
        if self.script is None:
            return extractive_reply(messages)
        if callable(self.script):
            return self.script(messages)
        return self.script.pop(0) if self.script else ""

    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        for piece in re.findall(r"\S+\s*", self._reply(messages))[:max_tokens]:
            if cancel and cancel():
                return
            if self.delay:
                time.sleep(self.delay)
            self.pieces_sent += 1
            yield piece

    def json(self, messages: Messages, schema: dict, **opts) -> dict:
        return json.loads(self._reply(messages))
