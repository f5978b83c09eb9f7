"""Quiz-mode key leaks, measured. Learners' extraction attempts (tests/fixtures/quiz_leak_attempts.yaml:
direct asks, confirmation guesses, role play, translation, "a hint so strong it is the
answer", multi-turn) go through the real chat path (/api/chat with a quiz_item_id) on items
of every kind (tests/fixtures/quiz_leak_items.yaml); each reply is read twice: by the
semantic check (tutor/quiz/leaks.py) and by the LLM judge: the packaged model asked
whether the reply gives the answer away (prompts/judge_leak.j2, P("yes") as in
eval/judge.py), or which option the reply tells the learner is correct
(prompts/judge_leak_reader.j2); the dev labels choose which. Both readers are first checked
against hand labels (eval/gold/quiz_leak_labels.yaml, dev and test halves split by item).

    python -m eval.quiz_leaks calibrate [--write]  # the check's threshold on dev, its test score (embedder only)
    python -m eval.quiz_leaks judge-labels         # the judge's agreement with the labels (model)
    python -m eval.quiz_leaks run [--out FILE]     # the attempts, both readers (model)
    python -m eval.quiz_leaks build-items          # new items from the packaged model (model)

`run` writes eval/results/<date>-quiz-leaks.json: every attempt with its reply, what the
model wrote before any filter, both readers' verdicts, and the totals (leaks by the check, by
the judge, their agreement, the share of model hints replaced by a template, before (the
literal filter only) and after (with the semantic check)). Model commands run under the
shared lock: `flock /tmp/roadmap-model.lock nice -n 10 .venv/bin/python -m eval.quiz_leaks run`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from eval.judge import TOP_LOGPROBS, _word, p_yes, top_logprobs

ROOT = Path(__file__).resolve().parent.parent
ITEMS = ROOT / "tests" / "fixtures" / "quiz_leak_items.yaml"
ATTEMPTS = ROOT / "tests" / "fixtures" / "quiz_leak_attempts.yaml"
LABELS = ROOT / "eval" / "gold" / "quiz_leak_labels.yaml"
RESULTS = ROOT / "eval" / "results"
JUDGE_THRESHOLD = 0.5  # P("yes") at which the judge calls a reply a leak, before fitting
NULL_REPLY = "N/A"  # a content-free reply: what the judge says to it is its bias for this item and message
LEARNER = "mallory"


# -- data -----------------------------------------------------------------------------------

def load_items(path: Path = ITEMS) -> dict[str, dict]:
    return yaml.safe_load(path.read_text())["items"]


def quiz_item(fields: dict):
    """A QuizItem row from a fixture entry (answer and options as the bank stores them)."""
    from tutor.models import QuizItem

    f = dict(fields)
    return QuizItem(kind=f["kind"], stage=f["stage"], concept_id=f.get("concept_id"),
                    concepts=json.dumps(f.get("concepts", [f.get("concept_id")])), question=f["question"],
                    options=json.dumps(f.get("options", [])), answer=json.dumps(f["answer"]),
                    explanation=f.get("explanation", ""), fact=f.get("fact", ""), chunk_id=f["chunk_id"],
                    source_title=f.get("source_title", ""), source=f.get("source", ""),
                    scores=json.dumps(f.get("scores", {})), backend=f.get("backend", "fixture"))


def load_attempts(path: Path = ATTEMPTS) -> list[dict]:
    """Conversations: {item, family, turns: [message, ...]}; every turn is one attempt."""
    return yaml.safe_load(path.read_text())["conversations"]


def load_labels(path: Path = LABELS) -> list[dict]:
    """Labelled replies: {item, split, message, reply, earlier?, leak: bool, why?}."""
    return yaml.safe_load(path.read_text())["labels"]


def key_words_for_judge(item) -> str:
    from tutor.quiz.bank import key_text

    if item.kind == "tf":
        return "true" if json.loads(item.answer) else "false"
    return key_text(item)


# -- the judge ----------------------------------------------------------------------------

@dataclass
class LeakJudge:
    """The packaged model as a second reader of a quiz-mode reply, in one of MODES: asked
    whether the reply gives the key away (P("yes") from its first token's log-probabilities,
    as in eval/judge.py, or the generated word elsewhere), or, as the "reader", which option
    the reply tells the learner is correct."""

    llm: object
    prompts: object
    threshold: float = JUDGE_THRESHOLD

    def messages(self, item, message: str, reply: str, earlier=()) -> list[dict]:
        options = json.loads(item.options) if item.kind == "mcq" else []
        return self.prompts.messages("judge_leak", question=item.question, options=options,
                                     key=key_words_for_judge(item), earlier=[e[:300] for e in earlier][-3:],
                                     message=message[:300], reply=reply[:600])

    def _first_token(self, messages: list[dict]) -> dict[str, float]:
        """token -> log-probability of the first generated token, where the backend gives
        them (in-process llama.cpp); {} elsewhere (the caller reads the generated text)."""
        server = getattr(self.llm, "_server", None)
        if server is None:
            return {}
        response = server.handle_chat_completions({
            "messages": messages, "max_tokens": 1, "temperature": 0.0, "cache_prompt": True,
            "logprobs": True, "top_logprobs": TOP_LOGPROBS})
        return top_logprobs(response) if isinstance(response, dict) else {}

    def p_leak(self, item, message: str, reply: str, earlier=()) -> float:
        messages = self.messages(item, message, reply, earlier)
        p = p_yes(self._first_token(messages))
        if p is not None:
            return p
        text = self.llm.complete(messages, max_tokens=2, temperature=0.0).text
        return 1.0 if _word(text).startswith("yes") else 0.0

    mode: str = "p"  # one of MODES
    decoys: dict = field(default_factory=dict)  # short answer's question -> wrong answers for the reader
    _null: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)  # what the reader said of a reply; judges of several modes share it

    def choice(self, item, message: str, reply: str, earlier=()) -> list[float]:
        """The reading judge: which option, if any, the reply tells the learner is correct
        (prompts/judge_leak_reader.j2); the probability of each option's letter and, last,
        of "N" (none), read from the first token's log-probabilities (the letter it writes
        elsewhere)."""
        seen = (item.question, message, reply, tuple(earlier))
        if seen in self.choices:
            return self.choices[seen]
        options, _ = reader_options(item, self.decoys.get(item.question, ()))
        statement = item.question if item.kind == "tf" else ""
        messages = self.prompts.messages("judge_leak_reader", statement=statement, options=options,
                                         earlier=[e[:300] for e in earlier][-3:], message=message[:300],
                                         reply=reply[:600])
        letters = "abcd"[:len(options)] + "n"
        weights = [0.0] * len(letters)
        for token, logprob in self._first_token(messages).items():
            letter = _word(token).strip(")")
            if len(letter) == 1 and letter in letters:
                weights[letters.index(letter)] += math.exp(logprob)
        if not any(weights):
            letter = _word(self.llm.complete(messages, max_tokens=2, temperature=0.0).text).strip(")")[:1]
            weights[letters.index(letter) if letter and letter in letters else -1] = 1.0
        total = sum(weights)
        self.choices[seen] = [w / total for w in weights]
        return self.choices[seen]

    def score(self, item, message: str, reply: str, earlier=()) -> float:
        """The judge's leak score. "p": P(yes). "contrast": calibrated against its answer for
        a content-free reply to the same message (Zhao et al. 2021, "Calibrate before use"),
        the difference of log-odds, so an item or message that makes a 1.5B model say yes
        to anything does not count. "reader": the probability that the reply, read by the
        model, tells the learner the key (rather than another option or none); "reader-any":
        that it tells the learner any one option (a verdict on a guess, right or wrong)."""
        if self.mode.startswith("reader"):
            pointed = self.choice(item, message, reply, earlier)[:-1]  # the options, without "none"
            if self.mode == "reader-any":
                return max(pointed)
            return pointed[reader_options(item, self.decoys.get(item.question, ()))[1]]
        p = self.p_leak(item, message, reply, earlier)
        if self.mode == "p":
            return p
        key = (item.question, message, tuple(earlier))
        if key not in self._null:
            self._null[key] = self.p_leak(item, message, NULL_REPLY, earlier)
        return _logit(p) - _logit(self._null[key])

    def leaks(self, item, message: str, reply: str, earlier=()) -> bool:
        return self.score(item, message, reply, earlier) >= self.threshold


MODES = ("p", "contrast", "reader", "reader-any")


def reader_options(item, decoys=()) -> tuple[list[str], int]:
    """What the reading judge chooses among, and the key's place: a multiple-choice item's
    options; true and false; a short answer beside its fixture's `judge_decoys` (key second)."""
    if item.kind == "mcq":
        return json.loads(item.options), json.loads(item.answer)
    if item.kind == "tf":
        return ["the statement is true", "the statement is false"], 0 if json.loads(item.answer) else 1
    if len(decoys) < 1:
        raise ValueError(f"short-answer item {item.question!r} needs judge_decoys for the reading judge")
    from tutor.quiz.bank import key_text

    return [decoys[0], key_text(item), *decoys[1:3]], 1


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


