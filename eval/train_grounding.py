"""Fit the grounding check (tutor/grounding.py) on claims generated from the corpus.

    python -m eval.train_grounding            # writes tutor/data/grounding-v1.json
    python -m eval.train_grounding --limit 60 --out /tmp/g.json   # a quick sample

Every chunk sentence of the shipped corpus (at least four content words) is a base. For
each base the generator (seeded) makes one true claim and one false one, both checked
against the base's own chunk:
- true: the sentence itself, a clause of it, a looser wording (a fifth of its lower-case
  words dropped, never a number, name or negation), its two halves swapped, a clause
  joined to the next sentence, light synonym swaps, a framing that claims nothing ("In
  short, ..."), or a restatement: the most similar sentence of another document that
  the chunk covers, numbers, stages and weeks included (the corpus says many facts twice);
- false: a swapped number, a swapped stage/week/month/quarter/option, a capitalised name
  from elsewhere in the corpus, two facts of the sentence trading places or one replaced
  by another fact of the same chunk (every word still in the source), an inserted or
  removed negation, a flipped direction word, a sentence from another document (random or
  the most similar one the chunk does not cover), a splice with another document's
  sentence, or this sentence plus a clause from elsewhere.
Sentences from other documents that the chunk already covers (most of their terms occur
in it) are never used as false claims: the corpus repeats itself, and they may be true.

A logistic regression (L2, Newton's method: deterministic) is fitted on the features of
`tutor.grounding.features`. The hand labels (eval/gold/support_labels.yaml) are never
trained on: the decision threshold is calibrated on their dev split only, and the file
records dev and test balanced accuracy for reference. Of the 23 features computed, the
model uses USE (chosen on the dev split, see below). About 80 seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import time
from pathlib import Path

import numpy as np

from eval import metrics as M
from eval.grounding_check import calibrate_on_dev, label_scores, load_split_labels
from tutor.grounding import FEATURES, MODEL_FILE, GroundingChecker, GroundingModel, Sources, features, names
from tutor.sentence_vectors import SentenceVectors
from tutor.text import NUMBER, sentences, stem, terms
from tutor.types import Chunk

GENERATOR_VERSION = 1
SEED = 20261130
L2 = 1.0
# The features the shipped model uses: of eight candidate sets fitted on the same synthetic
# claims, the one with the best balanced accuracy on the labels' dev split (0.829; the
# scorer-like set max_cos/stem_cov/num_missing reached 0.815, all 23 features 0.802).
USE = ("max_cos", "stem_cov", "num_missing", "anchor_missing", "neg_mismatch", "name_missing")
REPO = Path(__file__).resolve().parent.parent

SYNONYMS = {
    "uses": "relies on", "use": "rely on", "learners": "students", "recommends": "suggests",
    "helps": "assists", "large": "big", "begins": "starts", "starts": "begins", "ends": "finishes",
    "builds": "creates", "shows": "demonstrates", "lets": "allows", "covers": "spans",
    "teaches": "covers", "important": "essential", "quickly": "fast", "roughly": "about",
    "about": "roughly", "names": "lists", "lists": "names", "often": "frequently",
    "common": "widespread", "key": "central", "main": "principal", "simple": "basic",
    "method": "technique", "technique": "method", "data set": "dataset", "learn": "pick up",
}
NEGATABLE = re.compile(r"\b(is|are|can|does|do|was|were|should|will|must)\b")
NEGATED = re.compile(r"\b(not|never|no longer) ")
DIRECTIONS = {"before": "after", "after": "before", "more": "fewer", "fewer": "more", "less": "more",
              "increase": "reduce", "reduce": "increase", "higher": "lower", "lower": "higher",
              "larger": "smaller", "smaller": "larger", "faster": "slower", "slower": "faster",
              "first": "last", "last": "first", "earlier": "later", "later": "earlier", "with": "without",
              "without": "with", "add": "remove", "adds": "removes", "removes": "adds", "deep": "shallow"}
ANCHOR_SWAP = re.compile(r"\b(stage|Stage|weeks?|Weeks?|months?|Months?|Q|option|Option)(\s?)(\d+(?:-\d+)?|[A-D]\b)")
WEEK_RANGES = ["1-8", "9-16", "17-24", "25-36", "9-10", "11-12", "13-14", "15-16", "17-18", "19-20",
               "21-22", "23-24", "25-27", "28-30", "31-33", "34-36"]
HEDGES = ["According to the roadmap, ", "According to the context, ", "The material says that ",
          "In short, ", "This means that ", "Note that ", "It is worth knowing that ", "Yes, "]
KEEP = re.compile(r"\d|^(not|no|never|without|nor|neither|only)$", re.I)


def corpus_chunks(corpus_dir: Path) -> list[Chunk]:
    from ingest.chunking import chunk_document
    from ingest.loaders import corpus_files, load_file

    root = corpus_dir.resolve()
    return [c for f in corpus_files(root) for d in load_file(f, f"corpus/{f.relative_to(root).as_posix()}", user=False)
            for c in chunk_document(d)]


def _content(text: str) -> list[str]:
    return [t for t in terms(text) if len(t) > 2 and not t.isdigit()]


def coverage(sentence: str, chunk_stems: set[str]) -> float:
    content = _content(sentence)
    return sum(stem(t) in chunk_stems for t in content) / len(content) if content else 1.0


# -- true claims --------------------------------------------------------------------------

def clause(s: str, rng: random.Random) -> str | None:
    """A clause that still states something: text before a colon, semicolon or comma, or
    the sentence without a parenthesis."""
    if "(" in s and rng.random() < 0.5:
        cut = re.sub(r"\s*\([^)]*\)", "", s)
        return cut if cut != s else None
    for mark in (": ", "; ", ", "):
        if mark in s:
            head = s.split(mark, 1)[0].rstrip(",;: ")
            if len(_content(head)) >= 4:
                return head + "."
    return None


def synonyms(s: str, rng: random.Random) -> str | None:
    found = [w for w in SYNONYMS if re.search(rf"\b{w}\b", s)]
    if not found:
        return None
    out = s
    for w in rng.sample(found, min(len(found), 2)):
        out = re.sub(rf"\b{w}\b", SYNONYMS[w], out, count=1)
    return out


def hedge(s: str, rng: random.Random) -> str:
    """A framing that claims nothing ("In short, ..."), as the model writes."""
    s = s.lstrip("-* ")
    return rng.choice(HEDGES) + (s[0].lower() + s[1:] if s[:2] != s[:2].upper() else s)


def drop_words(s: str, rng: random.Random) -> str | None:
    """A looser wording: a fifth of the lower-case words dropped (never a number, a name
    or a negation), as a summary leaves out details."""
    tokens = s.split()
    free = [k for k, t in enumerate(tokens) if t.islower() and not KEEP.search(t.strip(",.;:()"))]
    if len(tokens) < 8 or len(free) < 4:
        return None
    gone = set(rng.sample(free, max(1, len(free) // 5)))
    return " ".join(t for k, t in enumerate(tokens) if k not in gone)


def swap_clauses(s: str) -> str | None:
    """"A, and B." -> "B, and a."; both halves stay backed."""
    for mark in (", and ", "; ", ", while ", ", but "):
        if mark in s:
            a, b = s.rstrip(".").split(mark, 1)
            if len(_content(a)) >= 2 and len(_content(b)) >= 2:
                first = a if a[:2] == a[:2].upper() else a[0].lower() + a[1:]
                return b[0].upper() + b[1:] + mark + first + "."
    return None


def merge(s: str, following: str | None) -> str | None:
    """A clause of this sentence joined to the next sentence of the same chunk."""
    if not following or len(_content(following)) < 3:
        return None
    head = (clause(s, random.Random(0)) or s).rstrip(".")
    tail = following.lstrip("-* ")
    return head + ", and " + (tail[0].lower() + tail[1:] if tail[:2] != tail[:2].upper() else tail)


# -- false claims -------------------------------------------------------------------------

def swap_number(s: str, chunk_text: str, rng: random.Random) -> str | None:
    nums = [m for m in NUMBER.finditer(s) if "." not in m.group()]
    if not nums:
        return None
    m = rng.choice(nums)
    n = int(m.group())
    present = set(NUMBER.findall(chunk_text))
    options = [x for x in {n + d for d in (-3, -2, -1, 1, 2, 4, 8)} | {n * 2, max(n // 2, 1), n * 10}
               if x > 0 and str(x) not in present]
    if not options:
        return None
    return s[:m.start()] + str(rng.choice(sorted(options))) + s[m.end():]


def swap_anchor(s: str, rng: random.Random) -> str | None:
    found = list(ANCHOR_SWAP.finditer(s))
    if not found:
        return None
    m = rng.choice(found)
    kind, space, value = m.group(1), m.group(2), m.group(3)
    if value.isalpha():
        new = rng.choice([x for x in "ABCD" if x != value.upper()])
    elif "-" in value:
        new = rng.choice([r for r in WEEK_RANGES if r != value])
    else:
        limit = 4 if kind.lower() in ("stage", "q") else 12
        new = str(rng.choice([i for i in range(1, limit + 1) if str(i) != value]))
    return s[:m.start()] + f"{kind}{space}{new}" + s[m.end():]


def swap_name(s: str, pool: list[str], chunk_words: set[str], rng: random.Random) -> str | None:
    mine = [n for n in names(s) if len(n) > 1]
    if not mine:
        return None
    target = rng.choice(sorted(mine))
    match = re.search(rf"\b{re.escape(target)}\b", s, re.I)
    options = [p for p in pool if p.lower() not in chunk_words]
    if not match or not options:
        return None
    return s[:match.start()] + rng.choice(options) + s[match.end():]


_FACT = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*|\d+(?:-\d+)?)\b")


def swap_inner(s: str, chunk_text: str, rng: random.Random) -> str | None:
    """Two facts of the sentence trade places ("LSTM ... GRU" -> "GRU ... LSTM"), or one is
    replaced by a fact of the same kind from elsewhere in the chunk: every word is still
    in the source, bound to the wrong thing."""
    facts = [m for m in _FACT.finditer(s) if m.start() > 0]
    kind = lambda t: t[0].isdigit()
    pairs = [(a, b) for k, a in enumerate(facts) for b in facts[k + 1:]
             if a.group() != b.group() and kind(a.group()) == kind(b.group())]
    if pairs and rng.random() < 0.5:
        a, b = rng.choice(pairs)
        return s[:a.start()] + b.group() + s[a.end():b.start()] + a.group() + s[b.end():]
    if not facts:
        return None
    m = rng.choice(facts)
    mine = {f.group() for f in facts}
    options = sorted({f.group() for f in _FACT.finditer(chunk_text)
                      if f.group() not in mine and kind(f.group()) == kind(m.group()) and len(f.group()) > 1
                      and f.group() not in ("The", "It", "In", "A", "This", "Roadmap", "Stage")})
    if not options:
        return None
    return s[:m.start()] + rng.choice(options) + s[m.end():]


def negate(s: str, rng: random.Random) -> str | None:
    if NEGATED.search(s):
        return NEGATED.sub("", s, count=1)
    found = list(NEGATABLE.finditer(s))
    if not found:
        return None
    m = found[0] if rng.random() < 0.7 else rng.choice(found)
    return s[:m.end()] + " not" + s[m.end():]


def flip_direction(s: str, rng: random.Random) -> str | None:
    found = [w for w in DIRECTIONS if re.search(rf"\b{w}\b", s)]
    if not found:
        return None
    w = rng.choice(found)
    return re.sub(rf"\b{w}\b", DIRECTIONS[w], s, count=1)


def splice(s: str, other: str) -> str | None:
    a, b = s.split(), other.split()
    if len(a) < 6 or len(b) < 6:
        return None
    return " ".join(a[:len(a) // 2] + b[len(b) // 2:])


def addition(s: str, other: str) -> str | None:
    tail = re.split(r"[,;:]\s", other.rstrip("."))[-1]
    if len(_content(tail)) < 3:
        return None
    return s.rstrip(".") + ", and " + tail[0].lower() + tail[1:] + "."


# -- the generator ------------------------------------------------------------------------

def generate(chunks: list[Chunk], rng: random.Random, limit: int | None = None) -> list[dict]:
    """[{sentence, chunk (index), label, kind}]: one true and one false claim per base."""
    per_chunk = [[s for s in sentences(c.text) if len(_content(s)) >= 4 and not s.lstrip().startswith(("-", "*"))
                  or len(_content(s)) >= 6] for c in chunks]
    stems = [{stem(t) for t in terms(c.embed_text)} for c in chunks]
    chunk_words = [set(re.findall(r"[a-z0-9]+", c.embed_text.lower())) for c in chunks]
    pool = sorted({n for c in chunks for n in re.findall(r"\b[A-Z][A-Za-z0-9]+\b", c.text)
                   if len(n) > 2 and not n.istitle() or n in ("PyTorch", "TensorFlow")})
    everything = [(i, s) for i, group in enumerate(per_chunk) for s in group]
    bases = list(everything)
    rng.shuffle(bases)
    if limit is not None:
        bases = bases[:limit]
    claims = []

    def other_sentence(i: int) -> str | None:
        for _ in range(20):
            j, s = rng.choice(everything)
            if chunks[j].doc_id != chunks[i].doc_id and coverage(s, stems[i]) < 0.75:
                return s
        return None

    following = {(i, a): b for i, group in enumerate(per_chunk) for a, b in zip(group, group[1:])}
    for i, s in bases:
        kind = rng.choices(["verbatim", "clause", "synonyms", "hedge", "drop", "swap", "merge", "restate"],
                           [1, 2, 1, 1, 2, 1, 2, 3])[0]
        made = {"clause": lambda: clause(s, rng), "synonyms": lambda: synonyms(s, rng), "hedge": lambda: hedge(s, rng),
                "drop": lambda: drop_words(s, rng), "swap": lambda: swap_clauses(s),
                "merge": lambda: merge(s, following.get((i, s))), "restate": lambda: "<restate>"}.get(kind, lambda: s)()
        if not made:
            kind, made = "drop", drop_words(s, rng)
        claims.append({"sentence": made or s, "chunk": i, "label": True, "kind": kind if made else "verbatim", "base": s})

        order = ["number", "anchor", "name", "inner", "negation", "direction", "other", "hard_other", "splice",
                 "addition"]
        weights = [3, 3, 2, 4, 3, 1, 2, 2, 1, 1]
        for kind in rng.choices(order, weights, k=6):
            other = other_sentence(i) if kind in ("other", "splice", "addition") else None
            made = {"number": lambda: swap_number(s, chunks[i].embed_text, rng), "anchor": lambda: swap_anchor(s, rng),
                    "name": lambda: swap_name(s, pool, chunk_words[i], rng), "negation": lambda: negate(s, rng),
                    "inner": lambda: swap_inner(s, chunks[i].text, rng), "direction": lambda: flip_direction(s, rng), "other": lambda: other,
                    "hard_other": lambda: "<hard>", "splice": lambda: other and splice(s, other),
                    "addition": lambda: other and addition(s, other)}[kind]()
            if made and made != s:
                # The same looser wording as the true claims get, so wording alone tells nothing.
                if made[0] != "<" and kind in ("number", "anchor", "name", "inner", "direction") and rng.random() < 0.4:
                    made = rng.choice([lambda: hedge(made, rng), lambda: drop_words(made, rng) or made])()
                claims.append({"sentence": made, "chunk": i, "label": False, "kind": kind, "base": s})
                break
    return claims


def fill_placeholders(claims: list[dict], chunks: list[Chunk], vec_of: dict[str, np.ndarray],
                      everything: list[tuple[int, str]], stems: list[set[str]]) -> None:
    """Fill "<hard>" with the sentence of another document most similar to the base chunk
    that the chunk does not cover (false), and "<restate>" with the most similar one it
    does cover, numbers, stages and weeks included (the corpus restating the same fact in
    other words: true); without one, a looser wording of the base."""
    matrix = np.stack([vec_of[s] for _, s in everything])
    for claim in claims:
        if claim["sentence"] not in ("<hard>", "<restate>"):
            continue
        i, hard = claim["chunk"], claim["sentence"] == "<hard>"
        mine = np.stack([vec_of[s] for j, s in everything if j == i])
        sims = (matrix @ mine.T).max(axis=1)
        text = chunks[i].embed_text
        found = None
        for k in np.argsort(-sims)[:400]:
            j, s = everything[k]
            if chunks[j].doc_id == chunks[i].doc_id or s == claim["base"]:
                continue
            cov = coverage(s, stems[i])
            if hard and cov < 0.75:
                found = s
            elif not hard and sims[k] >= 0.75 and cov >= 0.9 and _facts_present(s, text):
                found = s
            if found:
                break
        if found:
            claim["sentence"] = found
        else:
            claim["sentence"], claim["kind"] = (drop_words(claim["base"], random.Random(len(claim["base"]))) or claim["base"],
                                                "drop")


def _facts_present(s: str, text: str) -> bool:
    from tutor.grounding import _anchor_missing, _expanded, anchors

    stated = set(NUMBER.findall(text))
    return all(n in stated for n in NUMBER.findall(s)) and _anchor_missing(anchors(s), _expanded(anchors(text))) == 0


# -- fitting ------------------------------------------------------------------------------

def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 50) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Standardised L2 logistic regression by Newton's method (no randomness)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1]), mean, scale


def synthetic_set(embedder, corpus_dir: Path, seed: int = SEED, limit: int | None = None,
                  vectors: dict[str, np.ndarray] | None = None):
    """(features, labels, claims, number of chunks) of the generated training claims;
    `vectors` (text -> unit vector) is an embedding cache, filled as a side effect."""
    rng = random.Random(seed)
    chunks = corpus_chunks(corpus_dir)
    claims = generate(chunks, rng, limit)
    per_chunk = [sentences(c.text) or [c.text] for c in chunks]
    everything = [(i, s) for i, group in enumerate(per_chunk) for s in group]
    used = {c["chunk"] for c in claims}
    stems = [{stem(t) for t in terms(c.embed_text)} for c in chunks]
    # Embed only what is needed: the sentences of the chunks the bases come from (the
    # search space of hard negatives and restatements too), then the claims not among them.
    everything = [(i, s) for i, s in everything if i in used]
    source_sents = sorted({s for _, s in everything})
    vec_of = vectors if vectors is not None else {}
    missing = [t for t in source_sents if t not in vec_of]
    vec_of.update(zip(missing, embedder.encode(missing)))
    fill_placeholders(claims, chunks, vec_of, everything, stems)
    todo = sorted({c["sentence"] for c in claims} - set(vec_of))
    vec_of.update(zip(todo, embedder.encode(todo)))
    pools: dict[int, Sources] = {}
    for c in claims:
        i = c["chunk"]
        if i not in pools:
            pools[i] = Sources.of(per_chunk[i], np.stack([vec_of[s] for s in per_chunk[i]]), [chunks[i].embed_text])
    x = np.stack([features(c["sentence"], vec_of[c["sentence"]], pools[c["chunk"]]) for c in claims])
    y = np.array([float(c["label"]) for c in claims])
    return x, y, claims, len(chunks)


def train(embedder, *, corpus_dir: Path, labels_path: Path, seed: int = SEED, limit: int | None = None,
          date: str | None = None) -> tuple[GroundingModel, dict]:
    started = time.perf_counter()
    x, y, claims, n_chunks = synthetic_set(embedder, corpus_dir, seed, limit)
    weights, bias, mean, scale = fit_logistic(x[:, [FEATURES.index(f) for f in USE]], y)
    model = GroundingModel(USE, weights, bias, mean, scale, 0.5)

    labels = load_split_labels(labels_path)
    probs = label_scores(GroundingChecker(embedder, SentenceVectors(embedder), model), labels)
    threshold = round(calibrate_on_dev(probs, labels), 4)
    dev = [k for k, lab in enumerate(labels) if lab["split"] == "dev"]
    test = [k for k, lab in enumerate(labels) if lab["split"] == "test"]
    actual = [lab["supported"] for lab in labels]
    dev_acc = M.balanced_accuracy([probs[k] >= threshold for k in dev], [actual[k] for k in dev])
    test_acc = M.balanced_accuracy([probs[k] >= threshold for k in test], [actual[k] for k in test])
    train_acc = M.balanced_accuracy([bool(p >= threshold) for p in model.probability(x)], list(y.astype(bool)))
    kinds: dict[str, int] = {}
    for c in claims:
        key = f"{'true' if c['label'] else 'false'}:{c['kind']}"
        kinds[key] = kinds.get(key, 0) + 1
    meta = {
        "version": 1,
        "made_by": "python -m eval.train_grounding" + (f" --limit {limit}" if limit else ""),
        "generator_version": GENERATOR_VERSION, "seed": seed, "l2": L2,
        "date": date or dt.date.today().isoformat(),
        "embedder": getattr(embedder, "name", "all-MiniLM-L6-v2"),
        "corpus_chunks": n_chunks, "bases": int(y.sum()), "features_from": "tutor.grounding.features",
        "claims": len(claims), "claims_true": int(y.sum()), "claims_false": int(len(y) - y.sum()), "kinds": dict(sorted(kinds.items())),
        "threshold_from": f"dev split of {labels_path.name} ({len(dev)} claims), max balanced accuracy",
        "synthetic_balanced_accuracy": round(train_acc, 4),
        "dev_balanced_accuracy": round(dev_acc, 4), "test_balanced_accuracy": round(test_acc, 4),
    }
    model = GroundingModel(USE, weights, bias, mean, scale, round(threshold, 4), meta)
    return model, {"seconds": round(time.perf_counter() - started, 1), **meta}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--limit", type=int, default=None, help="use only this many base sentences (quick runs)")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--labels", type=Path, default=REPO / "eval" / "gold" / "support_labels.yaml")
    parser.add_argument("--date", default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    from tutor.embed import Embedder

    model, report = train(Embedder(threads=args.threads), corpus_dir=args.corpus, labels_path=args.labels,
                          seed=args.seed, limit=args.limit, date=args.date)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print("weights:", ", ".join(f"{f}={w:+.2f}" for f, w in zip(model.use, model.weights)))


if __name__ == "__main__":
    main()
