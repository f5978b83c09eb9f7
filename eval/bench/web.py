"""The web tier under load, and the real model under concurrent users.

1. Load: `tutor serve --backend fake` in its own process (the scripted extractive LLM, so
   the web tier, retrieval, support scoring and SQLite are what is measured), driven
   open-loop at a fixed rate (default 1000 requests/minute for 60 s) on /api/chat and on
   /v1/chat/completions, both streaming. Reported: achieved rate, errors, and p50/p95 time
   to the first streamed event, beside /healthz driven at the same rate in the same run
   (the floor: a route that does nothing).
2. Concurrency: `tutor serve` on the packaged model; time to first token for 1 user, then
   for 2 users asking at the same time.
3. Replicas: the same scripted web tier as one `tutor serve` process and as two on one
   database (PostgreSQL where a server answers on loopback, else one SQLite file in WAL
   mode) and one index, driven closed-loop by REPLICA_CLIENTS clients that spread their
   requests over the processes (the reverse proxy's job): answers per minute and latency,
   two against one, in the same run. Rate limits and the generation queue are opened up
   for the bench (they would turn the excess into 429/503, which eval/bench/load.py measures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from eval.bench.common import (clock, console, fmt, free_port, index_under_test, load_queries, ratio,
                               summary, table, verdict)

TUTOR = str(Path(sys.executable).parent / "tutor")
# The bench measures the web tier's own capacity, so admission control stays out of the way.
UNLIMITED = {"TUTOR_RATE_LIMIT_PER_LEARNER": "0", "TUTOR_RATE_LIMIT_PER_ADDRESS": "0",
             "TUTOR_RATE_LIMIT_GLOBAL": "0", "TUTOR_GENERATION_QUEUE": "1000"}
REPLICA_CLIENTS = 16


class Served:
    """`tutor serve` in a subprocess, ready when /readyz says so."""

    def __init__(self, index_dir: Path, backend: str, db_dir: str, env: dict[str, str] | None = None,
                 database_url: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1",
               "TUTOR_DATABASE_URL": database_url or f"sqlite:///{db_dir}/bench.db", **(env or {})}
        self.proc = subprocess.Popen([TUTOR, "serve", "--port", str(self.port), "--index", str(index_dir),
                                      "--backend", backend], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def __enter__(self):
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tutor serve exited: {self.proc.stderr.read()[-500:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise RuntimeError("tutor serve did not become ready")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _body(route: str, question: str) -> dict:
    if route == "/api/chat":
        return {"message": question, "stream": True}
    return {"model": "roadmap-tutor", "stream": True, "messages": [{"role": "user", "content": question}]}


def _is_token(line: str) -> bool:
    return line.startswith("event: token") or (line.startswith("data: {") and '"content": "' in line
                                                and '"content": ""' not in line)


async def _one(client: httpx.AsyncClient, route: str, question: str
               ) -> tuple[float | None, float, str | None, float | None]:
    """(seconds to the first streamed event, to the end, error or None, to the first token)."""
    started = clock()
    first = token = None
    try:
        if route == "/healthz":
            response = await client.get(route)
            first = clock() - started
            return first, first, None if response.status_code == 200 else f"HTTP {response.status_code}", first
        async with client.stream("POST", route, json=_body(route, question)) as response:
            if response.status_code != 200:
                return None, clock() - started, f"HTTP {response.status_code}", None
            errored = None
            async for line in response.aiter_lines():
                if first is None and line:
                    first = clock() - started
                if token is None and _is_token(line):
                    token = clock() - started
                if line.startswith("event: error") or line.startswith('data: {"error"'):
                    errored = "error event"
            return first, clock() - started, errored, token
    except httpx.HTTPError as exc:
        return first, clock() - started, type(exc).__name__, token


async def _drive(url: str, route: str, per_minute: int, seconds: float, questions: list[str]) -> dict:
    interval = 60.0 / per_minute
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        tasks = []
        started = clock()
        n = 0
        while (elapsed := clock() - started) < seconds:
            due = n * interval
            if elapsed < due:
                await asyncio.sleep(due - elapsed)
            tasks.append(asyncio.create_task(_one(client, route, questions[n % len(questions)])))
            n += 1
        results = await asyncio.gather(*tasks)
        wall = clock() - started
    firsts = [f for f, _, e, _ in results if f is not None and e is None]
    tokens = [t for _, _, e, t in results if t is not None and e is None]
    errors = [e for _, _, e, _ in results if e]
    return {"route": route, "sent": n, "ok": len(results) - len(errors), "errors": len(errors),
            "error_kinds": sorted(set(errors)), "per_minute": (len(results) - len(errors)) / wall * 60,
            "first_event": summary(firsts), "first_token": summary(tokens),
            "total": summary([t for _, t, e, _ in results if e is None])}


def load(index_dir: Path, per_minute: int, seconds: float) -> dict:
    questions = [q["q"] for q in load_queries()]
    with tempfile.TemporaryDirectory() as db_dir, Served(index_dir, "fake", db_dir, UNLIMITED) as server:
        # warm every chunk's sentence vectors and the connection pool before measuring
        asyncio.run(_drive(server.url, "/api/chat", 600, 6, questions))
        runs = [asyncio.run(_drive(server.url, route, per_minute, seconds, questions))
                for route in ("/healthz", "/api/chat", "/v1/chat/completions")]
    floor = runs[0]["first_event"]["p95"]
    rows = [[r["route"], r["sent"], r["errors"], r["per_minute"], r["first_event"]["p50"] * 1000,
             r["first_event"]["p95"] * 1000, r["first_token"]["p50"] * 1000, r["first_token"]["p95"] * 1000,
             ratio(r["first_token"]["p95"], floor)] for r in runs]
    console.print(table(f"Web tier, scripted LLM, open loop at {per_minute}/min for {seconds:.0f} s",
                        ["route", "sent", "errors", "done/min", "first event p50 ms", "p95 ms",
                         "first token p50 ms", "p95 ms", "token p95 / healthz p95"], rows,
                        caption="/v1 streams its role chunk before any work, so its first event is "
                                "immediate; first token is comparable across routes"))
    checks = [[f"{r['route']}: >= {per_minute}/min sustained, 0 errors",
               f"{r['per_minute']:.0f}/min, {r['errors']} errors",
               verdict(r["errors"] == 0 and r["per_minute"] >= per_minute * 0.98)] for r in runs[1:]]
    console.print(table("Targets (reported, not enforced)", ["target", "measured", ""], checks))
    return {"per_minute_target": per_minute, "seconds": seconds, "runs": runs}


async def _ask_many(url: str, questions: list[str]) -> list[float]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        out = []
        for q in questions:
            started = clock()
            first = None
            async with client.stream("POST", "/api/chat", json={"message": q}) as response:
                async for line in response.aiter_lines():  # read to the end: the answer completes
                    if first is None and line.startswith("event: token"):
                        first = clock() - started
            if first is not None:
                out.append(first)
        return out


async def _users(url: str, groups: list[list[str]]) -> list[float]:
    results = await asyncio.gather(*(_ask_many(url, g) for g in groups))
    return [t for r in results for t in r]


def concurrency(index_dir: Path, questions_per_user: int) -> dict:
    questions = [q["q"] for q in load_queries() if q.get("llm")] or [q["q"] for q in load_queries()]
    with tempfile.TemporaryDirectory() as db_dir, Served(index_dir, "llamacpp", db_dir, UNLIMITED) as server:
        one = asyncio.run(_users(server.url, [questions[:questions_per_user]]))
        two = asyncio.run(_users(server.url, [questions[:questions_per_user],
                                              questions[questions_per_user:2 * questions_per_user]]))
    s1, s2 = summary(one), summary(two)
    console.print(table("Packaged model (llamacpp) behind /api/chat: time to first token, s",
                        ["users", "n", "p50", "p95"],
                        [["1", s1["n"], s1["p50"], s1["p95"]], ["2 at once", s2["n"], s2["p50"], s2["p95"]]],
                        caption=f"p50 ratio 2 users / 1 user: {fmt(ratio(s2['p50'], s1['p50']))}"))
    return {"one_user": s1, "two_users": s2, "p50_ratio": ratio(s2["p50"], s1["p50"])}


async def _closed_loop(urls: list[str], clients: int, seconds: float, questions: list[str]) -> dict:
    """`clients` loops, each sending /api/chat (streamed) back to back, client k to urls[k % n]."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    http = [httpx.AsyncClient(base_url=u, timeout=60, limits=limits) for u in urls]
    results: list[tuple] = []
    started = clock()

    async def loop(k: int) -> None:
        n = k
        while clock() - started < seconds:
            results.append(await _one(http[k % len(http)], "/api/chat", questions[n % len(questions)]))
            n += clients

    await asyncio.gather(*(loop(k) for k in range(clients)))
    wall = clock() - started
    for client in http:
        await client.aclose()
    ok = [r for r in results if r[2] is None]
    return {"replicas": len(urls), "done": len(ok), "errors": len(results) - len(ok),
            "per_minute": 60 * len(ok) / wall, "total": summary([r[1] for r in ok])}


