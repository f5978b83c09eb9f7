"""The `openai` backend against a real OpenAI-compatible server: llama.cpp's (xllamacpp's
Server listening on loopback, in a child process so a test can kill it) serving the tiny
packaged SmolLM2-135M with one thread. Plumbing only: that model's answers are often wrong.
httpx.MockTransport injects what a healthy server will not do: refusals, 503s, a server
that ignores response_format, a stream that breaks after its first token."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.fixtures_tutor import free_port
from tutor.config import load_settings
from tutor.errors import BackendUnavailable, MalformedReply
from tutor.llm import get_llm
from tutor.llm.breaker import CLOSED, CircuitBreaker
from tutor.llm.openai_compat import OpenAICompatLLM

MESSAGES = [{"role": "user", "content": "Name three colours."}]
SERVER = """
import sys, time, xllamacpp
from tutor.assets import smollm2_path
params = xllamacpp.CommonParams()
params.model.path = str(smollm2_path())
params.n_ctx, params.n_parallel, params.port = 2048, 1, int(sys.argv[1])
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
params.warmup, params.verbosity = False, -1
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
while True:
    time.sleep(1)
"""


def start_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    assert address.startswith("http://127.0.0.1:"), "llama.cpp server did not start"
    return proc, f"{address}/v1"


@pytest.fixture(scope="module")
def llama_server():
    proc, url = start_server()
    yield url
    proc.kill()
    proc.wait(10)


def test_streams_from_a_real_server_and_its_schema_check_passes(llama_server):
    llm = get_llm(load_settings(llm_backend="openai", openai_base_url=llama_server, openai_model="smollm2"))
    assert llm.schema_enforced is True  # llama.cpp's server enforces json_schema
    pieces = list(llm.stream(MESSAGES, max_tokens=12))
    assert len(pieces) > 1 and "".join(pieces).strip()
    schema = {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"},
                                                           "minItems": 3, "maxItems": 3}},
              "required": ["colours"], "additionalProperties": False}
    value = llm.json(MESSAGES, schema, max_tokens=64)
    assert set(value) == {"colours"} and len(value["colours"]) == 3
    llm.close()


@pytest.mark.serial
def test_an_unreachable_server_is_named_at_start_up_and_the_breaker_starts_open(caplog):
    """A server down at start-up does not stop the tutor (it answers from retrieval): the
    warning names the server and what to start, calls fail fast, the schema check waits."""
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    started = time.monotonic()
    llm = get_llm(load_settings(llm_backend="openai", openai_base_url=url, openai_retries=1))
    assert time.monotonic() - started < 5
    assert re.search(f"cannot reach {url}.*vllm serve.*retrieval only", caplog.text)
    assert llm.state == "open" and llm.check_pending and llm.schema_enforced is None
    with pytest.raises(BackendUnavailable, match=f"not reachable at start-up.*cannot reach {url}.*breaker open"):
        list(llm.stream(MESSAGES))
    assert llm.fast_failures == 1


def test_a_server_that_ignores_the_schema_is_caught_by_the_check():
    reply = {"choices": [{"message": {"role": "assistant", "content": "Hello, learner!"}}]}
    llm = OpenAICompatLLM("http://lenient/v1", "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json=reply)))
    assert llm.check_schema() is False
    with pytest.raises(BackendUnavailable, match="http://lenient/v1 ignores response_format"):
        llm.json(MESSAGES, {"type": "object"})


def test_a_schema_check_missed_at_start_up_runs_before_the_first_structured_call():
    reply = {"choices": [{"message": {"role": "assistant", "content": "Hello, learner!"}}]}
    llm = OpenAICompatLLM("http://lenient/v1", "m", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json=reply)))
    llm.check_pending = True  # as get_llm leaves it when the server was down at start-up
    with pytest.raises(BackendUnavailable, match="ignores response_format"):
        llm.json(MESSAGES, {"type": "object"})
    assert llm.check_pending is False and llm.schema_enforced is False


def test_replies_that_are_not_json_do_not_open_the_breaker():
    """A quiz reply cut off by the token cap is not JSON, but the server answered: three of
    them used to open the breaker, and every question got a retrieval-only answer for the
    cool-down. Now each is a MalformedReply for its caller, and the breaker stays closed."""
    def handler(request):
        body = json.loads(request.content)
        if body.get("stream"):
            return httpx.Response(200, text=_sse("Hel", "lo"), headers={"content-type": "text/event-stream"})
        content = '{"question": "What does a tens'  # cut off by the token cap
        return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})

    inner = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(handler))
    inner.schema_enforced = True
    llm = CircuitBreaker(inner, failures=3, cooldown=30)
    for _ in range(5):
        with pytest.raises(MalformedReply, match="not JSON"):
            llm.json(MESSAGES, {"type": "object"})
    assert llm.state == CLOSED and llm.failed == 0
    assert llm.complete(MESSAGES).text == "Hello"


def _sse(*pieces: str) -> str:
    return "".join(f"data: {json.dumps({'choices': [{'delta': {'content': p}}]})}\n\n" for p in pieces) + \
        "data: [DONE]\n\n"


def test_failures_before_the_first_token_are_retried_with_backoff():
    calls = []

    def flaky(request):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(503, text="loading model")
        return httpx.Response(200, text=_sse("Hel", "lo"), headers={"content-type": "text/event-stream"})

    llm = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(flaky), retries=2, backoff=0.05)
    assert list(llm.stream(MESSAGES)) == ["Hel", "lo"]
    assert len(calls) == 3 and calls[2] - calls[1] >= calls[1] - calls[0] >= 0.05  # backoff doubles


def test_a_stream_that_breaks_after_its_first_token_is_not_retried():
    calls = []

    class Breaks(httpx.SyncByteStream):
        def __iter__(self):
            yield _sse("Hel").split("data: [DONE]")[0].encode()
            raise httpx.ReadError("connection reset")

    def handler(request):
        calls.append(request)
        return httpx.Response(200, stream=Breaks(), headers={"content-type": "text/event-stream"})

    llm = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(handler), retries=3, backoff=0.01)
    got = []
    with pytest.raises(BackendUnavailable, match="stream from http://x/v1 broke"):
        for piece in llm.stream(MESSAGES):
            got.append(piece)
    assert got == ["Hel"] and len(calls) == 1  # never "HelHel..."


@pytest.mark.serial
def test_connect_and_read_timeouts_are_explicit():
    llm = OpenAICompatLLM("http://x/v1", "m", connect_timeout=2.0, read_timeout=30.0)
    assert (llm._client.timeout.connect, llm._client.timeout.read) == (2.0, 30.0)
    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
    llm = OpenAICompatLLM(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", "m", read_timeout=0.5, retries=0)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not answer in time"):
        list(llm.stream(MESSAGES))
    assert time.monotonic() - started < 3
    silent.close()


def _silent_host() -> tuple[socket.socket, socket.socket]:
    """A listening socket whose accept queue is full: further connects hang, as to a host that is down."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    return listener, socket.create_connection(listener.getsockname())