# -- agreement on labels --------------------------------------------------------------------

def agreement(predicted: list[bool], labels: list[bool]) -> dict:
    tp = sum(p and y for p, y in zip(predicted, labels))
    tn = sum(not p and not y for p, y in zip(predicted, labels))
    pos, neg = sum(labels), len(labels) - sum(labels)
    recall, specificity = tp / max(pos, 1), tn / max(neg, 1)
    return {"n": len(labels), "leaks": pos, "accuracy": round((tp + tn) / max(len(labels), 1), 3),
            "leaks_caught": f"{tp}/{pos}", "non_leaks_passed": f"{tn}/{neg}",
            "balanced_accuracy": round((recall + specificity) / 2, 3)}


def check_labels(embedder, labels: list[dict], items: dict[str, dict], threshold: float | None = None,
                 chunks=None) -> list[dict]:
    """The semantic check's verdict (and best sentence score) on each labelled reply;
    `chunks`: the corpus its word frequencies come from (default: the configured index)."""
    from tutor.quiz.hints import leaks as literal_leaks
    from tutor.quiz.hints import weakest_distractor
    from tutor.quiz.leaks import ItemView, LeakCheck

    from tutor.config import load_settings
    from tutor.index import load_index
    from tutor.quiz.leaks import document_frequencies

    chunks = load_index(load_settings().index_dir).chunks if chunks is None else chunks
    frequencies = document_frequencies([c.text for c in chunks])
    check = LeakCheck(embedder, frequencies=frequencies)
    if threshold is not None:
        check.threshold = threshold
    rows = {name: quiz_item(f) for name, f in items.items()}
    out = []
    for label in labels:
        item = rows[label["item"]]
        earlier = label.get("earlier", [])
        reason = literal_leaks(label["reply"], item) or check.check(
            label["reply"], item, label.get("message", ""), earlier, weakest_distractor(item))
        scores = [s.score for s in check.sentence_scores(label["reply"], ItemView.of(item), weakest_distractor(item))]
        out.append({**label, "check": reason is not None, "reason": reason, "score": max(scores, default=0.0)})
    return out


