"""A trained grounding check: is an answer sentence backed by the chunks it cites?

No NLI model can be installed offline, so this is a small logistic regression over signals
the tutor already computes, fitted on claims generated from the corpus itself
(eval/train_grounding.py: chunk sentences and light paraphrases against copies with a
swapped number, week, stage, name or negation, and sentences of other chunks). It never
sees the hand labels; its threshold is calibrated on their dev split only.

Features per (sentence, cited chunks), see `features`:
- meaning: the best and the top-2 cosine between the sentence and the chunks' sentences
  (the retrieval embedder, the same cached vectors the support scorer uses);
- words: content-term coverage (stems and exact), stem coverage within the two best
  matching source sentences, coverage of adjacent term pairs, how many terms are new;
- facts: numbers, and numbers bound to a unit of the roadmap ("stage 3", "weeks 9-16",
  "Q2", "option B", "the third stage"), present in the sources and in the best sentences;
  capitalised names present; a negation or a direction word ("before", "fewer") that the
  best sentences do not share.

`features` computes 23 signals; the shipped model (tutor/data/grounding-v1.json) uses the
six that did best on the dev split: max cosine, stem coverage, numbers missing, bound
numbers missing, negation mismatch, names missing. It is stricter than the support scorer:
it rejects word-sharing claims with a wrong month or week, an added or dropped negation or
a name the passage lacks, and also rejects paraphrases that bring several words of their
own. It cannot see a contradiction stated in the passage's own words (two names swapped,
a definition turned round): no feature here reads meaning that finely.
`GroundingChecker.score_sentences` has the scorer's signature, so it can replace
`SupportScorer` where answers are scored.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tutor.contradiction import OPPOSITES, negated_copy
from tutor.embed import Embedder
from tutor.sentence_vectors import SentenceVectors
from tutor.support import is_claim
from tutor.text import NEGATION, NUMBER, STOPWORDS as _STOP, markers, names, sentences, stem, strip_markers, terms, words
from tutor.types import Chunk, SentenceSupport

MODEL_FILE = Path(__file__).parent / "data" / "grounding-v1.json"

FEATURES = (
    "max_cos", "top2_cos", "mean_cos", "stem_cov", "exact_cov", "best_cov", "pair_cov",
    "new_terms", "n_terms", "has_number", "num_missing", "num_missing_best",
    "has_anchor", "anchor_missing", "anchor_missing_best", "has_name", "name_missing",
    "neg_mismatch", "direction_flip", "cos_x_cov", "scorer", "bind_min", "bind_mean",
)

_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6"}
_KINDS = {"stage": "stage", "stages": "stage", "week": "week", "weeks": "week", "month": "month",
          "months": "month", "quarter": "q", "q": "q", "option": "option", "track": "track"}
# "stage 3", "weeks 9-16", "months 4 to 8", "Q2", "option B", "the third stage"
_ANCHOR = re.compile(r"\b(stages?|weeks?|months?|quarter|option)\s+(\d+(?:\s*(?:-|to|and)\s*\d+)?|[a-d]\b)"
                     r"|\bq([1-4])\b"
                     r"|\b(first|second|third|fourth|fifth|sixth)\s+(stage|quarter|month|week)", re.I)



def anchors(text: str) -> set[tuple[str, str]]:
    """Numbers bound to a unit of the roadmap, normalised: ("stage", "3"), ("week", "9-16")."""
    found = set()
    for m in _ANCHOR.finditer(text):
        if m.group(1):
            kind, value = _KINDS[m.group(1).lower()], m.group(2).lower()
            value = re.sub(r"\s*(?:-|to|and)\s*", "-", value)
        elif m.group(3):
            kind, value = "q", m.group(3)
        else:
            kind, value = _KINDS[m.group(5).lower()], _ORDINALS[m.group(4).lower()]
        found.add((kind, value))
    return found


def _expanded(found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """A source's anchors with every number inside its ranges ("weeks 9-16" holds week 12)."""
    out = set(found)
    for kind, value in found:
        if "-" in value:
            a, b = value.split("-", 1)
            if a.isdigit() and b.isdigit() and int(b) - int(a) < 60:
                out |= {(kind, str(i)) for i in range(int(a), int(b) + 1)}
    return out


def _anchor_missing(claimed: set[tuple[str, str]], source: set[tuple[str, str]]) -> float:
    if not claimed:
        return 0.0
    def ok(kind, value):
        if (kind, value) in source:
            return True
        a, _, b = value.partition("-")
        return bool(b) and (kind, a) in source and (kind, b) in source
    return sum(not ok(k, v) for k, v in claimed) / len(claimed)


def _content(text: str) -> list[str]:
    return [t for t in terms(text) if len(t) > 2 and not t.isdigit()]


