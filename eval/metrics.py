"""Eval metrics: pure functions over plain values (doc ids, strings, booleans), so each is
unit-tested on tiny hand-made inputs (tests/test_eval.py) and shared by tutor and baseline.

Conventions:
- a document id is a chunk id without its "#n" suffix (`doc_id`);
- ranked retrieval lists are chunk-level doc ids in rank order (a document can repeat);
- a metric that does not apply to an item returns None (a refused answer has no
  groundedness; an answer without [n] markers has no citation validity to check), and
  `mean` skips None, so aggregates are over the items where the metric means something.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np

from tutor.text import NUMBER_WORD, NUMBER_WORDS, markers

_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_RANGE = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:-|to|through|until|and)\s*(\d+(?:\.\d+)?)\b")


def doc_id(chunk_id: str) -> str:
    return chunk_id.split("#")[0]


# -- retrieval ------------------------------------------------------------------------------

Ranked = Sequence[str | Sequence[str]]  # per rank a doc id, or the doc ids one chunk maps to


def _docs_at(item: str | Sequence[str]) -> list[str]:
    return [item] if isinstance(item, str) else list(item)


def _flat(ranked: Ranked) -> set[str]:
    return {d for item in ranked for d in _docs_at(item)}


def _unique(ranked: Ranked) -> list[str]:
    return list(dict.fromkeys(d for item in ranked for d in _docs_at(item)))


def hit_at_k(ranked_docs: Ranked, expected: Sequence[str], k: int) -> float:
    """1.0 when any expected document is among the first k retrieved chunks (the definition
    tests/test_gold.py and eval/thresholds.yaml's retrieval_recall_at_5 use)."""
    return float(bool(_flat(ranked_docs[:k]) & set(expected)))


def recall_at_k(ranked_docs: Ranked, expected: Sequence[str], k: int) -> float:
    """Share of the expected documents found among the first k retrieved chunks."""
    if not expected:
        raise ValueError("recall needs at least one expected document")
    return len(_flat(ranked_docs[:k]) & set(expected)) / len(set(expected))


def reciprocal_rank(ranked_docs: Ranked, expected: Sequence[str]) -> float:
    """1/rank of the first retrieved chunk of an expected document (0 when none is)."""
    wanted = set(expected)
    return next((1.0 / r for r, item in enumerate(ranked_docs, 1) if wanted & set(_docs_at(item))), 0.0)


def ndcg_at_k(ranked_docs: Ranked, expected: Sequence[str], k: int = 10) -> float:
    """Binary-relevance nDCG over documents: repeated chunks of one document count once
    (at its first rank), so a list cannot score by retrieving one document many times."""
    wanted = set(expected)
    docs = _unique(ranked_docs)[:k]
    dcg = sum(1.0 / math.log2(r + 1) for r, d in enumerate(docs, 1) if d in wanted)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(wanted), k) + 1))
    return dcg / ideal if ideal else 0.0


# -- answers --------------------------------------------------------------------------------

