"""The web tier under load, with its admission limits in place (tutor/api/limits.py).

`tutor serve --backend fake` in its own process: the scripted extractive LLM, so what is
measured is the web tier itself (admission, retrieval with the real embedder, support
scoring, SQLite), not the model. The driver plays the reverse proxy: the server trusts
127.0.0.1 (TUTOR_TRUSTED_PROXIES) and each request names one of CLIENTS client addresses
and one of LEARNERS learners, so per-address and per-learner limits see a crowd, not one
user. Questions go to /api/chat (streamed to the end, 3 in 4) and /v1/chat/completions.

1. Sustained: open loop at --load-per-minute (1000) for --load-seconds (300) with the
   product's default rate limits (the generation queue widened: the scripted LLM costs nothing). Target: 0 errors (any non-200, error event or transport error).
2. Overload at 5x: the service ceiling set to CEILING questions per WINDOW s (the admitted
   capacity), driven first at 1x (the baseline, same run) and then at 5x. Targets: refusals
   (429 Retry-After) answer within 100 ms; admitted questions keep their latency (p50 and
   p95 ratio to the 1x baseline); the admitted rate stays at the ceiling.
3. Queue full at 5x: two generation slots and no waiting room, the scripted LLM made to take
   time (TUTOR_FAKE_DELAY), driven at 5x the rate the slots complete (measured closed-loop
   just before) after a baseline at half of it. Target: the excess gets 503 within 100 ms,
   admitted answers keep their latency.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

import httpx

from eval.bench.web import Served
from eval.bench.common import clock, console, index_under_test, load_queries, percentile, ratio, summary, table, verdict

CLIENTS, LEARNERS = 200, 400
CEILING, WINDOW = 5, 1  # the overload phase's admitted capacity: 5 per second = 300/min (short windows: small bursts)
ROUNDS = 4  # 1x and 5x segments alternate this many times
FAST = 0.100  # seconds a refusal may take
# The scripted LLM costs nothing, so the generation queue (sized for a model: 2 slots) is
# widened in the sustained run; the rate limits keep their defaults.
SUSTAINED_ENV = {"TUTOR_GENERATION_SLOTS": "32", "TUTOR_GENERATION_QUEUE": "64"}
SLOTS, PIECE_DELAY = 2, 0.02  # the queue phase: 2 slots, no waiting room, a model that takes time


def served(index_dir: Path, db_dir: str, env: dict[str, str]) -> Served:
    """`tutor serve --backend fake` with the given TUTOR_* overrides behind a trusted proxy
    (the bench sends X-Forwarded-For: a crowd of addresses), default limits otherwise."""
    return Served(index_dir, "fake", db_dir, {"TUTOR_TRUSTED_PROXIES": '["127.0.0.1"]', **env})


def _request(n: int, question: str) -> tuple[str, dict, dict]:
    """Route, body and headers of the n-th request: a crowd of addresses and learners."""
    rng = random.Random(n)
    headers = {"X-Forwarded-For": f"10.{rng.randrange(1, 3)}.{rng.randrange(CLIENTS)}.7"}
    learner = f"load-{rng.randrange(LEARNERS)}"
    if n % 4 == 3:
        return "/v1/chat/completions", {"messages": [{"role": "user", "content": question}], "user": learner}, headers
    return "/api/chat", {"message": question, "learner_id": learner}, headers


async def _one(client: httpx.AsyncClient, n: int, question: str) -> dict:
    """{status, head: s to the status line, total: s to the end, error: None or why}."""
    route, body, headers = _request(n, question)
    started = clock()
    try:
        async with client.stream("POST", route, json=body, headers=headers) as response:
            head = clock() - started
            if response.status_code != 200:
                await response.aread()
                return {"status": response.status_code, "head": head, "total": clock() - started,
                        "error": f"HTTP {response.status_code}", "retry_after": response.headers.get("retry-after")}
            errored = None
            async for line in response.aiter_lines():
                if line.startswith("event: error") or line.startswith('data: {"error"'):
                    errored = "error event"
            return {"status": 200, "head": head, "total": clock() - started, "error": errored}
    except httpx.HTTPError as exc:
        return {"status": None, "head": None, "total": clock() - started, "error": type(exc).__name__}


async def drive(url: str, per_minute: float, seconds: float, questions: list[str], offset: int = 0,
                raw: bool = False):
    """Open loop: request n leaves at n * 60/per_minute s, whatever the answers before it do."""
    interval = 60.0 / per_minute
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        tasks, n, started = [], 0, clock()
        while (elapsed := clock() - started) < seconds:
            if elapsed < n * interval:
                await asyncio.sleep(n * interval - elapsed)
            tasks.append(asyncio.create_task(_one(client, offset + n, questions[(offset + n) % len(questions)])))
            n += 1
        results = await asyncio.gather(*tasks)
        wall = clock() - started
    return (results, wall) if raw else _tally(results, wall, per_minute)


def alternate(url: str, per_minute: tuple[float, float], seconds: float, questions: list[str],
              rest: float = 0.0, rounds: int = ROUNDS) -> tuple[dict, dict]:
    """1x and 5x in alternating segments (seconds/rounds each), pooled per rate: the machine
    is shared, and interleaving keeps a drift in its load out of the ratio."""
    pooled: tuple[list, list] = ([], [])
    walls = [0.0, 0.0]
    for r in range(rounds):
        for side in (0, 1):
            if rest:
                time.sleep(rest)  # the previous segment's counts leave the sliding window
            run = asyncio.run(drive(url, per_minute[side], seconds / rounds, questions,
                                    offset=(1 + side) * 10**5 + r * 10**4, raw=True))
            pooled[side].extend(run[0])
            walls[side] += run[1]
    return (_tally(pooled[0], walls[0], per_minute[0]), _tally(pooled[1], walls[1], per_minute[1]))


def _tally(results: list[dict], wall: float, per_minute: float) -> dict:
    ok = [r for r in results if r["status"] == 200 and r["error"] is None]
    refused = [r for r in results if r["status"] in (429, 503)]
    other = [r for r in results if not (r["status"] == 200 and r["error"] is None) and r["status"] not in (429, 503)]
    fast = [r for r in refused if r["head"] is not None and r["head"] <= FAST]
    return {"offered_per_minute": per_minute, "sent": len(results), "seconds": round(wall, 1),
            "ok": len(ok), "refused": len(refused), "errors": len(other),
            "error_kinds": sorted({str(r["error"]) for r in other}),
            "refused_429": sum(r["status"] == 429 for r in refused), "refused_503": sum(r["status"] == 503 for r in refused),
            "admitted_per_minute": len(ok) / wall * 60, "refused_within_100ms": len(fast),
            "refusal_head": {**summary([r["head"] for r in refused]),
                             "p99": percentile([r["head"] for r in refused], 99),
                             "max": max((r["head"] for r in refused), default=float("nan"))},
            "admitted_total": summary([r["total"] for r in ok]),
            "retry_after_present": all(r.get("retry_after") for r in refused)}


def warm(url: str, questions: list[str]) -> None:
    """Create the learners (a "what next" question names one) and warm caches and connections."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for n in range(LEARNERS):
            client.put(f"/api/learners/load-{n}", json={}).raise_for_status()
    asyncio.run(drive(url, 300, 5, questions, offset=10**6))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sustained(index_dir: Path, per_minute: int, seconds: float, questions: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as db_dir, served(index_dir, db_dir, SUSTAINED_ENV) as server:
        warm(server.url, questions)
        cpu = cpu_seconds(server.proc.pid)
        run = asyncio.run(drive(server.url, per_minute, seconds, questions))
        run["server_cpu_ms_per_answer"] = (cpu_seconds(server.proc.pid) - cpu) / max(run["ok"], 1) * 1000
    run["load_avg_1m_after"] = os.getloadavg()[0]
    t = run["admitted_total"]
    console.print(table(f"Sustained: {per_minute}/min for {seconds:.0f} s, default limits, scripted LLM",
                        ["sent", "ok", "refused", "errors", "done/min", "answer p50 ms", "p95 ms",
                         "server CPU ms/answer", "1-min load after"],
                        [[run["sent"], run["ok"], run["refused"], run["errors"], run["admitted_per_minute"],
                          t["p50"] * 1000, t["p95"] * 1000, run["server_cpu_ms_per_answer"], run["load_avg_1m_after"]]],
                        caption=f"{CLIENTS} client addresses and {LEARNERS} learners behind a trusted proxy "
                                "(X-Forwarded-For); the web tier, retrieval and SQLite are measured, not the model"))
    return run


def overload(index_dir: Path, seconds: float, questions: list[str]) -> dict:
    env = {"TUTOR_RATE_LIMIT_GLOBAL": str(CEILING), "TUTOR_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
           "TUTOR_GENERATION_SLOTS": "8", "TUTOR_GENERATION_QUEUE": "64"}
    capacity = CEILING * 60 / WINDOW
    with tempfile.TemporaryDirectory() as db_dir, served(index_dir, db_dir, env) as server:
        warm(server.url, questions)
        base, over = alternate(server.url, (capacity * 0.9, capacity * 5), seconds, questions, rest=2 * WINDOW)
    return {"capacity_per_minute": capacity, "baseline": base, "at_5x": over,
            "p50_ratio": ratio(over["admitted_total"]["p50"], base["admitted_total"]["p50"]),
            "p95_ratio": ratio(over["admitted_total"]["p95"], base["admitted_total"]["p95"])}


async def _closed_loop(url: str, clients: int, seconds: float, questions: list[str]) -> float:
    """Completions per minute of `clients` asking back to back: what the slots complete."""
    async def one_client(k: int) -> int:
        done = 0
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            while clock() - started < seconds:
                result = await _one(client, 2 * 10**6 + 1000 * k + done, questions[(k + done) % len(questions)])
                done += result["status"] == 200
        return done

    started = clock()
    counts = await asyncio.gather(*(one_client(k) for k in range(clients)))
    return sum(counts) / (clock() - started) * 60


def queue_full(index_dir: Path, seconds: float, questions: list[str]) -> dict:
    env = {"TUTOR_GENERATION_SLOTS": str(SLOTS), "TUTOR_GENERATION_QUEUE": "0", "TUTOR_FAKE_DELAY": str(PIECE_DELAY),
           "TUTOR_RATE_LIMIT_GLOBAL": "0", "TUTOR_RATE_LIMIT_PER_ADDRESS": "0", "TUTOR_RATE_LIMIT_PER_LEARNER": "0"}
    with tempfile.TemporaryDirectory() as db_dir, served(index_dir, db_dir, env) as server:
        warm(server.url, questions)
        capacity = asyncio.run(_closed_loop(server.url, SLOTS, min(seconds, 20), questions))
        base, over = alternate(server.url, (capacity * 0.5, capacity * 5), seconds, questions)
    return {"capacity_per_minute": capacity, "baseline": base, "at_5x": over,
            "p50_ratio": ratio(over["admitted_total"]["p50"], base["admitted_total"]["p50"]),
            "p95_ratio": ratio(over["admitted_total"]["p95"], base["admitted_total"]["p95"])}


def _overload_rows(name: str, data: dict) -> list[list]:
    rows = []
    for label, run in (("baseline", data["baseline"]), ("5x", data["at_5x"])):
        h, t = run["refusal_head"], run["admitted_total"]
        rows.append([name, label, run["offered_per_minute"], run["sent"], run["ok"], run["refused"], run["errors"],
                     run["admitted_per_minute"], t["p50"] * 1000, t["p95"] * 1000,
                     h["p95"] * 1000 if h["n"] else "-", h["max"] * 1000 if h["n"] else "-"])
    return rows


def run(per_minute: int = 1000, seconds: float = 300.0, overload_seconds: float = 60.0) -> dict:
    questions = [q["q"] for q in load_queries()]
    with index_under_test("load") as (index_dir, info):
        steady = sustained(index_dir, per_minute, seconds, questions)
        limited = overload(index_dir, overload_seconds, questions)
        queued = queue_full(index_dir, overload_seconds, questions)
    console.print(table("Overload: 5x the admitted capacity (scripted LLM)",
                        ["limit", "run", "offered/min", "sent", "ok", "refused", "errors", "admitted/min",
                         "admitted p50 ms", "p95 ms", "refusal p95 ms", "refusal max ms"],
                        _overload_rows(f"ceiling {CEILING}/{WINDOW}s (429)", limited)
                        + _overload_rows(f"{SLOTS} slots, no queue (503)", queued),
                        caption=f"baseline: the same server under its capacity, in this run; the queue phase's "
                                f"scripted LLM waits {PIECE_DELAY * 1000:.0f} ms a piece, its capacity "
                                f"({queued['capacity_per_minute']:.0f}/min) measured closed-loop just before"))
    checks = [
        [f"{per_minute}/min for {seconds:.0f} s: 0 errors", f"{steady['errors']} errors {steady['error_kinds']}, "
         f"{steady['refused']} refused of {steady['sent']}", verdict(steady["errors"] == 0 and steady["refused"] == 0)],
    ]
    for name, data, status in (("ceiling", limited, "429"), ("queue", queued, "503")):
        over = data["at_5x"]
        checks.append([f"{name} at 5x: excess gets {status} within 100 ms",
                       f"{over['refused_within_100ms']}/{over['refused']} within 100 ms "
                       f"(p99 {over['refusal_head']['p99'] * 1000:.0f} ms), Retry-After on all: {over['retry_after_present']}",
                       verdict(over["refused"] > 0 and over["refused_within_100ms"] == over["refused"]
                               and over["errors"] == 0)])
        checks.append([f"{name} at 5x: admitted keep their latency", f"p50 x{data['p50_ratio']:.2f}, "
                       f"p95 x{data['p95_ratio']:.2f} of the baseline", verdict(data["p95_ratio"] <= 1.5)])
    console.print(table("Targets (reported, not enforced)", ["target", "measured", ""], checks,
                        caption="the admitted-latency target is read as p95 within 1.5x of the 1x baseline"))
    return {"index": info, "sustained": steady, "overload_ceiling": limited, "overload_queue": queued}