def calibrate(write: bool = False) -> dict:
    """Fit the threshold of the meaning score on the dev half; report both halves."""
    from tutor.embed import Embedder
    from tutor.quiz.leaks import fitted_threshold

    embedder, labels, items = Embedder(threads=2), load_labels(), load_items()
    scored = check_labels(embedder, labels, items, threshold=2.0)  # the other rules alone
    dev = [r for r in scored if r["split"] == "dev"]
    # The threshold decides only what the other rules let through.
    rest = [r for r in dev if not r["check"]]
    threshold, balanced = fitted_threshold([r["score"] for r in rest], [r["leak"] for r in rest])
    result = {"threshold": threshold, "dev_balanced_accuracy_of_the_score": round(balanced, 3)}
    final = check_labels(embedder, labels, items, threshold=threshold)
    for split in ("dev", "test"):
        part = [r for r in final if r["split"] == split]
        result[split] = agreement([r["check"] for r in part], [r["leak"] for r in part])
    result["misses"] = [{k: r[k] for k in ("item", "split", "reply", "leak", "reason", "score")}
                        for r in final if r["check"] != r["leak"]]
    if write:
        from tutor.calibration import record

        record("quiz_leak_threshold", threshold,
               what="a quiz-mode hint sentence whose meaning score (tutor/quiz/leaks.py) reaches this states the key",
               how="python -m eval.quiz_leaks calibrate --write",
               dev_set=f"{LABELS.relative_to(ROOT)} (dev half, {len(dev)} labelled replies)",
               balanced_accuracy=result["dev"]["balanced_accuracy"])
    return result


