"""Rate limits: the sliding-window arithmetic on a clock the test sets, counters that are
atomic under concurrent requests and shared by two app instances on one PostgreSQL database,
429 with Retry-After per learner, per address and for the whole service, and client
addresses that a spoofed X-Forwarded-For cannot change unless it comes from a trusted proxy.

The real database (SQLite, and PostgreSQL where a server answers on loopback), the real
index and embedder, a scripted LLM at the seam."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tutor.api import create_app
from tutor.api.security import client_address, parse_networks
from tutor.db import make_engine
from tutor.models import RateCounter
from tutor.ratelimit import Limit, RateLimiter, retry_after

QUESTION = {"message": "What is the key idea of ResNet?", "stream": False}


class Clock:
    def __init__(self, now: float = 6000.0):  # the start of a 60 s window
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limiter(database_url):
    clock = Clock()
    limiter = RateLimiter(make_engine(database_url), 60, clock)
    return limiter, clock


def test_the_sliding_window_admits_the_limit_then_spreads_admissions(limiter):
    limiter, clock = limiter
    ada = [Limit("learner", "ada", 4)]
    assert [limiter.check(ada).allowed for _ in range(5)] == [True, True, True, True, False]
    refused = limiter.check(ada)
    assert refused.scope == "learner" and refused.retry_after == 60 + 15  # next window, at 1/4 of it
    assert limiter.check([Limit("learner", "bob", 4)]).allowed  # another learner has its own count
    clock.now += 60  # the next window starts: the full previous one still weighs 1
    assert not limiter.check(ada).allowed
    clock.now += 15  # a quarter in: 4 * 0.75 + 0 + 1 = 4 fits, one more does not
    assert limiter.check(ada).allowed and not limiter.check(ada).allowed
    clock.now += 15  # half way: 4 * 0.5 + 1 + 1 = 4
    assert limiter.check(ada).allowed and not limiter.check(ada).allowed


def test_a_refusal_is_not_counted_and_every_scope_must_admit(limiter):
    limiter, clock = limiter
    for _ in range(50):  # a flood on one key does not push its own window further out
        limiter.check([Limit("address", "198.51.100.7", 2)])
    clock.now += 120  # two windows later both counters are past
    assert limiter.check([Limit("address", "198.51.100.7", 2)]).allowed
    both = [Limit("learner", "ada", 10), Limit("global", "", 1)]
    assert limiter.check(both).allowed
    refused = limiter.check(both)
    assert not refused.allowed and refused.scope == "global"
    # the learner's increment was taken back with the global refusal: 9 more fit, not 8
    assert sum(limiter.check([Limit("learner", "ada", 10)]).allowed for _ in range(10)) == 9


def test_counters_hold_no_identifiers_and_old_windows_are_swept(limiter):
    limiter, clock = limiter
    limiter.check([Limit("learner", "ada@example.org", 5), Limit("address", "203.0.113.9", 5)])
    with limiter.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(RateCounter.__table__.c.key))]
    assert len(keys) == 2 and not any("ada" in k or "203.0" in k for k in keys)
    clock.now += 180
    limiter.check([Limit("global", "", 5)])
    assert limiter.rows() == 1  # only the new window's counter is left


def test_retry_after_is_when_one_more_request_fits():
    assert retry_after(previous=0, current=4, limit=4, fraction=0.0, window_seconds=60) == 75  # next window, 1/4 in
    assert retry_after(previous=4, current=0, limit=4, fraction=0.0, window_seconds=60) == 15
    assert retry_after(previous=8, current=3, limit=4, fraction=0.5, window_seconds=60) == 30  # this window ends
    assert retry_after(previous=4, current=3, limit=4, fraction=0.999, window_seconds=60) == 1


def test_concurrent_requests_never_admit_more_than_the_limit(limiter):
    limiter, _ = limiter
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: limiter.check([Limit("global", "", 10)]).allowed, range(40)))
    assert sum(results) == 10


# -- client addresses ---------------------------------------------------------------------------

PROXIES = parse_networks(["10.0.0.0/8", "192.0.2.1"])


@pytest.mark.parametrize("peer, forwarded, expected", [
    ("198.51.100.7", ["1.2.3.4"], "198.51.100.7"),  # not from a proxy: the header is ignored
    ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),  # our proxy says who it talked to
    ("10.0.0.2", ["1.2.3.4, 203.0.113.5"], "203.0.113.5"),  # a client-sent entry left of it is not believed
    ("10.0.0.2", ["1.2.3.4, 203.0.113.5, 192.0.2.1"], "203.0.113.5"),  # two proxies in a chain
    ("10.0.0.2", ["not-an-ip, 10.0.0.9"], "10.0.0.9"),  # garbage stops the walk at the last sound hop
    ("10.0.0.2", [], "10.0.0.2"),
    ("10.0.0.2", ["1.2.3.4", "203.0.113.5"], "203.0.113.5"),  # the header sent twice reads as one list
    ("2001:db8::1", ["203.0.113.5"], "2001:db8::1"),
])
def test_the_client_address_believes_only_trusted_proxies(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXIES) == expected


# -- over HTTP ----------------------------------------------------------------------------------

@pytest.fixture
def make_app(fake_tutor, tmp_path):
    def make(database_url=None, **overrides):
        tutor = fake_tutor(**overrides)
        engine = make_engine(database_url or f"sqlite:///{tmp_path / 'tutor.db'}")
        return create_app(tutor.settings, tutor=tutor, engine=engine), tutor
    return make


def test_429_per_learner_per_address_and_globally_with_retry_after(make_app):
    app, tutor = make_app(rate_limit_per_learner=2, rate_limit_per_address=3, rate_limit_global=4)
    with TestClient(app, client=("198.51.100.7", 5000)) as one, \
            TestClient(app, client=("198.51.100.8", 5000)) as other:
        assert one.post("/api/chat", json={**QUESTION, "learner_id": "ada"}).status_code == 200
        assert one.post("/api/chat", json={**QUESTION, "learner_id": "ada"}).status_code == 200
        learner = one.post("/api/chat", json={**QUESTION, "learner_id": "ada"})
        assert learner.status_code == 429 and "TUTOR_RATE_LIMIT_PER_LEARNER" in learner.json()["detail"]
        assert int(learner.headers["retry-after"]) >= 1
        assert one.post("/api/chat", json=QUESTION).status_code == 200  # ada's limit is ada's
        address = one.post("/api/chat", json=QUESTION)
        assert address.status_code == 429 and "TUTOR_RATE_LIMIT_PER_ADDRESS" in address.json()["detail"]
        assert other.post("/api/chat", json=QUESTION).status_code == 200  # the 4th admitted overall
        ceiling = other.post("/api/chat", json=QUESTION)
        assert ceiling.status_code == 429 and "TUTOR_RATE_LIMIT_GLOBAL" in ceiling.json()["detail"]
        # the limits are on questions: reading the roadmap or a profile is not counted
        assert one.get("/api/roadmap").status_code == 200
    assert len(tutor.llm.calls) == 4  # refused questions never reached the model


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(make_app):
    app, _ = make_app(rate_limit_per_address=2, trusted_proxies=["10.0.0.2"])
    with TestClient(app, client=("198.51.100.7", 5000)) as direct:
        codes = [direct.post("/api/chat", json=QUESTION, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(3)]
        assert codes == [200, 200, 429]
    with TestClient(app, client=("10.0.0.2", 5000)) as proxy:  # behind the proxy: each client counted
        for client_ip in ("203.0.113.50", "203.0.113.51"):
            got = [proxy.post("/api/chat", json=QUESTION, headers={"X-Forwarded-For": f"1.1.1.1, {client_ip}"})
                   .status_code for _ in range(3)]
            assert got == [200, 200, 429], client_ip


def test_the_discord_bot_is_not_limited_by_its_one_address(make_app):
    app, _ = make_app(rate_limit_per_address=1, rate_limit_per_learner=2, service_key="bot-key")
    bot = {"Authorization": "Bearer bot-key"}
    with TestClient(app) as client:
        codes = [client.post("/api/chat", json={**QUESTION, "learner_id": f"discord-{i % 3}"}, headers=bot).status_code
                 for i in range(6)]
        assert codes == [200] * 6  # six learners' questions from one address
        assert client.post("/api/chat", json={**QUESTION, "learner_id": "discord-0"}, headers=bot).status_code == 429
        assert client.post("/api/chat", json=QUESTION, headers={"Authorization": "Bearer guess"}).status_code == 200
        assert client.post("/api/chat", json=QUESTION, headers={"Authorization": "Bearer guess"}).status_code == 429


def test_two_instances_on_one_postgresql_share_the_limits(make_app, postgres_url):
    """Two replicas (two apps, two engines, one database) behind a round-robin proxy."""
    a, _ = make_app(postgres_url, rate_limit_per_learner=3)
    b, _ = make_app(postgres_url, rate_limit_per_learner=3)
    with TestClient(a) as one, TestClient(b) as two:
        codes = [client.post("/api/chat", json={**QUESTION, "learner_id": "ada"}).status_code
                 for client in (one, two, one, two)]
        assert codes == [200, 200, 200, 429]  # alone, each instance would have admitted a 4th
        assert two.post("/api/chat", json={**QUESTION, "learner_id": "bob"}).status_code == 200


def test_a_full_key_is_refused_locally_until_it_has_room(limiter):
    """Under a flood, refusals need no query: a key the database called full stays refused in
    this process until the computed time, which no other replica's requests can bring forward."""
    limiter, clock = limiter
    ada = [Limit("learner", "ada", 2)]
    assert limiter.precheck(ada) is None  # unknown: ask the database
    assert limiter.check(ada).allowed and limiter.check(ada).allowed and not limiter.check(ada).allowed
    local = limiter.precheck(ada)
    assert local is not None and not local.allowed and local.scope == "learner" and local.retry_after == 90
    assert limiter.precheck([Limit("learner", "bob", 2)]) is None
    assert limiter.precheck([Limit("global", "", 0)]).allowed  # no limit applies
    clock.now += 89.5  # 60 s to the next window, then 30 s until 2 * 0.5 + 0 + 1 fits
    assert limiter.precheck(ada) is not None
    clock.now += 0.5
    assert limiter.precheck(ada) is None and limiter.check(ada).allowed
