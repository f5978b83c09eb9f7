"""The LLM judge on an earlier full run's served sentences, both sides, written back into
its report: `python -m eval.rejudge REPORT_DIR [--limit N] [--index DIR]`.

A full run answers 270 questions in about an hour and a half on 2 cores; judging every
sentence of both sides in the same run nearly doubles that. Judging afterwards keeps the
answers and the judge apart, and `--limit` judges a stratified subset (the same one
`tutor eval --limit N` would answer). Each judged record gets `judge_p_yes` per sentence and
the `judge_groundedness` / `judge_p_yes` metrics; the report's aggregates, paired
differences and breakdowns are recomputed over every record, and report.html is rewritten.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.runner import (RESAMPLES, add_judge, aggregate, breakdown, differences, judge_check, load_gold,
                         load_labels, stratified, with_facts)


def judge_report(report: dict, judge, chunk_text, limit: int | None = None, labels=None) -> dict:
    """Judge the records of `limit` stratified items (all when None) in place; return the report."""
    tutor, baseline = report["records"]["tutor"], report["records"]["baseline"]
    ids = {r["id"] for r in tutor}
    chosen = {i["id"] for i in stratified([i for i in load_gold() if i["id"] in ids], limit)}
    for record in tutor:
        if record["id"] in chosen:
            retrieved = [chunk_text(c) for c in record.get("shown_sources", [])] or \
                [chunk_text(c["chunk_id"]) for c in record["citations"]]
            add_judge(record, judge, with_facts(record, chunk_text), retrieved)
    for record in baseline:
        if record["id"] in chosen:
            texts = {s["chunk_id"]: s.get("text", "") for s in record.get("sources", [])}
            add_judge(record, judge, lambda cid: texts.get(cid, ""), list(texts.values()))
    report["metrics"] = {"tutor": aggregate(tutor), "baseline": aggregate(baseline)}
    report["differences"] = differences(tutor, baseline, report["options"].get("seed", 0)) if baseline else {}
    for key in ("stage", "part", "kind", "split"):
        report[f"by_{key}"] = {"tutor": breakdown(tutor, key), "baseline": breakdown(baseline, key)}
    report["options"] |= {"judge": True, "judged_items": len(chosen), "resamples": RESAMPLES}
    if labels is not None:
        report["judge_labels"] = judge_check(judge, labels)
    return report


def main(argv: list[str] | None = None) -> int:
    from eval.judge import Judge
    from eval.report import write_html
    from tutor.config import load_settings
    from tutor.index import load_index
    from tutor.llm import get_llm
    from tutor.prompts import Prompts

    p = argparse.ArgumentParser(prog="python -m eval.rejudge", description=__doc__.splitlines()[0])
    p.add_argument("report", type=Path, help="a full run's report directory (or its report.json)")
    p.add_argument("--limit", type=int, default=None, help="judge a stratified subset of this many items")
    p.add_argument("--index", type=Path, default=None, help="the index the run answered from")
    args = p.parse_args(argv)
    file = args.report / "report.json" if args.report.is_dir() else args.report
    report = json.loads(file.read_text())
    if report.get("mode") != "full":
        p.error(f"{file} is not a full run's report: run `tutor eval` first")
    settings = load_settings(index_dir=args.index)
    chunks = {c.id: c for c in load_index(settings.index_dir).chunks}  # judged under their headings
    llm = get_llm(settings)
    try:
        judge = Judge(llm, Prompts(settings.prompts_dir))
        judge_report(report, judge, lambda cid: chunks.get(cid, ""), args.limit, load_labels())
    finally:
        llm.close()
    file.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    file.with_name("report.html").write_text(write_html(report))
    t, b = report["metrics"]["tutor"].get("judge_groundedness"), report["metrics"]["baseline"].get(
        "judge_groundedness")
    d = report["differences"].get("judge_groundedness")
    print(f"judged {report['options']['judged_items']} items: judge groundedness tutor "
          f"{t and t['mean']:.3f} (n {t and t['n']}), baseline {b and b['mean']:.3f}; difference "
          + (f"{d['diff']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}]" if d else "n/a"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
