"""LLM latency on the default backend (llama.cpp, the packaged Qwen2.5-Coder-1.5B GGUF).

- ours: `Tutor.events` end to end (retrieve, choose the sources' sentences within
  TUTOR_CONTEXT_TOKENS, prompt with the byte-identical system prefix cached, stream); and
  "before": the same at BEFORE_CONTEXT_TOKENS, the old prompt's size, in the same run. Time to
  first token is the Answer's `timings['first_token']`; decode speed is streamed pieces
  (one llama.cpp token each) after the first, over `timings['generate']` (first token to
  end of stream, before support scoring).
- naive baseline, same run, same model instance: retrieve top-k, put the whole text of
  those chunks in the same answer template (same system prompt), send it straight to
  `tutor.llm.stream`, timing from before retrieval to the first piece, as ours does. It
  stops after the first piece: only its TTFT is compared. The order alternates per question.
- llama.cpp's own per-request `timings` (prompt tokens, tokens reused from the KV cache,
  generated tokens, decode tokens/s) are read off the stream by a pass-through wrapper
  around the backend's server object, when the backend has one: a cross-check of the
  piece count and the reason one prompt waits longer than another.
- cold CLI: `tutor ask --json` in a fresh process, run before this process loads the
  model; its peak RSS comes from wait4's rusage for that child alone.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from eval.bench.common import (
    clock, console, fmt, index_under_test, load_queries, quiet_libraries, ratio, summary,
    table, verdict,
)

TTFT_P50_TARGET_S = 2.0
# "before": the prompt size of the 400-character trimming this section measured at 2.34 s
# p50 (2026-11-21): its user messages averaged ~140 approx_tokens, ours at 110 about the same.
BEFORE_CONTEXT_TOKENS = 110
RSS_TARGET_MIB = 3 * 1024


def _tutor_exe() -> str:
    exe = Path(sys.executable).parent / "tutor"
    return str(exe) if exe.is_file() else (shutil.which("tutor") or "tutor")


def cli_cold(index_dir: Path, question: str) -> dict:
    """One `tutor ask --json` in a new process: wall time, cold TTFT, peak RSS."""
    cmd = [_tutor_exe(), "ask", question, "--json", "--index", str(index_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = clock()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, not all children's
        wall = clock() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    line = next((ln for ln in reversed(stdout.splitlines()) if ln.startswith("{")), None)
    payload = json.loads(line) if line else {}
    if proc.returncode != 0 or not payload:
        console.print(f"[red]`tutor ask` exited {proc.returncode}[/]: {stderr.strip()[-400:]}")
    timings = payload.get("timings", {})
    return {"cmd": " ".join(cmd[:2]) + " ... --json --index DIR", "question": question,
            "exit": proc.returncode, "wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024,
            "ttft_s": timings.get("first_token"), "total_s": timings.get("total"),
            "refused": payload.get("refused")}


class TimingsTap:
    """Pass-through around xllamacpp's Server that keeps the `timings` object llama.cpp
    puts in the last chunk of a streamed reply. Changes nothing it forwards."""

    def __init__(self, server):
        self._server = server
        self.last: dict | None = None

    def handle_chat_completions(self, body, callback=None):
        if callback is None:
            return self._server.handle_chat_completions(body)

        def tap(chunk):
            if isinstance(chunk, dict) and "timings" in chunk:
                self.last = chunk["timings"]
            return callback(chunk)

        return self._server.handle_chat_completions(body, tap)

    def __getattr__(self, name):
        return getattr(self._server, name)

    def take(self) -> dict:
        last, self.last = self.last or {}, None
        return {"prompt_tokens": last.get("prompt_n"), "cached_tokens": last.get("cache_n"),
                "generated_tokens": last.get("predicted_n"),
                "llama_decode_tok_s": last.get("predicted_per_second")}


def tap_llama(llm) -> TimingsTap | None:
    server = getattr(llm, "_server", None)
    if server is None or not hasattr(server, "handle_chat_completions"):
        return None
    llm._server = TimingsTap(server)
    return llm._server


def ask_ours(tutor, question: str, tap: TimingsTap | None = None) -> dict:
    if tap:
        tap.take()
    pieces, answer = 0, None
    for kind, payload in tutor.events(question):
        if kind == "token":
            pieces += 1
        elif kind == "done":
            answer = payload
    t = answer.timings
    decode = t.get("generate") or 0.0
    return {"ttft_s": t.get("first_token", float("nan")), "decode_s": decode, "pieces": pieces,
            "pieces_per_s": (pieces - 1) / decode if decode > 0 and pieces > 1 else float("nan"),
            "total_s": t["total"], "refused": answer.refused, **(tap.take() if tap else {})}


def naive_messages(tutor, question: str) -> list[dict]:
    from tutor.context import Source, heading

    hits = tutor.retriever.search(question, tutor.settings.top_k)
    sources = [Source(h.chunk, heading(h.chunk), h.chunk.text) for h in hits]
    return tutor.prompts.messages("answer", question=question, sources=sources)


def ask_naive(tutor, question: str, tap: TimingsTap | None = None) -> dict:
    if tap:
        tap.take()
    started = clock()
    messages = naive_messages(tutor, question)
    stream = tutor.llm.stream(messages, max_tokens=tutor.settings.max_answer_tokens,
                              temperature=tutor.settings.temperature)
    ttft = float("nan")
    for _ in stream:
        ttft = clock() - started
        break
    stream.close()  # stops decoding: only the first token is compared
    return {"ttft_s": ttft, **(tap.take() if tap else {})}


def prompt_tokens(tutor, question: str) -> int:
    """approx_tokens of the user message as the tutor's settings build it."""
    from tutor.text import approx_tokens

    prepared = tutor.prepare(question)
    return approx_tokens(tutor.answer_messages(prepared)[1]["content"])


