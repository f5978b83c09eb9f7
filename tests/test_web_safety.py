"""Web safety, in the form a client meets it: the admin surface behind its key (every
/admin route, enumerated from the app), CORS only for configured origins, bodies and fields
size-limited before any model work (413/422), the generation queue (503 at once when full),
the wall-clock limit of one generation (an error event, never a hang), output token caps,
and the security headers of the demo page and the widget. Rate limits: tests/test_ratelimit.py.

The real index, embedder and SQLite; a scripted LLM at the seam (made slow or stuck where
the test is about time running out)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.fixtures_tutor import LiveServer, sse_events
from tutor.api import create_app
from tutor.config import load_settings
from tutor.errors import ConfigError
from tutor.models import Message

KEY = "s3cret-operator-key"
QUESTION = "What is the key idea of ResNet?"


def stored(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Message)).all())


# -- the admin surface ------------------------------------------------------------------------

def admin_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every admin operation in the app's OpenAPI schema (so a route added
    later is covered without editing this test), plus the dashboard's undocumented twin."""
    ops = [(method.upper(), path) for path, item in app.openapi()["paths"].items() if path.startswith("/admin")
           for method in item]
    assert len(ops) >= 9, "the admin routes were not found"  # dashboard + 8 JSON panels today
    return ops + [("GET", "/admin/")]


def _url(path: str) -> str:
    return path.replace("{", "").replace("}", "")  # no admin route takes a path parameter today


def test_every_admin_route_is_404_without_a_key_and_401_with_a_wrong_one(make_app):
    off, _, _ = make_app()
    with TestClient(off) as client:
        for method, path in admin_routes(off):
            assert client.request(method, _url(path)).status_code == 404, path
    on, _, _ = make_app(admin_key=KEY)
    with TestClient(on) as client:
        for method, path in admin_routes(on):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
                            {"Authorization": f"Bearer {KEY}x"}):
                response = client.request(method, _url(path), headers=headers)
                assert response.status_code == 401, (path, headers)
                assert "TUTOR_ADMIN_KEY" in response.json()["detail"]
            ok = client.request(method, _url(path), headers={"Authorization": f"Bearer {KEY}"})
            # POST /admin/api/reindex accepts a job (202); on this unchanged index it writes nothing
            assert ok.status_code == (202 if method == "POST" else 200), (path, ok.text[:200])


def test_no_operator_data_outside_admin_and_keys_are_compared_in_constant_time(make_app, monkeypatch):
    import hmac

    from tutor.api import admin

    app, _, _ = make_app(admin_key=KEY)
    for path, item in app.openapi()["paths"].items():  # an operator route elsewhere would escape the key
        for operation in item.values():
            assert ("admin" in operation.get("tags", [])) == path.startswith("/admin"), path
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(admin.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    with TestClient(app) as client:
        client.get("/admin/api/questions", headers={"Authorization": "Bearer guess"})
    assert compared == [(b"guess", KEY.encode())]


# -- CORS ---------------------------------------------------------------------------------------

def preflight(client, origin: str):
    return client.options("/api/chat", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                "Access-Control-Request-Headers": "content-type"})


def test_cors_is_same_origin_only_by_default_and_allows_configured_sites(make_app):
    app, _, _ = make_app()
    with TestClient(app) as client:
        refused = preflight(client, "https://elsewhere.example")
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        assert client.get("/").status_code == 200  # the demo page, same origin, needs no CORS
    app, _, _ = make_app(cors_origins=["https://course.example"], rate_limit_per_address=1)
    with TestClient(app) as client:
        allowed = preflight(client, "https://course.example")
        assert allowed.headers["access-control-allow-origin"] == "https://course.example"
        assert "access-control-allow-credentials" not in allowed.headers
        assert "access-control-allow-origin" not in preflight(client, "https://evil.example").headers
        # a refusal reaches the widget's script too: CORS wraps the limits
        body = {"message": QUESTION, "stream": False}
        client.post("/api/chat", json=body, headers={"Origin": "https://course.example"})
        limited = client.post("/api/chat", json=body, headers={"Origin": "https://course.example"})
        assert limited.status_code == 429
        assert limited.headers["access-control-allow-origin"] == "https://course.example"
        assert "retry-after" in limited.headers["access-control-expose-headers"].lower()