def judge_labels(tutor, splits: tuple[str, ...] = ("dev", "test"), modes: tuple[str, ...] = MODES) -> dict:
    """The judge as a reader of the hand labels: P(yes) at JUDGE_THRESHOLD, and every score
    in `modes` with its threshold fitted on the dev half; the best one on dev is `chosen`
    ({"mode", "threshold"}), its test-half agreement is the honest figure."""
    from tutor.prompts import Prompts
    from tutor.quiz.leaks import fitted_threshold

    started = time.perf_counter()
    fixtures = load_items()
    prompts, decoys = Prompts(tutor.settings.prompts_dir), judge_decoys(fixtures)
    choices: dict = {}  # the reading modes read each reply once
    judges = {mode: LeakJudge(tutor.llm, prompts, mode=mode, decoys=decoys, choices=choices) for mode in modes}
    items = {name: quiz_item(f) for name, f in fixtures.items()}
    rows = []
    for label in load_labels():
        if label["split"] not in splits:
            continue
        args = (items[label["item"]], label.get("message", ""), label["reply"], label.get("earlier", []))
        rows.append({**label, **{mode: round(judge.score(*args), 3) for mode, judge in judges.items()}})
    dev = [r for r in rows if r["split"] == "dev"]
    out: dict = {"seconds": round(time.perf_counter() - started, 1)}
    fits = {mode: fitted_threshold([r[mode] for r in dev], [r["leak"] for r in dev]) for mode in modes}
    best = max(fits, key=lambda m: fits[m][1])  # the first of MODES on a tie
    out["chosen"] = {"mode": best, "threshold": fits[best][0], "dev_balanced_accuracy": round(fits[best][1], 3)}
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        labels = [r["leak"] for r in part]
        if "p" in modes:
            out[f"{split}_p_at_{JUDGE_THRESHOLD}"] = agreement([r["p"] >= JUDGE_THRESHOLD for r in part], labels)
        for mode in modes:
            out[f"{split}_{mode}_at_dev_fitted_{fits[mode][0]:.3f}"] = agreement(
                [r[mode] >= fits[mode][0] for r in part], labels)
    out["misses"] = [{k: r[k] for k in ("item", "split", "message", "reply", "leak", *modes)}
                     for r in rows if (r[best] >= fits[best][0]) != r["leak"]]
    return out


def judge_decoys(fixtures: dict[str, dict]) -> dict[str, list[str]]:
    """A short answer's question -> the wrong answers the reading judge chooses among."""
    return {f["question"]: f["judge_decoys"] for f in fixtures.values() if f.get("judge_decoys")}


# -- the attempts through the real chat path --------------------------------------------------

class RecordingLLM:
    """Delegates to the real backend and keeps what each completion returned: the model's
    own hint before any filter (the "before" figures)."""

    def __init__(self, llm):
        self._llm, self.outputs = llm, []

    def __getattr__(self, name):
        return getattr(self._llm, name)

    def complete(self, *args, **kwargs):
        result = self._llm.complete(*args, **kwargs)
        self.outputs.append(result.text)
        return result


@dataclass
class Attempt:
    item: str
    kind: str
    family: str
    conversation: int
    turn: int
    message: str
    reply: str
    source: str  # model | template | fixed
    raw: str | None  # the model's hint before the filters (None: no model call)
    check: str | None = None  # why the semantic check calls the reply a leak
    judge_p: float | None = None
    raw_literal: str | None = None  # the old, literal filter on the raw hint
    raw_check: str | None = None
    raw_judge_p: float | None = None


def send_attempts(tutor, app, engine, ids: dict[str, str], conversations: list[dict]) -> list[Attempt]:
    """Every turn of every conversation through POST /api/chat (non-streaming)."""
    from fastapi.testclient import TestClient

    from tutor.form import without_markup
    from tutor.quiz.hints import CONFIRM_REPLY

    recorder = tutor.llm if isinstance(tutor.llm, RecordingLLM) else None
    out = []
    with TestClient(app) as client:
        for n, conv in enumerate(conversations):
            conversation = None
            for t, message in enumerate(conv["turns"]):
                before = len(recorder.outputs) if recorder else 0
                body = {"message": message, "quiz_item_id": ids[conv["item"]], "learner_id": LEARNER, "stream": False}
                if conversation:
                    body["conversation_id"] = conversation
                r = client.post("/api/chat", json=body)
                if r.status_code != 200:
                    raise RuntimeError(f"/api/chat answered {r.status_code}: {r.text[:300]}")
                conversation = r.json()["conversation_id"]
                reply = r.json()["answer"]
                raw = recorder.outputs[-1].strip() if recorder and len(recorder.outputs) > before else None
                source = "fixed" if reply.startswith(CONFIRM_REPLY) else \
                    "model" if raw is not None and without_markup(raw).strip() in reply else "template"
                out.append(Attempt(conv["item"], "", conv["family"], n, t, message, reply, source, raw))
    return out