def _database() -> tuple[str | None, str]:
    """A fresh PostgreSQL database at head when a server answers on loopback, else None."""
    try:
        import psycopg
    except ImportError:
        return None, "SQLite (psycopg not installed)"
    name = f"tutor_bench_{os.getpid()}"
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True, connect_timeout=3) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            c.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None, "SQLite in WAL mode (no PostgreSQL answers on 127.0.0.1:5432)"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    subprocess.run([TUTOR, "db", "upgrade"], env={**os.environ, "TUTOR_DATABASE_URL": url}, check=True,
                   stdout=subprocess.DEVNULL)
    return url, "PostgreSQL"


def replicas(index_dir: Path, seconds: float) -> dict:
    questions = [q["q"] for q in load_queries()]
    url, kind = _database()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as db_dir:
            for n in (1, 2):
                with contextlib.ExitStack() as stack:
                    served = [stack.enter_context(Served(index_dir, "fake", db_dir, UNLIMITED, url)) for _ in range(n)]
                    urls = [s.url for s in served]
                    asyncio.run(_closed_loop(urls, REPLICA_CLIENTS, 5, questions))  # warm each process
                    rows.append(asyncio.run(_closed_loop(urls, REPLICA_CLIENTS, seconds, questions)))
    finally:
        if url:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    gain = ratio(rows[1]["per_minute"], rows[0]["per_minute"])
    console.print(table(f"Web tier, scripted LLM: one replica against two on one database ({kind}), "
                        f"{REPLICA_CLIENTS} closed-loop clients for {seconds:.0f} s",
                        ["replicas", "answers", "errors", "answers/min", "p50 ms", "p95 ms"],
                        [[r["replicas"], r["done"], r["errors"], fmt(r["per_minute"], 0),
                          fmt(r["total"]["p50"] * 1000, 0), fmt(r["total"]["p95"] * 1000, 0)] for r in rows],
                        caption=f"answers per minute, two replicas / one: {fmt(gain)} on {os.cpu_count()} cores"))
    return {"database": kind, "clients": REPLICA_CLIENTS, "seconds": seconds, "rows": rows, "gain": gain}


def run(per_minute: int = 1000, seconds: float = 60.0, questions_per_user: int = 3) -> dict:
    with index_under_test("web") as (index_dir, info):
        return {"index": info, "load": load(index_dir, per_minute, seconds),
                "replicas": replicas(index_dir, min(seconds, 30.0)),
                "concurrency": concurrency(index_dir, questions_per_user)}
