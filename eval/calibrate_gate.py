"""Calibrate the retrieval-support gate (tutor.gate.REFUSAL_THRESHOLD) on a dev set.

    python -m eval.calibrate_gate [--index DIR] [--dev eval/gold/gate_dev.yaml] [--write]

For every dev question the gate statistic is computed exactly as `Tutor.prepare` does:
the maximum `hit.dense` (cosine between question and chunk) over
`Retriever.search(question, settings.top_k)`, the fused dense+BM25 hits; no hits counts as
-inf (always refused). A question is refused when that statistic is below the threshold.

The threshold chosen maximises balanced accuracy, (TPR on answerable + TNR on off-roadmap)/2.
Balanced accuracy is constant between consecutive observed statistics, so the candidates
are intervals; among the best ones the widest contiguous interval wins and the threshold is
its middle (the farthest point from both classes' nearest errors). The value recorded in
tutor/data/calibration.json (read by tutor/gate.py) is that middle rounded to 2 decimals,
and its own figures are printed too.

Without --index the shipped corpus is indexed into a temporary directory first. With
--write, the value and what it was fitted on are recorded in tutor/data/calibration.json
(tutor/gate.py reads REFUSAL_THRESHOLD from there).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEV_FILE = REPO / "eval" / "gold" / "gate_dev.yaml"
KNOWN_ISSUES = ["What should I study in weeks 5 and 6?"]


@dataclass
class Scored:
    question: str
    answerable: bool
    stat: float  # max dense cosine over the gate's hits; -inf when nothing was retrieved
    top_docs: list[str]


@dataclass
class Outcome:
    threshold: float
    balanced_accuracy: float
    false_refusals: list[Scored]  # answerable but stat < threshold
    false_accepts: list[Scored]  # off-roadmap but stat >= threshold


def load_dev(path: Path) -> tuple[list[str], list[str]]:
    data = yaml.safe_load(path.read_text())
    answerable = [item["question"] for item in data["answerable"]]
    off = [q if isinstance(q, str) else q["question"] for q in data["off_roadmap"]]
    return answerable, off


def gate_statistic(retriever, embedder, question: str, top_k: int) -> tuple[float, list[str]]:
    """The number Tutor.prepare compares with the threshold (same calls, same order)."""
    qv = embedder.encode_one(question)
    hits = retriever.search(question, top_k, query_vector=qv)
    if not hits:
        return -math.inf, []
    return max(h.dense for h in hits), [h.chunk.doc_id for h in hits]


def evaluate(scored: list[Scored], threshold: float) -> Outcome:
    pos = [s for s in scored if s.answerable]
    neg = [s for s in scored if not s.answerable]
    false_refusals = [s for s in pos if s.stat < threshold]
    false_accepts = [s for s in neg if s.stat >= threshold]
    tpr = 1 - len(false_refusals) / len(pos) if pos else 1.0
    tnr = 1 - len(false_accepts) / len(neg) if neg else 1.0
    return Outcome(threshold, (tpr + tnr) / 2, false_refusals, false_accepts)


def best_threshold(scored: list[Scored]) -> tuple[float, float, float]:
    """(threshold, lo, hi): the middle of the widest contiguous interval of thresholds with
    maximal balanced accuracy; any t in (lo, hi] classifies the dev set identically."""
    values = sorted({s.stat for s in scored if math.isfinite(s.stat)})
    if len(values) < 2:
        raise SystemExit("need at least two distinct gate statistics to calibrate")
    # Threshold t in (values[i], values[i+1]] refuses exactly the statistics <= values[i].
    gaps = [(values[i], values[i + 1]) for i in range(len(values) - 1)]
    accs = [evaluate(scored, hi).balanced_accuracy for _, hi in gaps]
    best = max(accs)
    runs: list[tuple[float, float]] = []
    i = 0
    while i < len(gaps):
        if math.isclose(accs[i], best):
            j = i
            while j + 1 < len(gaps) and math.isclose(accs[j + 1], best):
                j += 1
            runs.append((gaps[i][0], gaps[j][1]))
            i = j + 1
        else:
            i += 1
    lo, hi = max(runs, key=lambda r: r[1] - r[0])
    return (lo + hi) / 2, lo, hi


def distribution(values: list[float]) -> list[float]:
    finite = [v for v in values if math.isfinite(v)] or [math.nan]
    return [float(np.min(finite)), float(np.percentile(finite, 10)), float(np.median(finite)),
            float(np.percentile(finite, 90)), float(np.max(finite))]


def write_threshold(value: float, dev_name: str, accuracy: float, n_pos: int, n_neg: int) -> None:
    """Record the calibrated gate in tutor/data/calibration.json, with what it was fitted on."""
    from tutor.calibration import record

    record("refusal_threshold", round(value, 2), how="python -m eval.calibrate_gate --write",
           dev_set=f"{dev_name} ({n_pos} answerable vs {n_neg} off-roadmap questions)",
           balanced_accuracy=round(accuracy, 3))


def _fmt(values: list[float]) -> str:
    return "  ".join(f"{v:6.3f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate_gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="index directory (default: build the shipped corpus into a temp dir)")
    parser.add_argument("--dev", type=Path, default=DEV_FILE, help="dev set YAML (answerable + off_roadmap)")
    parser.add_argument("--write", action="store_true", help="record the calibrated value in tutor/data/calibration.json")
    parser.add_argument("--probe", action="append", default=[], help="also print the statistic of this question")
    args = parser.parse_args(argv)

    from tutor.gate import REFUSAL_THRESHOLD
    from tutor.config import load_settings
    from tutor.retrieve import Retriever
    from tutor.runtime import Runtime

    tmp = None
    if args.index is None:
        from ingest.build import build_index

        tmp = tempfile.TemporaryDirectory(prefix="calibrate-gate-")
        runtime = Runtime(load_settings(index_dir=Path(tmp.name) / "index"))
        settings, embedder = runtime.settings, runtime.embedder
        print(f"building the shipped-corpus index in {settings.index_dir} ...", file=sys.stderr)
        report = build_index(settings, embedder=embedder)
        print(f"  {report.chunks} chunks, version {report.version}", file=sys.stderr)
    else:
        runtime = Runtime(load_settings(index_dir=args.index))
        settings, embedder = runtime.settings, runtime.embedder
    try:
        retriever = Retriever(runtime.index, embedder)
        answerable, off = load_dev(args.dev)
        scored = []
        for q in answerable:
            stat, docs = gate_statistic(retriever, embedder, q, settings.top_k)
            scored.append(Scored(q, True, stat, docs))
        for q in off:
            stat, docs = gate_statistic(retriever, embedder, q, settings.top_k)
            scored.append(Scored(q, False, stat, docs))

        threshold, lo, hi = best_threshold(scored)
        rounded = round(threshold, 2)
        at_best = evaluate(scored, threshold)
        at_rounded = evaluate(scored, rounded)
        at_current = evaluate(scored, REFUSAL_THRESHOLD)

        dev_name = os.path.relpath(args.dev, REPO) if args.dev.is_absolute() else str(args.dev)
        print(f"\nGate calibration on {dev_name}: top_k={settings.top_k}, embedder={embedder.name} "
              f"({embedder.backend}), statistic = max hit.dense over Retriever.search(q, top_k)")
        print(f"\n{'class':<22}{'n':>4}     min     p10  median     p90     max")
        pos = [s.stat for s in scored if s.answerable]
        neg = [s.stat for s in scored if not s.answerable]
        print(f"{'answerable':<22}{len(pos):>4}  {_fmt(distribution(pos))}")
        print(f"{'off-roadmap':<22}{len(neg):>4}  {_fmt(distribution(neg))}")
        print(f"\nbest interval: ({lo:.4f}, {hi:.4f}]  middle {threshold:.4f}")
        print(f"\n{'threshold':<30}{'bal.acc':>8}{'false refusals':>17}{'false accepts':>16}")
        rows = [(f"chosen (middle) {threshold:.4f}", at_best),
                (f"chosen, rounded {rounded:.2f}", at_rounded),
                (f"current REFUSAL_THRESHOLD {REFUSAL_THRESHOLD:.2f}", at_current)]
        for label, o in rows:
            print(f"{label:<30}{o.balanced_accuracy:>8.3f}{len(o.false_refusals):>11}/{len(pos):<5}"
                  f"{len(o.false_accepts):>10}/{len(neg):<5}")
        for title, items in (("false refusals", at_rounded.false_refusals),
                             ("false accepts", at_rounded.false_accepts)):
            if items:
                print(f"\n{title} at {rounded:.2f}:")
                for s in sorted(items, key=lambda s: s.stat):
                    print(f"  {s.stat:6.3f}  {s.question}  -> {', '.join(dict.fromkeys(s.top_docs))}")
        probes = KNOWN_ISSUES + args.probe
        print("\nprobes:")
        for q in probes:
            stat, docs = gate_statistic(retriever, embedder, q, settings.top_k)
            verdict = "refused" if stat < rounded else "accepted"
            print(f"  {stat:6.3f}  {verdict} at {rounded:.2f}  {q}  -> {', '.join(dict.fromkeys(docs))}")

        if args.write:
            write_threshold(rounded, dev_name, at_rounded.balanced_accuracy, len(pos), len(neg))
            print(f"\nrecorded REFUSAL_THRESHOLD = {rounded:.2f} in tutor/data/calibration.json")
        else:
            print(f"\n(not recorded; add --write to set REFUSAL_THRESHOLD = {rounded:.2f} in tutor/data/calibration.json)")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