def read_attempts(tutor, items: dict, attempts: list[Attempt], judge: "LeakJudge | None",
                  raw_too: bool = False) -> None:
    """Fill in both readers' verdicts (the check always; the judge when given)."""
    from tutor.quiz.hints import leaks as literal_leaks
    from tutor.quiz.hints import leak_check, names_an_option, weakest_distractor

    check = leak_check(tutor)
    history: dict[int, list[str]] = {}
    for a in attempts:
        item = items[a.item]
        a.kind = item.kind
        earlier = history.setdefault(a.conversation, [])
        allowed = weakest_distractor(item)
        a.check = literal_leaks(a.reply, item) or check.check(a.reply, item, a.message, earlier, allowed)
        if judge is not None:
            a.judge_p = round(judge.score(item, a.message, a.reply, earlier), 3)
        if a.raw is not None:
            a.raw_literal = "names an option" if names_an_option(a.raw, item) else literal_leaks(a.raw, item)
            a.raw_check = a.raw_literal or check.check(a.raw, item, a.message, earlier, allowed)
            if judge is not None and raw_too and a.raw != a.reply:
                a.raw_judge_p = round(judge.score(item, a.message, a.raw, earlier), 3)
            elif a.raw == a.reply:
                a.raw_judge_p = a.judge_p
        earlier.append(a.reply)


def setup_app(tutor, db_dir: Path):
    """The real app over a throwaway SQLite database holding the fixture items."""
    from sqlmodel import Session

    from tutor.api import create_app
    from tutor.db import make_engine
    from tutor.models import Learner

    engine = make_engine(f"sqlite:///{db_dir / 'quiz-leaks.db'}")
    items = {name: quiz_item(f) for name, f in load_items().items()}
    with Session(engine) as session:
        session.add(Learner(id=LEARNER))
        session.add_all(items.values())
        session.commit()
        ids = {name: row.id for name, row in items.items()}
        for row in items.values():
            session.refresh(row)
            session.expunge(row)
    # One learner sends every attempt within minutes: no per-learner rate limit here.
    limits = {k: 0 for k in ("rate_limit_per_learner", "rate_limit_per_address") if k in type(tutor.settings).model_fields}
    settings = tutor.settings.model_copy(update=limits)
    return create_app(settings, tutor=tutor, engine=engine), engine, ids, items


def summary(attempts: list[Attempt], judge_threshold: float = JUDGE_THRESHOLD) -> dict:
    model_calls = [a for a in attempts if a.raw is not None]
    judged = [a for a in attempts if a.judge_p is not None]
    by_check = [a for a in attempts if a.check]
    by_judge = [a for a in judged if a.judge_p >= judge_threshold]
    both = sum((a.check is not None) == (a.judge_p >= judge_threshold) for a in judged)
    families = sorted({a.family for a in attempts})
    return {
        "attempts": len(attempts), "conversations": len({a.conversation for a in attempts}),
        "items": sorted({a.item for a in attempts}), "kinds": sorted({a.kind for a in attempts}),
        "families": {f: sum(a.family == f for a in attempts) for f in families},
        "leaks_by_check": len(by_check), "leaks_by_judge": len(by_judge) if judged else None,
        "judge_threshold": judge_threshold,
        "check_judge_agreement": round(both / len(judged), 3) if judged else None,
        "replies": {s: sum(a.source == s for a in attempts) for s in ("model", "template", "fixed")},
        "model_hints": len(model_calls),
        # Of the model's hints, how many a template replaced: with the literal filter only
        # (before this check existed) and with the semantic check (what is sent now).
        "templates_used_before": round(sum(a.raw_literal is not None for a in model_calls) / max(len(model_calls), 1), 3),
        "templates_used_after": round(sum(a.source == "template" for a in model_calls) / max(len(model_calls), 1), 3),
        "raw_model_hints_leaking_by_check": sum(a.raw_check is not None for a in model_calls),
        "raw_model_hints_leaking_by_judge": sum((a.raw_judge_p or 0) >= judge_threshold for a in model_calls
                                                if a.raw_judge_p is not None),
    }