@pytest.mark.serial
@pytest.mark.parametrize("call", ["stream", "json"])
def test_one_connect_budget_bounds_all_the_attempts_at_a_host_that_does_not_answer(call):
    """3 attempts x a 5 s connect timeout used to cost 15+ s; the budget (0.6 s) bounds them all."""
    host, filler = _silent_host()
    sends = []
    llm = OpenAICompatLLM(f"http://127.0.0.1:{host.getsockname()[1]}/v1", "m", connect_timeout=5.0,
                          retries=2, backoff=0.05, connect_budget=0.6)
    real_send = llm._client.send
    llm._client.send = lambda request, **k: (sends.append(request.extensions["timeout"]["connect"]),
                                             real_send(request, **k))[1]
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable, match="did not answer in time"):
            list(llm.stream(MESSAGES)) if call == "stream" else llm.json(MESSAGES, {"type": "object"})
    finally:
        filler.close()
        host.close()
    assert 0.5 < time.monotonic() - started < 1.5
    assert 0.5 < sends[0] <= 0.6 and sum(sends) <= 0.6  # never past the budget


def test_the_budget_leaves_quick_retries_alone():
    """A refused connect fails at once: the retries still all run inside the budget."""
    calls = []

    def refuse(request):
        calls.append(request.extensions["timeout"]["connect"])
        raise httpx.ConnectError("refused", request=request)

    llm = OpenAICompatLLM("http://x/v1", "m", transport=httpx.MockTransport(refuse), retries=2, backoff=0.05)
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        list(llm.stream(MESSAGES))
    assert len(calls) == 3 and calls[0] == 1.0 and all(c <= 1.0 for c in calls)


@pytest.mark.serial
def test_a_server_killed_mid_answer_gives_an_error_event_and_keeps_the_partial_answer(
        corpus_index, embedder, tmp_path):
    from tutor.answer import Tutor
    from tutor.api import create_app
    from tutor.db import make_engine
    from tutor.index import load_index

    proc, url = start_server()
    try:
        settings = load_settings(index_dir=corpus_index.index_dir, llm_backend="openai", openai_base_url=url,
                                 max_answer_tokens=400)
        llm = OpenAICompatLLM(url, "smollm2", retries=2)
        tutor = Tutor(settings, load_index(settings.index_dir), embedder, llm)
        app = create_app(settings, tutor=tutor, engine=make_engine(f"sqlite:///{tmp_path / 'tutor.db'}"))
        seen, killed_at, error_at, convo = [], None, None, None
        with TestClient(app) as client:
            with client.stream("POST", "/api/chat", json={"message": "What is the key idea of ResNet?"}) as resp:
                for line in resp.iter_lines():
                    if line.startswith("event: "):
                        seen.append(line[7:])
                    elif line.startswith("data: ") and seen[-1] == "meta":
                        convo = json.loads(line[6:])["conversation_id"]
                    if seen and seen[-1] == "token" and killed_at is None:
                        proc.kill()  # the backend server dies with the answer half written
                        killed_at = time.monotonic()
                    if seen and seen[-1] == "error":
                        error_at = time.monotonic()
                        break
            messages = client.get(f"/api/conversations/{convo}").json()["messages"]
        assert killed_at is not None and error_at is not None, seen
        assert error_at - killed_at < 5
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[0]["content"] == "What is the key idea of ResNet?"
        assert messages[1]["status"] == "failed" and messages[1]["content"]  # the partial answer, kept
    finally:
        proc.kill()
        proc.wait(10)
