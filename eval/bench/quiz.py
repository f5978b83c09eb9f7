"""Quiz generation with the packaged model: how many candidates pass validation, why the
others are rejected, and the seconds spent per valid item.

- ours: `tutor.quiz.bank.build_stage` on one stage: one item per call, JSON-schema
  constrained output (llama.cpp grammar), failed mcq wrong options replaced
  (tutor/quiz/distractors.py; "repaired" counts those items), validated against its
  source chunk.
- baseline, same run, same model instance, same sources and prompt: the reply is not
  grammar-constrained (the LLM seam's fallback: ask for JSON, parse the first object),
  then validated the same way. The ratio shows what constrained decoding buys.
Each side writes to its own temporary database, so neither sees the other's items as
duplicates.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from eval.bench.common import clock, console, fmt, index_under_test, quiet_libraries, ratio, table, verdict

PASS_TARGET = 0.8


class _NoGrammar:
    """Wraps a backend: text as usual, but `json` without the schema grammar."""

    def __init__(self, llm):
        self._llm = llm
        self.name = f"{llm.name}/no-grammar"

    def __getattr__(self, name):
        return getattr(self._llm, name)

    def json(self, messages, schema, **opts):
        from tutor.llm.base import parse_json_object

        text = self._llm.complete(messages, max_tokens=opts.get("max_tokens", 320),
                                  temperature=opts.get("temperature", 0.0)).text
        return parse_json_object(text, self.name)


def _side(tutor, stage: int, items: int, folder: Path, label: str) -> dict:
    from tutor.db import make_engine
    from tutor.quiz.bank import build_stage

    engine = make_engine(f"sqlite:///{folder / f'{label}.db'}")
    console.print(f"[dim]{label}: {items} candidates from stage {stage}...[/]")
    started = clock()
    report = build_stage(tutor, engine, stage, per_stage=items, max_candidates=items)
    return {"candidates": report.candidates, "accepted": report.accepted, "pass_rate": report.pass_rate,
            "repaired": report.repaired,
            "seconds": clock() - started, "seconds_per_valid": report.seconds_per_valid,
            "reasons": dict(report.reasons)}


def run(items: int = 12, stage: int = 2) -> dict:
    quiet_libraries()
    from tutor.runtime import Runtime
    from tutor.config import load_settings

    with index_under_test("quiz") as (index_dir, info), tempfile.TemporaryDirectory() as tmp:
        started = clock()
        tutor = Runtime(load_settings(index_dir=index_dir)).tutor
        load_s = clock() - started
        baseline_tutor = copy.copy(tutor)
        baseline_tutor.llm = _NoGrammar(tutor.llm)
        ours = _side(tutor, stage, items, Path(tmp), "ours")
        baseline = _side(baseline_tutor, stage, items, Path(tmp), "baseline")
        backend = tutor.llm.name
        tutor.llm.close()
    rows = [[name, side["candidates"], side["accepted"], f"{side['pass_rate']:.0%}", side["repaired"],
             side["seconds_per_valid"] if side["seconds_per_valid"] is not None else None,
             ", ".join(f"{r} {n}" for r, n in sorted(side["reasons"].items(), key=lambda kv: -kv[1])) or "-"]
            for name, side in (("ours (schema-constrained)", ours), ("baseline (no grammar)", baseline))]
    console.print(table(f"Quiz generation, stage {stage} ({backend})",
                        ["side", "candidates", "accepted", "pass", "repaired", "s / valid item", "rejections"], rows))
    pass_ratio = ratio(ours["pass_rate"], baseline["pass_rate"])
    console.print(f"pass share ours/baseline: {fmt(pass_ratio)}x; target >= {PASS_TARGET:.0%} passing: "
                  f"{verdict(ours['pass_rate'] >= PASS_TARGET)} (model load {load_s:.1f}s)")
    return {"index": info, "backend": backend, "stage": stage, "ours": ours, "baseline": baseline,
            "pass_ratio": pass_ratio, "model_load_s": load_s}