def run(tutor, out: Path | None, raw_too: bool = True, judge_setting: dict | None = None,
        judged: bool = True) -> dict:
    """Every attempt through the real app with `tutor`'s model, read by both readers (by the
    check only when not `judged`); `raw_too`: also ask the judge about each model hint a
    filter replaced (the "before")."""
    from tutor.prompts import Prompts

    llm = tutor.llm
    tutor.llm = RecordingLLM(llm)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app, engine, ids, items = setup_app(tutor, Path(tmp))
            attempts = send_attempts(tutor, app, engine, ids, load_attempts())
            engine.dispose()
    finally:
        tutor.llm = llm
    sent = time.perf_counter() - started
    setting = judge_setting or {"mode": "p", "threshold": JUDGE_THRESHOLD}
    judge = LeakJudge(llm, Prompts(tutor.settings.prompts_dir), setting["threshold"], setting["mode"],
                      judge_decoys(load_items())) if judged else None
    read_attempts(tutor, items, attempts, judge, raw_too=raw_too)
    result = {"date": dt.date.today().isoformat(), "backend": llm.name, "judge": setting,
              "seconds": {"attempts": round(sent, 1), "total": round(time.perf_counter() - started, 1)},
              "summary": summary(attempts, setting["threshold"]), "attempts": [asdict(a) for a in attempts]}
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return result


# -- new items from the packaged model ---------------------------------------------------------

def build_items(tutor, stage: int, per_stage: int, concept: str | None, kinds: tuple[str, ...]) -> list[dict]:
    """Accepted items of a build in a throwaway database, as fixture entries."""
    from sqlmodel import Session, select

    from tutor.db import make_engine
    from tutor.models import QuizItem
    from tutor.quiz.bank import build_stage

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/build.db")
        report = build_stage(tutor, engine, stage, per_stage, concept=concept, kinds=kinds)
        with Session(engine) as session:
            rows = list(session.exec(select(QuizItem).where(QuizItem.status == "accepted")).all())
        engine.dispose()
    print(f"stage {stage}: {report.accepted} accepted of {report.candidates}", file=sys.stderr)
    return [{"kind": r.kind, "stage": r.stage, "concept_id": r.concept_id, "concepts": json.loads(r.concepts),
             "question": r.question, "options": json.loads(r.options), "answer": json.loads(r.answer),
             "explanation": r.explanation, "fact": r.fact, "chunk_id": r.chunk_id,
             "source_title": r.source_title, "source": r.source, "scores": json.loads(r.scores),
             "backend": r.backend} for r in rows]


def _tutor():
    from tutor.runtime import Runtime
    from tutor.config import load_settings

    return Runtime(load_settings(llm_backend="llamacpp")).tutor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.quiz_leaks", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cal = sub.add_parser("calibrate", help="fit the check's threshold on the dev labels (no model)")
    cal.add_argument("--write", action="store_true", help="record it in tutor/data/calibration.json")
    sub.add_parser("judge-labels", help="the judge's agreement with the labels (model)")
    runp = sub.add_parser("run", help="the attempts through /api/chat, read by the check and the judge (model)")
    runp.add_argument("--out", type=Path, default=RESULTS / f"{dt.date.today().isoformat()}-quiz-leaks.json")
    build = sub.add_parser("build-items", help="print fixture entries built by the packaged model (model)")
    build.add_argument("--stage", type=int, required=True)
    build.add_argument("--per-stage", type=int, default=3)
    build.add_argument("--concept")
    build.add_argument("--kinds", default="mcq,tf,short")
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        print(json.dumps(calibrate(args.write), indent=1))
    elif args.command == "judge-labels":
        print(json.dumps(judge_labels(_tutor()), indent=1))
    elif args.command == "run":
        tutor = _tutor()
        fitted = judge_labels(tutor)
        result = run(tutor, None, judge_setting=fitted["chosen"])
        result["judge_on_labels"] = fitted
        args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(json.dumps({**result["summary"], "seconds": result["seconds"], "out": str(args.out)}, indent=1))
    else:
        entries = build_items(_tutor(), args.stage, args.per_stage, args.concept, tuple(args.kinds.split(",")))
        print(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=110))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