def test_a_wildcard_with_credentials_is_refused_at_start_up(make_app, corpus_index):
    with pytest.raises(ConfigError, match=r"TUTOR_CORS_ORIGINS.*TUTOR_CORS_ALLOW_CREDENTIALS"):
        load_settings(cors_origins=["*"], cors_allow_credentials=True)
    bypassed = corpus_index.model_copy(update={"cors_origins": ["*"], "cors_allow_credentials": True})
    with pytest.raises(ConfigError, match="TUTOR_CORS_ORIGINS"):
        create_app(bypassed)  # settings built without validation are checked again at start-up
    with pytest.raises(ConfigError, match="no path or trailing slash"):
        load_settings(cors_origins=["https://course.example/"])
    app, _, _ = make_app(cors_origins=["*"])  # a wildcard alone is allowed: any site, no cookies
    with TestClient(app) as client:
        assert preflight(client, "https://any.example").headers["access-control-allow-origin"] == "*"


def test_an_untrusted_proxy_setting_is_named(corpus_index):
    with pytest.raises(ConfigError, match="TUTOR_TRUSTED_PROXIES.*'proxy.internal'"):
        create_app(corpus_index.model_copy(update={"trusted_proxies": ["proxy.internal"]}))


# -- sizes --------------------------------------------------------------------------------------

def test_an_oversized_body_is_413_before_any_work(make_app):
    app, tutor, engine = make_app(max_body_bytes=4096)
    big = {"message": "x" * 5000, "stream": False}
    with TestClient(app) as client:
        declared = client.post("/api/chat", json=big)
        assert declared.status_code == 413 and "TUTOR_MAX_BODY_BYTES" in declared.json()["detail"]
        # no Content-Length: the body is counted as it streams in
        chunks = (b'{"message": "' + b"y" * 1024 for _ in range(8))
        streamed = client.post("/api/chat", content=chunks, headers={"Content-Type": "application/json"})
        assert streamed.status_code == 413
        lying = client.post("/api/chat", content=b"{}", headers={"Content-Length": "not-a-number"})
        assert lying.status_code in (400, 413)
        assert client.post("/api/chat", json={"message": QUESTION, "stream": False}).status_code == 200
    assert len(tutor.llm.calls) == 1 and stored(engine) == 2  # only the last one reached the model


def test_field_lengths_are_422_naming_the_field_and_long_questions_413(make_app):
    app, tutor, engine = make_app(max_body_bytes=1_000_000)
    with TestClient(app) as client:
        huge = client.post("/api/chat", json={"message": "x" * 20_001})
        assert huge.status_code == 422 and "message" in huge.json()["detail"]
        long_id = client.post("/api/chat", json={"message": QUESTION, "learner_id": "l" * 129})
        assert long_id.status_code == 422 and "learner_id" in long_id.json()["detail"]
        turns = [{"role": "user", "content": "hi"}] * 101
        assert client.post("/v1/chat/completions", json={"messages": turns}).status_code == 422
        too_long = client.post("/api/chat", json={"message": "x" * 2001, "stream": False})
        assert too_long.status_code == 413 and "TUTOR_MAX_QUESTION_CHARS" in too_long.json()["detail"]
    assert tutor.llm.calls == [] and stored(engine) == 0


def test_answers_are_capped_at_max_answer_tokens(make_app):
    long_reply = " ".join(["ResNet adds the input of a block to its output [1]."] * 60)
    app, tutor, _ = make_app([long_reply], max_answer_tokens=24, hold_back_unsupported=False)
    with TestClient(app) as client:
        answer = client.post("/api/chat", json={"message": QUESTION, "stream": False}).json()["answer"]
    assert tutor.llm.pieces_sent == 24 and len(answer.split()) <= 24


# -- the generation queue -----------------------------------------------------------------------

def _stream_first_event(url: str, opened: threading.Event, body: dict) -> list[str]:
    lines = []
    with httpx.stream("POST", f"{url}/api/chat", json=body, timeout=60) as response:
        for line in response.iter_lines():
            if line:
                lines.append(line)
                opened.set()
    return lines