def _questions(n: int) -> list[str]:
    entries = load_queries()
    flagged = [e["q"] for e in entries if e.get("llm")]
    rest = [e["q"] for e in entries if not e.get("llm")]
    return (flagged + rest)[:n]


def run(questions: int = 8) -> dict:
    quiet_libraries()
    from tutor.runtime import Runtime
    from tutor.config import load_settings

    qs = _questions(questions)
    with index_under_test("llm") as (index_dir, info):
        console.print("[dim]cold `tutor ask --json` in a subprocess...[/]")
        cold = cli_cold(index_dir, qs[0])
        started = clock()
        tutor = Runtime(load_settings(index_dir=index_dir)).tutor
        load_s = clock() - started
        started = clock()
        tutor.warm_up()
        warm_s = clock() - started
        tap = tap_llama(tutor.llm)
        default = tutor.settings
        before = default.model_copy(update={"context_tokens": BEFORE_CONTEXT_TOKENS})
        rows = []
        # Each variant asks a different question in a round and the order rotates, so no
        # request finds the previous one's sources in llama.cpp's prompt cache.
        for i in range(len(qs)):
            row = {}
            for k in (0, 1, 2) if i % 2 == 0 else (2, 1, 0):
                q = qs[(i + k * (len(qs) // 3 or 1)) % len(qs)]
                console.print(f"[dim]{i + 1}/{len(qs)} {('ours', 'before', 'naive')[k]}: {q}[/]")
                if k == 2:
                    row["naive"] = ask_naive(tutor, q, tap)
                    continue
                tutor.settings = default if k == 0 else before
                row["question" if k == 0 else "question_before"] = q
                row["ours" if k == 0 else "before"] = ask_ours(tutor, q, tap)
                row["prompt_tokens_est" if k == 0 else "prompt_tokens_est_before"] = prompt_tokens(tutor, q)
            tutor.settings = default
            rows.append(row)
        tutor.llm.close()
    return _report(rows, cold, info, load_s, warm_s, tutor.llm.name)


def _answered(result: dict) -> bool:
    # a question the retrieval gate refused never reaches the model (its "first token" is
    # the canned refusal), so it is left out of time to first token
    return result["decode_s"] > 0 or result["pieces"] > 1


def _report(rows, cold, info, load_s, warm_s, backend) -> dict:
    ours = summary([r["ours"]["ttft_s"] for r in rows if _answered(r["ours"])])
    before = summary([r["before"]["ttft_s"] for r in rows if _answered(r["before"])])
    naive = summary([r["naive"]["ttft_s"] for r in rows if r["naive"]["ttft_s"] == r["naive"]["ttft_s"]])
    answered = [r for r in rows if _answered(r["ours"])]
    pieces = sum(r["ours"]["pieces"] - 1 for r in answered if r["ours"]["pieces"] > 1)
    decode = sum(r["ours"]["decode_s"] for r in answered if r["ours"]["pieces"] > 1)
    rate = pieces / decode if decode else float("nan")
    r50, r95 = ratio(ours["p50"], naive["p50"]), ratio(ours["p95"], naive["p95"])
    llama_rates = [r["ours"]["llama_decode_tok_s"] for r in answered if r["ours"].get("llama_decode_tok_s")]
    llama_rate = statistics.median(llama_rates) if llama_rates else float("nan")
    tokens = statistics.mean([r["prompt_tokens_est"] for r in rows]) if rows else float("nan")
    tokens_before = statistics.mean([r["prompt_tokens_est_before"] for r in rows]) if rows else float("nan")
    build = llama_build()
    console.print(table(
        f"Per round ({backend}; ours streams the whole answer, naive stops at its first token; "
        "each variant asks a different question)",
        ["ours: question", "TTFT ours s", "TTFT before s", "TTFT naive s", "ours prompt tok new+cached",
         "pieces/tokens", "pieces/s"],
        [[r["question"][:40] + _status(r, answered), r["ours"]["ttft_s"], r["before"]["ttft_s"],
          r["naive"]["ttft_s"], f"{fmt(r['ours'].get('prompt_tokens'))}+{fmt(r['ours'].get('cached_tokens'))}",
          f"{r['ours']['pieces']}/{fmt(r['ours'].get('generated_tokens'))}",
          fmt(r["ours"]["pieces_per_s"], 1)] for r in rows]))
    console.print(table("Time to first token, s (warm model)", ["", "n", "p50", "p95", "mean"], [
        [f"ours: Tutor.events, TUTOR_CONTEXT_TOKENS default (~{tokens:.0f} tokens of user message)",
         ours["n"], ours["p50"], ours["p95"], ours["mean"]],
        [f"before: the same at {BEFORE_CONTEXT_TOKENS} (~{tokens_before:.0f} tokens, the old prompt's size)",
         before["n"], before["p50"], before["p95"], before["mean"]],
        ["naive prompt (whole top-k chunks)", naive["n"], naive["p50"], naive["p95"], naive["mean"]],
        ["ratio ours / naive", "", r50, r95, ratio(ours["mean"], naive["mean"])],
        ["ratio ours / before", "", ratio(ours["p50"], before["p50"]), ratio(ours["p95"], before["p95"]),
         ratio(ours["mean"], before["mean"])]]))
    console.print(table("Decoding and process", ["", "value"], [
        ["decode speed, ours (streamed pieces/s after the first)", fmt(rate, 1)],
        ["decode speed, ours, llama.cpp's own count (median tok/s)", fmt(llama_rate, 1)],
        ["llama.cpp build's wider instruction sets (`make native`)", build],
        ["torch imported in this process", str("torch" in sys.modules)],
        ["model + index + embedder load in this process, s", fmt(load_s)],
        ["warm_up() (system prefix prefill), s", fmt(warm_s)],
        ["cold `tutor ask --json`: TTFT from its timings, s", fmt(cold["ttft_s"])],
        ["cold `tutor ask --json`: wall time incl. model load, s", fmt(cold["wall_s"])],
        ["cold `tutor ask --json`: peak RSS, MiB", fmt(cold["peak_rss_mib"], 0)],
        ["cold `tutor ask --json`: exit status", str(cold["exit"])]]))
    ttft_ok = ours["p50"] <= TTFT_P50_TARGET_S
    rss_ok = cold["exit"] == 0 and cold["peak_rss_mib"] < RSS_TARGET_MIB
    console.print(table("Targets (reported, never enforced)", ["target", "measured", "result"], [
        [f"TTFT p50 <= {TTFT_P50_TARGET_S} s", f"{fmt(ours['p50'])} s", verdict(ttft_ok)],
        ["`tutor ask` peak RSS < 3 GB (3072 MiB)", f"{cold['peak_rss_mib']:.0f} MiB", verdict(rss_ok)]]))
    return {"backend": backend, "index": info, "questions": rows, "answered": len(answered),
            "ttft_s": {"ours": ours, "before": before, "naive": naive, "ratio_p50": r50, "ratio_p95": r95},
            "prompt_tokens_est": {"ours": tokens, "before": tokens_before},
            "decode_pieces_per_s": rate, "decode_llama_tok_s_median": llama_rate,
            "llama_build": build, "torch_loaded": "torch" in sys.modules,
            "load_s": load_s, "warm_up_s": warm_s, "cli_cold": cold,
            "targets": {"ttft_p50_le_2s": ttft_ok, "peak_rss_lt_3gb": rss_ok}}


def llama_build() -> str:
    """Which of AVX2, AVX-512 and VNNI the installed llama.cpp was compiled for: PyPI's
    wheel is AVX2 only, `make native` adds what this CPU has; prompts read faster with them."""
    from tutor.llm.llamacpp import installed_features

    if (built := installed_features()) is None:
        return "n/a"
    return ", ".join(sorted(f for f in built if f.startswith(("AVX2", "AVX512", "AVX_VNNI")))) or "none"


def _status(row: dict, answered: list[dict]) -> str:
    if row not in answered:
        return " (refused by the gate: not in TTFT)"
    return " (answer flagged refused)" if row["ours"]["refused"] else ""