def _direction_flip(sentence_words: set[str], best_words: set[str]) -> float:
    """A word of the sentence whose opposite (tutor/contradiction.py) the best sentences use
    instead."""
    mine, best = {stem(w) for w in sentence_words}, {stem(w) for w in best_words}
    return float(any(OPPOSITES.get(w, set()) & best - mine for w in mine - best))


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def _tokens(text: str) -> list[str]:
    """Lower-cased word tokens, "U-Net's" -> "u-net", a range "17-18" also as "17", "18"."""
    out = []
    for t in _TOKEN.findall(text):
        t = re.sub(r"'s$", "", t.lower())
        out.append(t)
        if re.fullmatch(r"\d+-\d+", t):
            out += t.split("-")
    return out


def _facts_and_context(text: str) -> list[tuple[str, int]]:
    """(token, position) of every number and capitalised name in `text` (the facts whose
    binding to the rest of the claim can go wrong)."""
    tokens = _TOKEN.findall(text)
    return [(re.sub(r"'s$", "", t.lower()), k) for k, t in enumerate(tokens)
            if k > 0 and (any(ch.isdigit() for ch in t) or t[0].isupper()) and t.lower() not in ("a", "i")]


def binding(sentence: str, units: list[set[str]], window: int = 10) -> tuple[float, float]:
    """How well each fact of the claim (a number, a name) sits among the same words in the
    source as in the claim: for each fact, the share of the content stems within `window`
    words of it in the claim that occur in a source sentence holding that fact (the best
    such sentence; 0 when none holds it). (min, mean) over facts; (1, 1) with none. A
    stage, week or name moved onto another item of a list scores low. `units`: the token
    sets of the source's sentences (`Sources.units`)."""
    claim_tokens = [re.sub(r"'s$", "", t.lower()) for t in _TOKEN.findall(sentence)]
    unit_stems = [{stem(t) for t in u} for u in units]
    scores = []
    for fact, k in _facts_and_context(sentence):
        near = {stem(t) for t in claim_tokens[max(0, k - window):k + window + 1]
                if t != fact and len(t) > 2 and not any(ch.isdigit() for ch in t) and t not in _STOP}
        if not near:
            continue
        scores.append(max((len(near & st) / len(near) for u, st in zip(units, unit_stems) if fact in u), default=0.0))
    return (min(scores), sum(scores) / len(scores)) if scores else (1.0, 1.0)


def negation_mismatch(sentence: str, best: str, top: str) -> float:
    """1 when the claim negates what its best-matching sentences do not, or copies the
    words that follow a negation in its best-matching sentence without the negation."""
    if NEGATION.search(sentence):
        return float(not NEGATION.search(best))
    return float(bool(negated_copy({stem(t) for t in terms(sentence)}, top)))


@dataclass
class Sources:
    """What every claim against the same cited chunks compares with, computed once:
    their sentences and unit vectors, and term, number, anchor and word sets of their text."""
    sentences: list[str]
    vectors: np.ndarray
    text: str
    terms: set[str] = field(init=False)
    stems: set[str] = field(init=False)
    pairs: set[tuple[str, str]] = field(init=False)
    numbers: set[str] = field(init=False)
    anchors: set[tuple[str, str]] = field(init=False)
    words: set[str] = field(init=False)
    units: list[set[str]] = field(init=False)

    def __post_init__(self):
        found = terms(self.text)
        self.terms, self.stems = set(found), {stem(t) for t in found}
        content = _content(self.text)
        self.pairs = {(stem(a), stem(b)) for a, b in zip(content, content[1:])}
        self.numbers = set(NUMBER.findall(self.text))
        self.anchors = _expanded(anchors(self.text))
        self.words = set(words(self.text))
        self.units = [set(_tokens(u)) for u in sentences(self.text)]

    @classmethod
    def of(cls, source_sentences: list[str], source_vecs: np.ndarray, source_texts: list[str]) -> "Sources":
        return cls(list(source_sentences), source_vecs, " ".join(source_texts))


