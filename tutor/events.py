"""The event protocol every reply speaks, whatever made it (an answer, "what next", a quiz
hint), and every interface reads (CLI, SSE, /v1, the Discord bridge):

    ("meta", dict)        first: the question understood, refused or not, the backend, ...
    ("token", str)        the draft as it streams (a canned reply is one token)
    ("citations", list)   the sources the final answer cites, as Citation dicts
    ("done", Answer)      last: the checked answer, which replaces the draft
    ("error", dict)       added by the HTTP layer when a reply fails midway
"""

from __future__ import annotations

from collections.abc import Iterator

from tutor.types import Answer

Event = tuple[str, object]


def closing_events(answer: Answer) -> Iterator[Event]:
    """The two events every reply ends with."""
    yield "citations", [c.__dict__ for c in answer.citations]
    yield "done", answer
