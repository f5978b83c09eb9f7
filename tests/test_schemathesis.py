"""Fuzz every operation of the app's own OpenAPI schema (schemathesis): whatever a client
sends, the answer is never a 5xx. Malformed, oversized and out-of-range input must end as a
clear 4xx (400/401/404/409/413/422), never as a crash.

The real index, embedder and SQLite, the scripted LLM at the seam (this is about the web
tier's handling of input, not about answers). Both bearer keys are set and sent, so the
admin and Discord-bridge routes are fuzzed behind their doors rather than stopped at them.
Rate limits are off here (a 429 is not a finding, and would hide the routes behind it).
Examples per operation are bounded (EXAMPLES) and derandomized, so the run is repeatable
and short."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.test_db import bank
from tutor.answer import Tutor
from tutor.api import create_app
from tutor.db import make_engine
from tutor.index import load_index
from tutor.llm.fake import FakeLLM

EXAMPLES = 20
ADMIN, SERVICE = "fuzz-admin-key", "fuzz-service-key"


@pytest.fixture(scope="module")
def fuzzed_app(corpus_index, embedder, tmp_path_factory):
    tuned = corpus_index.model_copy(update={
        "admin_key": ADMIN, "service_key": SERVICE, "rate_limit_per_learner": 0, "rate_limit_per_address": 0,
        "rate_limit_global": 0, "generation_queue": 64})
    tutor = Tutor(tuned, load_index(corpus_index.index_dir), embedder, FakeLLM())
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'tutor.db'}")
    for stage in (1, 2, 3, 4):  # a full bank, so a quiz of any size is served (an empty one is a designed 503)
        bank(engine, stage, n=25)
    return create_app(tuned, tutor=tutor, engine=engine)


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


def _key(path: str) -> dict:
    if path.startswith("/admin"):
        return {"Authorization": f"Bearer {ADMIN}"}
    if path.startswith("/api/bridge"):
        return {"Authorization": f"Bearer {SERVICE}"}
    return {}


def _fuzz(operation, mode, failures: list[str]) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        response = case.call(headers=_key(case.path))
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code}: "
                            f"{response.text[:200]} | body: {case.body!r}"[:600])

    try:
        run()
    except Unsatisfiable:  # negative mode on an operation with no input: nothing to make invalid
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_no_input_makes_a_server_error(api_schema):
    """Every operation, valid and invalid input alike (schemathesis' two generation modes)."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30  # the whole API, not a schema that failed to load
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, failures)
    assert not failures, "\n".join(failures[:20])