def normalise(text: str) -> str:
    """Lower case; dashes unified; number words up to twenty as digits; ranges written
    "9-16", "9 - 16", "9 to 16" or "9–16" all become "9-16"; punctuation (except the range
    dash and decimal point) becomes space; whitespace collapsed."""
    text = _DASHES.sub("-", str(text).lower())
    text = NUMBER_WORD.sub(lambda m: NUMBER_WORDS[m.group(1)], text)
    text = _RANGE.sub(lambda m: f"{m.group(1)}-{m.group(2)}", text)
    text = re.sub(r"\.(?!\d)|(?<!\d)\.|[^\w.\-+#]", " ", text)
    text = re.sub(r"(?<![\w])-|-(?![\w])", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# A fact ending in a letter is also stated by its inflections: "RDDs" states "RDD", and the
# gold set writes some facts as stems ("retriev", "orchestrat") that no whole word equals.
_INFLECTION = r"(?:s|es|e|ed|d|ing|ion|ions|al)?"


# "stages 2 and 3" (normalised to "stages 2-3") states "stage 2" and "stage 3"; "weeks 5, 6
# or 7" each week; a range its two ends ("weeks 9-16" does not say "week 10" in so many words)
_ENUMERATED = re.compile(r"\b(stage|week|month|quarter)s ((?:\d+(?:-| (?:and |or )?))+\d+)\b")


def _enumerations_spelled_out(text: str) -> str:
    return _ENUMERATED.sub(lambda m: " ".join(f"{m.group(1)} {n}" for n in re.findall(r"\d+", m.group(2))), text)


def contains_fact(answer: str, fact: str) -> bool:
    """Normalised match on word boundaries ("9-16" is not found in "19-160"); a fact ending
    in a letter may carry an inflection ("RDD" in "RDDs", "retriev" in "retrieval"), and a
    word fact may be part of a hyphenated compound ("Kaggle" in "Kaggle-style results", "KL"
    in "KL-divergence"); a number may not ("16" is not in "9-16"). "stages 2 and 3" states
    "stage 3" (run 10 scored a right answer to "which stages does Q2 line up with?" 0)."""
    fact_n = normalise(fact)
    if not fact_n:
        return False
    before = r"(?<![^\s-])" if fact_n[0].isalpha() else r"(?<!\S)"
    after = _INFLECTION + r"(?![^\s-])" if fact_n[-1].isalpha() else r"(?!\S)"
    said = normalise(answer)
    if re.fullmatch(r"(?:stage|week|month|quarter) \d+", fact_n):  # "stage 3"
        said = _enumerations_spelled_out(said)
    return re.search(before + re.escape(fact_n) + after, said) is not None


def key_fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    if not facts:
        return None
    return sum(contains_fact(answer, f) for f in facts) / len(facts)


def groundedness(supported: Sequence[bool]) -> float | None:
    """Share of scored answer sentences supported by their cited sources; None when no
    sentence was scored (a refusal, or an empty answer)."""
    return sum(supported) / len(supported) if supported else None


def citation_validity(answer: str, citations: Sequence[tuple[int, str]],
                      retrieved_chunk_ids: Iterable[str]) -> float | None:
    """1.0 when every [n] in the answer names a citation and every citation is a retrieved
    chunk; 0.0 otherwise; None when the answer has neither markers nor citations."""
    numbers = {n for n, _ in citations}
    marks = markers(answer)
    if not marks and not citations:
        return None
    retrieved = set(retrieved_chunk_ids)
    ok = all(m in numbers for m in marks) and all(c in retrieved for _, c in citations)
    return float(ok)


def citation_precision(cited_chunk_ids: Sequence[str], expected: Sequence[str]) -> float | None:
    """Share of citations whose document is an expected one; None without citations."""
    if not cited_chunk_ids:
        return None
    wanted = set(expected)
    return sum(doc_id(c) in wanted for c in cited_chunk_ids) / len(cited_chunk_ids)


def refusal_correct(refused: bool, answerable: bool) -> float:
    """Per item: 1.0 when the refusal decision is right (refuse iff unanswerable)."""
    return float(refused != answerable)


def refusal_accuracy(refused_on_unanswerable: Sequence[bool]) -> float | None:
    return sum(refused_on_unanswerable) / len(refused_on_unanswerable) if refused_on_unanswerable else None


def false_refusal_rate(refused_on_answerable: Sequence[bool]) -> float | None:
    return sum(refused_on_answerable) / len(refused_on_answerable) if refused_on_answerable else None


# -- classification of the support scorer -------------------------------------------------

def balanced_accuracy(predicted: Sequence[bool], actual: Sequence[bool]) -> float:
    """(TPR + TNR) / 2; a class that is absent counts as perfectly recalled."""
    pos = [p for p, a in zip(predicted, actual) if a]
    neg = [p for p, a in zip(predicted, actual) if not a]
    tpr = sum(pos) / len(pos) if pos else 1.0
    tnr = sum(not p for p in neg) / len(neg) if neg else 1.0
    return (tpr + tnr) / 2


def calibrate_threshold(scores: Sequence[float], actual: Sequence[bool]) -> tuple[float, float]:
    """(threshold, balanced accuracy): the cut maximising balanced accuracy for "supported
    when score >= threshold". Candidates are midpoints between consecutive distinct scores
    (and just outside both ends); among the best, the middle of the widest run of equally
    good midpoints wins, so the cut sits as far as possible from both classes' errors."""
    values = sorted(set(float(s) for s in scores))
    if not values:
        raise ValueError("no scores to calibrate on")
    cuts = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    accs = [balanced_accuracy([s >= c for s in scores], actual) for c in cuts]
    best = max(accs)
    runs, i = [], 0
    while i < len(cuts):
        if math.isclose(accs[i], best):
            j = i
            while j + 1 < len(cuts) and math.isclose(accs[j + 1], best):
                j += 1
            runs.append((cuts[i], cuts[j]))
            i = j + 1
        else:
            i += 1
    lo, hi = max(runs, key=lambda r: r[1] - r[0])
    return (lo + hi) / 2, best


# -- aggregation ----------------------------------------------------------------------------

def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def paired_bootstrap_ci(a: Sequence[float | None], b: Sequence[float | None], *, seed: int = 0,
                        resamples: int = 2000, level: float = 0.95) -> dict | None:
    """Mean difference a - b over items where both are defined, with a percentile bootstrap
    interval that resamples items (pairs stay together). None when no pair exists."""
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if not pairs:
        return None
    diffs = np.array([x - y for x, y in pairs], dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(resamples, len(diffs)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return {"diff": float(diffs.mean()), "lo": float(lo), "hi": float(hi), "n": len(pairs),
            "a": float(np.mean([x for x, _ in pairs])), "b": float(np.mean([y for _, y in pairs]))}


# Metric name -> what it is (report legend). Higher is better except where CEILING.
METRICS = {
    "hit_at_5": "recall@5: any expected document among the top 5 chunks",
    "recall_at_5": "doc recall@5: share of expected documents among the top 5 chunks",
    "mrr": "MRR: 1/rank of the first chunk of an expected document (top 10)",
    "ndcg_at_10": "nDCG@10 over documents, binary relevance",
    "key_fact_recall": "key-fact recall: share of the item's key facts the answer states",
    "groundedness": "groundedness: share of answer sentences the support scorer finds supported",
    "citation_validity": "citation validity: every [n] names a citation, every citation a retrieved chunk",
    "citation_precision": "citation precision: share of citations from an expected document",
    "refusal_accuracy": "refusal accuracy: unanswerable items refused",
    "false_refusal": "false-refusal rate: answerable items refused",
    "held_back": "held back (tutor): share of the draft's scored sentences cut as unsupported",
    "judge_groundedness": "judge groundedness: share of sentences with P(yes) >= 0.5 (LLM judge)",
    "judge_p_yes": "judge mean P(yes) over answer sentences",
    "prompt_fact_coverage": "prompt key-fact coverage: share of the item's key facts in the sources the prompt shows",
    "malformed": "malformed: answers with a broken list, a line introducing nothing, a question or an unfinished sentence",
    "next_step": "next step: a 'what next' answer names a right next concept (or stage)",
}
LOWER_IS_BETTER = {"false_refusal", "held_back", "malformed"}
SUMMARY = ("hit_at_5", "prompt_fact_coverage", "groundedness", "judge_groundedness", "held_back", "key_fact_recall",
           "malformed", "next_step", "citation_validity", "refusal_accuracy", "false_refusal")