def test_a_full_queue_answers_503_at_once_and_admits_again_when_it_drains(make_app):
    app, _, _ = make_app(delay=0.4, generation_slots=1, generation_queue=1, rate_limit_per_address=0)
    queue = app.state.generation_queue
    with LiveServer(app) as server, ThreadPoolExecutor(2) as pool:
        first = threading.Event()
        running = pool.submit(_stream_first_event, server.url, first, {"message": QUESTION})
        assert first.wait(30)
        waiting = pool.submit(_stream_first_event, server.url, threading.Event(),
                              {"message": "What does stage 2 cover?"})
        for _ in range(200):
            if queue.waiting == 1:
                break
            threading.Event().wait(0.05)
        assert (queue.running, queue.waiting) == (1, 1)
        refused = httpx.post(f"{server.url}/api/chat", json={"message": QUESTION, "stream": False}, timeout=30)
        assert refused.status_code == 503
        assert int(refused.headers["retry-after"]) >= 1
        assert "TUTOR_GENERATION_SLOTS=1" in refused.json()["detail"]
        assert not running.done() and not waiting.done()  # refused while both were still in progress
        assert "event: done" in running.result() and "event: done" in waiting.result()
        for _ in range(200):  # the slot is given back just after the last byte is sent
            if queue.running == 0:
                break
            threading.Event().wait(0.05)
        assert (queue.running, queue.waiting) == (0, 0)
        again = httpx.post(f"{server.url}/api/chat", json={"message": QUESTION, "stream": False}, timeout=30)
        assert again.status_code == 200


# -- the wall-clock limit -----------------------------------------------------------------------

def test_a_slow_generation_ends_with_an_error_event_and_a_504(make_app):
    endless = lambda messages: "ResNet adds the input of a block to its output [1]. " * 20  # noqa: E731
    app, tutor, _ = make_app(endless, delay=0.5, generation_seconds=2.0, hold_back_unsupported=False)
    with TestClient(app) as client:
        got = sse_events(client.post("/api/chat", json={"message": QUESTION}).text)
        kind, payload = got[-1]
        assert kind == "error" and payload["status"] == 504
        assert "TUTOR_GENERATION_SECONDS" in payload["message"]
        assert "done" not in [k for k, _ in got]
        plain = client.post("/api/chat", json={"message": QUESTION, "stream": False})
        assert plain.status_code == 504 and "TUTOR_GENERATION_SECONDS" in plain.json()["detail"]
    sent = tutor.llm.pieces_sent
    threading.Event().wait(1.0)
    assert tutor.llm.pieces_sent == sent  # the model was told to stop, not left running


def test_a_stuck_backend_cannot_hang_the_stream(make_app):
    release, returned = threading.Event(), threading.Event()

    def stuck(messages):
        release.wait(60)  # a backend that never answers (until the test lets it go)
        returned.set()
        return "ResNet adds skip connections [1]."

    app, _, _ = make_app(stuck, generation_seconds=1.0)
    with TestClient(app) as client:
        try:
            response = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}],
                                                                  "stream": True})
            assert not returned.is_set()  # the stream ended while the backend was still stuck
            assert "TUTOR_GENERATION_SECONDS" in response.text and response.text.rstrip().endswith("[DONE]")
        finally:
            release.set()  # before the client closes: shutting down waits for the worker thread


# -- headers ------------------------------------------------------------------------------------

def test_demo_page_widget_and_errors_carry_security_headers(make_app):
    app, _, _ = make_app()
    with TestClient(app) as client:
        demo = client.get("/")
        csp = demo.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp
        assert demo.headers["x-frame-options"] == "DENY"
        assert demo.headers["x-content-type-options"] == "nosniff"
        assert demo.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert demo.headers["cross-origin-opener-policy"] == "same-origin"
        widget = client.get("/widget.js")
        assert widget.headers["access-control-allow-origin"] == "*"
        assert widget.headers["cross-origin-resource-policy"] == "cross-origin"
        assert "x-frame-options" not in widget.headers  # embedded by a script tag on any site
        for response in (client.get("/api/learners/nobody"), client.post("/api/chat", json={}),
                         client.get("/healthz")):
            assert response.headers["x-content-type-options"] == "nosniff"
