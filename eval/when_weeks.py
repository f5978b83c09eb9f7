""""When do I learn X?", measured: does the served answer give the plan's weeks?

Each question of eval/gold/when_questions.yaml goes through the tutor as a learner's would
(Tutor.ask_many, the packaged model) and its served answer is read against the weeks written
by hand beside it:

- states: the answer states every week span of the plan items that name the concept;
- elsewhere: a sentence names weeks that meet none of them (not the stage's whole span):
  often a wrong placement ("the second week of stage 3"), sometimes a neighbour named on
  purpose, so the report prints them to be read;
- refused: refused or withdrawn.

    python -m eval.when_weeks [--out FILE]   # model; run under the shared lock

Figures per split (dev holds the four items read while the composing rule was written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "gold" / "when_questions.yaml"


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    return yaml.safe_load(path.read_text())["items"]


def spans_of(item: dict) -> set[tuple[int, int]]:
    return {tuple(int(n) for n in s.split("-")) for s in item["weeks"]}


def read_answer(item: dict, answer, roadmap) -> dict:
    from tutor.spans import weeks_claimed
    from tutor.text import sentences, span_numbers_stated, spans_meet
    expected = spans_of(item)
    text = "" if answer.refused else answer.answer
    stated = span_numbers_stated(text, expected, "week")  # (the composing rule's reading; the labels are by hand)
    elsewhere = [s for s in sentences(text)
                 if (claimed := weeks_claimed(s, roadmap)) and not spans_meet(claimed, expected)]
    return {"id": item["id"], "split": item["split"], "question": item["question"], "weeks": item["weeks"],
            "answer": answer.answer, "refused": answer.refused, "draft": answer.withdrawn,
            "states": bool(text) and all(set(range(a, b + 1)) <= stated for a, b in expected),
            "elsewhere": elsewhere, "added": list(answer.added), "held_back": list(answer.held_back)}


def totals(records: list[dict]) -> dict:
    out = {}
    for split in ("dev", "test", "all"):
        rs = [r for r in records if split in ("all", r["split"])]
        out[split] = {"n": len(rs), "states": sum(r["states"] for r in rs),
                      "elsewhere": sum(bool(r["elsewhere"]) for r in rs), "refused": sum(r["refused"] for r in rs)}
    return out


def run(out: Path | None = None) -> dict:
    from tutor.config import load_settings
    from tutor.runtime import Runtime
    tutor = Runtime(load_settings()).tutor
    items = load_questions()
    answers = tutor.ask_many([(item["question"], ()) for item in items])
    records = [read_answer(item, answer, tutor.roadmap) for item, answer in zip(items, answers)]
    report = {"totals": totals(records), "records": records}
    if out is not None:
        out.write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.when_weeks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write every record and the totals as JSON here")
    args = parser.parse_args(argv)
    report = run(args.out)
    for r in report["records"]:
        mark = "ok " if r["states"] else "-- "
        print(f"{mark}{r['id']} [{r['split']}] {r['question']}  (weeks {', '.join(r['weeks'])})")
        print(f"     {r['answer']}".replace("\n", " "))
        for s in r["elsewhere"]:
            print(f"     elsewhere: {s}")
    for split, t in report["totals"].items():
        print(f"{split}: states the plan's weeks {t['states']}/{t['n']}, names other weeks {t['elsewhere']}, "
              f"refused {t['refused']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
