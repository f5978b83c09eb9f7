"""Read the shipped quiz bank the way a teacher would: every item with its key marked, the
source sentence it was checked against, and flags for what to look at twice.

    python -m eval.quiz_review                       # print eval/results/quiz-review.md's text
    python -m eval.quiz_review --out eval/results/quiz-review.md
    python -m eval.quiz_review --drop s2-0123abcd "two options are both right"

Flags (a flag is a prompt to read closely, not a rejection; the validators decided that):
    key-not-in-sentence   some content words of the key are not in the source sentence
    options-differ        the options' word counts differ by more than two (form check passed)
    long-question         the question is longer than 25 words
    replaced-options      wrong options were replaced by the distractor repair (read them)
    changed               a false true/false statement: the words it changes of its correction
                          ("changed (20% -> 30%)"): is the new detail plainly false, not a synonym?

--drop removes an item a careful teacher would reject from its stage file and records it
under `dropped_on_review` with the reason (keys are never edited by hand: a bad item goes,
and `tutor quiz build --export` writes new ones). No model, no embedder: text only.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections import Counter
from pathlib import Path

import yaml

from tutor.quiz.schema import LETTERS
from tutor.quiz.shipped import FILE_GLOB, write_stage
from tutor.text import terms

FOLDER = Path(__file__).resolve().parent.parent / "corpus" / "quizzes"
LONG_QUESTION_WORDS = 25


def key_text(item: dict) -> str:
    if item["kind"] == "mcq":
        return str(item["options"][item["answer"]])
    if item["kind"] == "tf":
        return item["question"] if item["answer"] is True else item.get("correction", "")
    return str(item["answer"])


def flags(item: dict) -> list[str]:
    found = []
    sentence = set(terms(item["source"]["sentence"]))
    missing = [t for t in terms(key_text(item)) if t not in sentence]
    if missing:
        found.append(f"key-not-in-sentence ({', '.join(missing)})")
    if item["kind"] == "mcq":
        counts = [len(str(o).split()) for o in item["options"]]
        if max(counts) - min(counts) > 2:
            found.append(f"options-differ (words {counts})")
    if len(item["question"].split()) > LONG_QUESTION_WORDS:
        found.append("long-question")
    if item["kind"] == "tf" and item["answer"] is False:
        found.append(f"changed ({changed(item.get('correction', ''), item['question'])})")
    if item.get("replaced_options"):
        found.append(f"replaced-options ({item['replaced_options']})")
    return found


def changed(correction: str, statement: str) -> str:
    """"old -> new" for each stretch of words where a false statement differs from its correction."""
    true, said = correction.split(), statement.split()
    blocks = difflib.SequenceMatcher(None, true, said, autojunk=False).get_opcodes()
    return "; ".join(f"{' '.join(true[a:b]) or '(nothing)'} -> {' '.join(said[c:d]) or '(nothing)'}"
                     for op, a, b, c, d in blocks if op != "equal") or "nothing"


def render_item(n: int, item: dict) -> list[str]:
    kind = {"mcq": "multiple choice", "tf": "true or false", "short": "short answer"}[item["kind"]]
    lines = [f"### {n}. `{item['id']}` ({kind}, concept {item.get('concept') or '-'})", "",
             f"**Q:** {item['question']}", ""]
    if item["kind"] == "mcq":
        for i, option in enumerate(item["options"]):
            mark = "**(key)**" if i == item["answer"] else ""
            lines.append(f"- {LETTERS[i]}) {option} {mark}".rstrip())
    elif item["kind"] == "tf":
        lines.append(f"- key: **{'true' if item['answer'] else 'false'}**"
                     + (f"; the true statement: {item['correction']}" if item["answer"] is False else ""))
    else:
        lines.append(f"- key: **{item['answer']}**")
    source = item["source"]
    lines += ["", f"Source sentence ({source['title']}, `{source['chunk_id']}`):",
              f"> {source['sentence']}", "", f"Explanation: {item['explanation']}",
              f"Key support {item.get('key_support')}; flags: {', '.join(flags(item)) or 'none'}", ""]
    return lines


def review(folder: Path = FOLDER) -> str:
    files = sorted(folder.glob(FILE_GLOB))
    lines = ["# Shipped quiz bank: review", "",
             "Written by `python -m eval.quiz_review --out eval/results/quiz-review.md`: every item of "
             "corpus/quizzes/ with its key marked and the source sentence it was checked against.", ""]
    for path in files:
        data = yaml.safe_load(path.read_text())
        items, generator = data["items"], data["generator"]
        kinds = Counter(i["kind"] for i in items)
        concepts = Counter(i.get("concept") or "-" for i in items)
        flagged = sum(bool(flags(i)) for i in items)
        lines += [f"## Stage {data['stage']} ({path.name}): {len(items)} items", "",
                  f"Generator: {generator['model']} (sha256 {generator['model_sha256']}), tutor "
                  f"{generator['tutor']}, {generator['date']}. Build: {data.get('build')}.", "",
                  f"Kinds: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}. "
                  f"Concepts ({len(concepts)}): {', '.join(f'{c} {n}' for c, n in concepts.most_common())}. "
                  f"Flagged for a close read: {flagged}.", ""]
        for dropped in data.get("dropped_on_review") or []:
            lines.append(f"- dropped on review: `{dropped['id']}` \"{dropped['question']}\": {dropped['why']}")
        if data.get("dropped_on_review"):
            lines.append("")
        for n, item in enumerate(items, 1):
            lines += render_item(n, item)
    return "\n".join(lines).rstrip() + "\n"


def drop(item_id: str, why: str, folder: Path = FOLDER) -> Path:
    """Remove one item from its stage file, recording why."""
    for path in sorted(folder.glob(FILE_GLOB)):
        text = path.read_text()
        data = yaml.safe_load(text)
        kept = [i for i in data["items"] if i["id"] != item_id]
        if len(kept) == len(data["items"]):
            continue
        gone = next(i for i in data["items"] if i["id"] == item_id)
        data.setdefault("dropped_on_review", []).append({"id": item_id, "question": gone["question"], "why": why,
                                                         "chunk_id": gone["source"]["chunk_id"]})
        return write_stage(path, data["stage"], data["generator"], data["build"], kept, data["dropped_on_review"])
    raise SystemExit(f"no item {item_id} in {folder}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--out", type=Path, help="write the review here instead of printing it")
    parser.add_argument("--drop", nargs=2, metavar=("ID", "WHY"), help="remove an item, recording why")
    args = parser.parse_args(argv)
    if args.drop:
        print(f"dropped {args.drop[0]} from {drop(*args.drop, folder=args.folder)}")
        return
    text = review(args.folder)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
