"""One chat turn with persistence: the service function behind /api/chat and
/v1/chat/completions. It wraps `Tutor.events` and records the outcome, so every interface
gets the same guarantees: the learner's message is stored before the model runs, and the
reply ends as ok, refused or failed (with whatever text was produced)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sqlalchemy.engine import Engine

from tutor import conversations
from tutor.answer import Turn, Tutor
from tutor.errors import TutorError
from tutor.events import Event
from tutor.fallback import answer_events
from tutor.guard import guarded
from tutor.llm.base import Cancel


def run_turn(tutor: Tutor, engine: Engine, message: str, *, conversation_id: str | None = None,
             learner_id: str | None = None, stage: int | None = None,
             history: Sequence[Turn] | None = None, cancel: Cancel | None = None,
             respond: Callable[[Cancel | None], Iterator[Event]] | None = None,
             ) -> Iterator[Event]:
    """Yield the events of tutor/events.py, "error" included.

    `history` overrides the stored conversation (the OpenAI endpoint sends its own);
    `respond` replaces the answer flow with another event source of the same shape (the
    "what should I learn next" explanation)."""
    message = tutor.validate(message)  # reject before anything is stored
    conversation_id = conversations.open_conversation(engine, conversation_id, learner_id)
    turns = conversations.history(engine, conversation_id) if history is None else list(history)
    redact = tutor.settings.redact  # what is stored; the answer below reads the original
    reply_id = conversations.start_turn(engine, conversation_id, message, redact=redact)
    partial: list[str] = []
    finished = False
    try:
        source = respond(cancel) if respond else answer_events(tutor, message, turns, stage=stage, cancel=cancel)
        for kind, payload in guarded(tutor, source):  # what clients and the database see
            if kind == "meta":
                payload = {**payload, "conversation_id": conversation_id, "message_id": reply_id}
            elif kind == "token":
                partial.append(payload)
            elif kind == "done":
                if cancel and cancel():
                    break
                conversations.finish_turn(engine, reply_id, payload, redact=redact)
                finished = True
            yield kind, payload
    except TutorError as exc:
        conversations.fail_turn(engine, reply_id, "".join(partial), str(exc), redact=redact)
        finished = True
        yield "error", {"message": str(exc), "status": exc.http_status, "message_id": reply_id}
    except Exception as exc:  # a bug or a backend crash: keep the turn, report it plainly
        conversations.fail_turn(engine, reply_id, "".join(partial), f"{type(exc).__name__}: {exc}",
                                redact=redact)
        finished = True
        yield "error", {"message": "the tutor failed while answering; the message was kept",
                        "status": 500, "message_id": reply_id}
    finally:
        if not finished:  # the client went away (generator closed or cancelled)
            conversations.fail_turn(engine, reply_id, "".join(partial), "client disconnected", redact=redact)


def error_from_event(payload: dict) -> TutorError:
    """The exception an "error" event stands for, with its HTTP status (non-streaming routes)."""
    error = TutorError(payload["message"])
    error.http_status = payload.get("status", 500)
    return error
