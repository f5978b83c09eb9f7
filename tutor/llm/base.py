"""The LLM seam: every backend streams text for a list of chat messages.

    stream(messages, ...)  -> iterator of text pieces   (the one method a backend writes)
    complete(messages, ...) -> Completion                 (joins the stream)
    json(messages, schema)  -> dict                       (schema-constrained where supported)

Generation stops when the `cancel` callable returns True (a client went away), inside
the backend, so the model stops computing rather than only the socket closing.
"""

from __future__ import annotations

import json as jsonlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tutor.errors import MalformedReply

Messages = list[dict]
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class Completion:
    text: str
    backend: str


class LLM(ABC):
    name: str = "base"

    @abstractmethod
    def stream(self, messages: Messages, *, max_tokens: int = 256, temperature: float = 0.0,
               stop: list[str] | None = None, cancel: Cancel | None = None) -> Iterator[str]:
        """Yield the answer in pieces as the model produces them."""

    def complete(self, messages: Messages, **opts) -> Completion:
        return Completion("".join(self.stream(messages, **opts)), self.name)

    def json(self, messages: Messages, schema: dict, **opts) -> dict:
        """Structured output. Backends with grammar support override this; the fallback
        asks for JSON and parses the first object in the reply."""
        text = self.complete(messages, **opts).text
        return parse_json_object(text, self.name)

    def complete_many(self, conversations: list[Messages], **opts) -> list[Completion]:
        """One completion per conversation, in order. A plain loop here; a batching backend
        (vllm) overrides it with one batched call, which is where a GPU's throughput is."""
        return [self.complete(messages, **opts) for messages in conversations]

    def json_many(self, conversations: list[Messages], schema: dict, **opts) -> list[dict]:
        """`json` for each conversation, in order (batched where the backend can)."""
        return [self.json(messages, schema, **opts) for messages in conversations]

    def close(self) -> None:
        """Release the model (tests load several backends in one process)."""


def parse_json_object(text: str, backend: str) -> dict:
    match = re.search(r"\{.*\}", text, re.S)
    try:
        value = jsonlib.loads(match.group(0) if match else text)
    except ValueError:
        raise MalformedReply(f"{backend} returned text that is not JSON: {text[:120]!r}") from None
    if not isinstance(value, dict):
        raise MalformedReply(f"{backend} returned JSON that is not an object")
    return value
