"""Answers under concurrency, per LLM backend that runs here, from one run.

For each backend the whole answer path (`Tutor.events`: retrieve, choose sources, prompt,
stream, support) is driven by `c` threads at once, c = 1, 2, 4, each thread asking its own
questions back to back. Reported per level: time to first token p50/p95, system tokens per
second (streamed pieces of all answers over the level's wall time), answers per minute, and
the ratio of tokens per second against c = 1 of the same backend in the same run.

- llamacpp: the in-process default, the packaged Qwen2.5-Coder-1.5B with `TUTOR_LLM_PARALLEL`
  slots (llama.cpp decodes the slots' tokens in one batch).
- openai: llama.cpp's own HTTP server (xllamacpp's Server listening on loopback, in a child
  process, the same model, threads and slots) behind the `openai` backend, as a `vllm serve`
  would be on a GPU machine.
- vllm-cpu: vLLM's OpenAI server (eval/bench/vllm_cpu.py, `make vllm-cpu`) on the same model
  dequantized to bf16, behind the `openai` backend; skipped, with the reason, where that venv
  or checkpoint is missing. Started only after the other two are done and stopped at the end:
  while it is resident it holds CPU and memory the others would measure without.

On 2 cores decoding is compute-bound: batching raises tokens per second by a bounded
factor (a probe measured 1.35x at 4 slots), so more answers per minute come from replicas
and GPUs. The fairness check: time to first token p95 at c = 4 at most 3x its p50 (no
request starves behind the others).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from eval.bench.llm import ask_ours
from eval.bench.common import (
    clock, console, fmt, free_port, index_under_test, load_queries, percentile, quiet_libraries, table,
    verdict,
)

LEVELS = (1, 2, 4)
SPEEDUP_TARGET = 1.3  # tokens per second at c = 4 over c = 1
FAIRNESS_TARGET = 3.0  # TTFT p95 / p50 at c = 4

SERVER = """
import sys, time, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.n_ctx, params.n_parallel, params.port = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[2])
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = int(sys.argv[5])
params.cache_prompt, params.warmup, params.verbosity = True, False, -1
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
while True:
    time.sleep(1)
"""


def _questions() -> list[str]:
    return [e["q"] for e in load_queries()]


def level(tutor, questions: list[str], c: int, per_thread: int) -> dict:
    """c threads, each asking `per_thread` questions back to back (none shared)."""
    work = [questions[(t * per_thread + k) % len(questions)] for t in range(c) for k in range(per_thread)]
    started = clock()
    with ThreadPoolExecutor(max_workers=c) as pool:
        rows = list(pool.map(lambda q: ask_ours(tutor, q), work, chunksize=per_thread))
    wall = clock() - started
    ttfts = [r["ttft_s"] for r in rows if not r["refused"]]
    pieces = sum(r["pieces"] for r in rows)
    return {"concurrency": c, "answers": len(rows), "refused": sum(r["refused"] for r in rows),
            "wall_s": wall, "ttft_p50_s": percentile(ttfts, 50), "ttft_p95_s": percentile(ttfts, 95),
            "tok_s": pieces / wall, "answers_per_min": 60 * len(rows) / wall}


def run_backend(tutor, name: str, questions: list[str], per_thread: int) -> list[dict]:
    tutor.warm_up()
    ask_ours(tutor, questions[-1])  # the system prefix into every slot's cache path, as in service
    rows = []
    for c in LEVELS:
        console.print(f"[dim]{name}: concurrency {c}...[/]")
        rows.append(level(tutor, questions, c, per_thread) | {"backend": name})
    base = rows[0]["tok_s"]
    for row in rows:
        row["tok_s_ratio"] = row["tok_s"] / base if base else float("nan")
    return rows


def _server(model: str, settings) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, model, str(port), str(settings.n_ctx),
                             str(settings.llm_parallel), str(settings.llm_threads)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    if not address.startswith("http://"):
        proc.kill()
        raise RuntimeError("llama.cpp's server did not start")
    return proc, f"{address}/v1"


def run(per_thread: int = 3) -> dict:
    quiet_libraries()
    from eval.bench import vllm_cpu
    from tutor.runtime import Runtime
    from tutor.config import load_settings
    from tutor.llm import default_model

    questions = _questions()
    rows, notes = [], {}
    with index_under_test("concurrency") as (index_dir, info):
        settings = load_settings(index_dir=index_dir)
        tutor = Runtime(settings).tutor
        rows += run_backend(tutor, "llamacpp", questions, per_thread)
        tutor.llm.close()
        del tutor
        proc, url = _server(str(default_model(settings)), settings)
        try:
            remote = load_settings(index_dir=index_dir, llm_backend="openai", openai_base_url=url,
                                   openai_read_timeout=120.0)
            rows += run_backend(Runtime(remote).tutor, "openai (llama.cpp server)", questions, per_thread)
        finally:
            proc.kill()
            proc.wait(10)
        why = vllm_cpu.missing()
        if why:
            notes["skipped"] = {"vllm-cpu": why}
            console.print(f"[yellow]vllm-cpu skipped: {why}[/]")
        else:
            console.print("[dim]vllm-cpu: starting vLLM's server (minutes on a CPU)...[/]")
            started = clock()
            with vllm_cpu.vllm_server(vllm_cpu.free_port()) as url:
                start_s = clock() - started
                remote = load_settings(index_dir=index_dir, llm_backend="openai", openai_base_url=url,
                                       openai_model=vllm_cpu.SERVED_NAME, openai_read_timeout=300.0)
                tutor = Runtime(remote).tutor
                try:
                    rows += run_backend(tutor, "openai (vllm-cpu server)", questions, per_thread)
                finally:
                    tutor.llm.close()
            console.print(f"[dim]vllm-cpu: server started in {start_s:.0f} s, stopped[/]")
            notes["vllm_server_start_s"] = round(start_s, 1)
    return _report(rows, info, settings, notes)


def _report(rows: list[dict], info: dict, settings, notes: dict) -> dict:
    console.print(table(
        f"Answers under concurrency ({settings.llm_parallel} slots, {settings.llm_threads} threads, "
        f"{os.cpu_count()} cores)",
        ["backend", "c", "answers", "TTFT p50 s", "TTFT p95 s", "tok/s", "x c=1", "answers/min"],
        [[r["backend"], r["concurrency"], r["answers"], fmt(r["ttft_p50_s"]), fmt(r["ttft_p95_s"]),
          fmt(r["tok_s"], 1), fmt(r["tok_s_ratio"]), fmt(r["answers_per_min"], 1)] for r in rows]))
    checks = {}
    for backend in dict.fromkeys(r["backend"] for r in rows):
        top = next(r for r in rows if r["backend"] == backend and r["concurrency"] == LEVELS[-1])
        fairness = top["ttft_p95_s"] / top["ttft_p50_s"] if top["ttft_p50_s"] else float("nan")
        checks[backend] = {"speedup": top["tok_s_ratio"], "ttft_p95_over_p50": fairness}
        console.print(f"{backend}: tokens/s at c={LEVELS[-1]} {fmt(top['tok_s_ratio'])}x c=1 "
                      f"(target >= {SPEEDUP_TARGET}) {verdict(top['tok_s_ratio'] >= SPEEDUP_TARGET)}; "
                      f"TTFT p95/p50 {fmt(fairness)} (target <= {FAIRNESS_TARGET}) "
                      f"{verdict(fairness <= FAIRNESS_TARGET)}")
    return {"index": info, "slots": settings.llm_parallel, "threads": settings.llm_threads,
            "levels": rows, "checks": checks, **notes}