def features(sentence: str, vec: np.ndarray, src: Sources) -> np.ndarray:
    """The feature vector (order of FEATURES) of one sentence, `vec` its unit vector,
    against its cited sources."""
    sims = src.vectors @ vec if len(src.vectors) else np.zeros(1, dtype=np.float32)
    order = np.argsort(-sims)
    best_idx = order[:2]
    max_cos = float(sims[order[0]])
    top2 = float(np.mean(sims[best_idx]))
    mean_cos = float(np.mean(sims))
    best = " ".join(src.sentences[i] for i in best_idx) if src.sentences else ""

    content = _content(sentence)
    best_stems = {stem(t) for t in terms(best)}
    n = max(len(content), 1)
    stem_cov = sum(stem(t) in src.stems for t in content) / n if content else 1.0
    exact_cov = sum(t in src.terms for t in content) / n if content else 1.0
    best_cov = sum(stem(t) in best_stems for t in content) / n if content else 1.0
    new_terms = sum(stem(t) not in src.stems for t in content)
    pairs = list(zip(content, content[1:]))
    pair_cov = sum((stem(a), stem(b)) in src.pairs for a, b in pairs) / len(pairs) if pairs else 1.0

    numbers = NUMBER.findall(sentence)
    stated_best = set(NUMBER.findall(best))
    num_missing = sum(x not in src.numbers for x in numbers) / len(numbers) if numbers else 0.0
    num_missing_best = sum(x not in stated_best for x in numbers) / len(numbers) if numbers else 0.0

    claimed = anchors(sentence)
    anchor_missing = _anchor_missing(claimed, src.anchors)
    anchor_missing_best = _anchor_missing(claimed, _expanded(anchors(best)))

    mentioned = names(sentence)
    name_missing = sum(not (set(words(x)) <= src.words) for x in mentioned) / len(mentioned) if mentioned else 0.0

    neg_mismatch = negation_mismatch(sentence, best, src.sentences[int(order[0])] if src.sentences else "")
    flip = _direction_flip(set(words(sentence)), set(words(best)))
    return np.array([
        max_cos, top2, mean_cos, stem_cov, exact_cov, best_cov, pair_cov,
        math.log1p(new_terms), math.log1p(len(content)), float(bool(numbers)), num_missing, num_missing_best,
        float(bool(claimed)), anchor_missing, anchor_missing_best, float(bool(mentioned)), name_missing,
        neg_mismatch, flip, max_cos * stem_cov,
        # the support scorer's own score (tutor/support.py), as one more signal
        (0.5 * max(max_cos, 0.0) + 0.5 * stem_cov) * (0.5 if num_missing else 1.0),
        *binding(sentence, src.units),
    ], dtype=np.float64)


@dataclass(frozen=True)
class GroundingModel:
    """Standardised logistic regression over the features named in `use` (a subset of
    FEATURES): P(supported) = sigmoid(w . (x[use] - mean) / scale + b)."""
    use: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float
    meta: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[int]:
        return [FEATURES.index(f) for f in self.use]

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x)[:, self.columns] - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": list(self.use), "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(float(self.bias), 6), "mean": [round(float(m), 6) for m in self.mean],
                "scale": [round(float(s), 6) for s in self.scale], "threshold": round(float(self.threshold), 4),
                **self.meta}

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "GroundingModel":
        data = json.loads(Path(path).read_text())
        unknown = [f for f in data["features"] if f not in FEATURES]
        if unknown:
            raise ValueError(f"{path} uses features this code does not compute ({', '.join(unknown)}): "
                             "run `python -m eval.train_grounding`")
        meta = {k: v for k, v in data.items() if k not in ("features", "weights", "bias", "mean", "scale", "threshold")}
        return cls(tuple(data["features"]), np.array(data["weights"]), float(data["bias"]), np.array(data["mean"]),
                   np.array(data["scale"]), float(data["threshold"]), meta)


class GroundingChecker:
    """Drop-in for SupportScorer: `score_sentences(answer, sources)` with a trained model.
    `score` is P(supported); `supported` is score >= the model's dev-calibrated threshold."""

    def __init__(self, embedder: Embedder, sentence_vectors: SentenceVectors,
                 model: GroundingModel | None = None, threshold: float | None = None):
        self.embedder, self.sentence_vectors = embedder, sentence_vectors
        self.model = model or GroundingModel.load()
        self.threshold = self.model.threshold if threshold is None else threshold

    def score_sentences(self, answer: str, sources: list[Chunk]) -> list[SentenceSupport]:
        """Every claim of `answer` against the sources it cites ([n] is 1-based into
        `sources`); a sentence without a valid marker is checked against all of them."""
        items = [s for s in sentences(answer) if is_claim(strip_markers(s))]
        if not items or not sources:
            return []
        self.sentence_vectors.warm(sources)
        cached = [self.sentence_vectors.get(c) for c in sources]
        vecs = self.embedder.encode([strip_markers(s) for s in items])
        pools: dict[tuple[int, ...], Sources] = {}
        results = []
        for sentence, vec in zip(items, vecs):
            cited = [n - 1 for n in markers(sentence) if 1 <= n <= len(sources)]
            pool = tuple(dict.fromkeys(cited)) or tuple(range(len(sources)))
            if pool not in pools:
                pools[pool] = Sources.of([s for j in pool for s in cached[j][0]],
                                         np.concatenate([cached[j][1] for j in pool]),
                                         [sources[j].embed_text for j in pool])
            x = features(strip_markers(sentence), vec, pools[pool])
            p = float(self.model.probability(x)[0])
            best = pool[int(np.argmax([float((cached[j][1] @ vec).max()) for j in pool]))]
            results.append(SentenceSupport(strip_markers(sentence), round(p, 4), p >= self.threshold, sources[best].id))
        return results
