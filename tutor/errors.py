"""The project's errors. Every failure a user can cause or fix is one of these.

    TutorError                  base; its message says what to do next
    ├── ConfigError             bad setting or option (unknown backend, bad URL)
    ├── InvalidInput            a question or request the tutor cannot take (empty, too long)
    ├── NotFound                a conversation, learner, quiz... that does not exist
    ├── Conflict                the request contradicts stored state (a quiz graded twice)
    ├── IndexMissing            no index built yet: run `tutor ingest`
    ├── IndexCorrupt            the index exists but cannot be read: rebuild it
    ├── ModelNotFound           model weights are not where they should be
    ├── BackendUnavailable      an LLM backend cannot be loaded or reached
    ├── MalformedReply          the backend answered, but not in the form asked for (not JSON)
    └── IngestError             material that cannot be ingested

Third-party exceptions are translated into these where they enter (index loading, model
loading, HTTP to an OpenAI-compatible server), so the CLI and the API only handle ours.
"""


class TutorError(Exception):
    """Base class; str(error) is a message meant for the user."""

    http_status = 500


class ConfigError(TutorError):
    http_status = 400


class InvalidInput(TutorError):
    http_status = 422


class TooLarge(InvalidInput):
    http_status = 413


class NotFound(TutorError):
    http_status = 404


class Conflict(TutorError):
    http_status = 409


class IndexMissing(TutorError):
    http_status = 503


class IndexCorrupt(TutorError):
    http_status = 503


class ModelNotFound(TutorError):
    http_status = 503


class BackendUnavailable(TutorError):
    http_status = 503


class MalformedReply(TutorError):
    """Not a sign the backend is down (the circuit breaker counts it as an answer): the
    caller rejects that reply (a quiz candidate, a schema rejection) and goes on."""
    http_status = 502


class IngestError(TutorError):
    http_status = 400
