"""The grounding check (tutor/grounding.py) beside the support scorer on the hand labels.

`grounding_check(embedder, labels)` is what `tutor eval` calls: balanced accuracy of the
trained check on the dev split (where its threshold was calibrated) and the test split
(never used for anything else), and the support scorer's on both, at its shipped
threshold and at a threshold calibrated on dev the same way. Both score a label exactly as
they score an answer (`score_sentences` against a chunk holding the passage; a label that
splits into several sentences takes its weakest).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from eval import metrics as M
from tutor.grounding import GroundingChecker, GroundingModel
from tutor.sentence_vectors import SentenceVectors
from tutor.support import SUPPORT_THRESHOLD, SupportScorer
from tutor.types import Chunk

LABELS_FILE = Path(__file__).resolve().parent / "gold" / "support_labels.yaml"


def load_split_labels(path: Path = LABELS_FILE) -> list[dict]:
    """Every labelled claim with its passage's split ("dev" or "test")."""
    data = yaml.safe_load(Path(path).read_text())
    return [{"sentence": c["sentence"], "context": p["context"], "supported": bool(c["supported"]),
             "source": p["source"], "why": c.get("why", ""), "split": p["split"]}
            for p in data["passages"] for c in p["claims"]]


def with_splits(labels: list[dict], path: Path = LABELS_FILE) -> list[dict]:
    """`labels` (eval.runner.load_labels keeps no split) with the split the file gives each."""
    known = {(lab["source"], lab["sentence"]): lab["split"] for lab in load_split_labels(path)}
    return [lab if lab.get("split") else {**lab, "split": known.get((lab["source"], lab["sentence"]), "")}
            for lab in labels]


def label_scores(scorer, labels: list[dict]) -> list[float]:
    """Each label's score from anything with `score_sentences(answer, sources)`."""
    contexts: dict[str, Chunk] = {}
    scores = []
    for label in labels:
        chunk = contexts.get(label["context"])
        if chunk is None:
            chunk = Chunk(f"label:{label['source']}:{len(contexts)}", label["source"].split("#")[0],
                          label["context"], "", "user", "support_labels.yaml")
            contexts[label["context"]] = chunk
        scored = scorer.score_sentences(label["sentence"], [chunk])
        scores.append(min((s.score for s in scored), default=0.0))
    return scores


def _split_accuracy(scores: list[float], labels: list[dict], threshold: float) -> dict:
    out = {}
    for split in ("dev", "test"):
        idx = [k for k, lab in enumerate(labels) if lab["split"] == split]
        out[split] = round(M.balanced_accuracy([scores[k] >= threshold for k in idx],
                                               [labels[k]["supported"] for k in idx]), 4)
    return out


def calibrate_on_dev(scores: list[float], labels: list[dict]) -> float:
    dev = [k for k, lab in enumerate(labels) if lab["split"] == "dev"]
    threshold, _ = M.calibrate_threshold([scores[k] for k in dev], [labels[k]["supported"] for k in dev])
    return threshold


def grounding_check(embedder, labels: list[dict], model: GroundingModel | None = None,
                     labels_path: Path = LABELS_FILE) -> dict:
    """`labels` as eval.runner.load_labels gives them (splits are looked up in
    `labels_path` when missing); `model` defaults to the shipped one."""
    labels = with_splits(labels, labels_path)
    vectors = SentenceVectors(embedder)
    checker = GroundingChecker(embedder, vectors, model)
    scorer = SupportScorer(embedder, vectors)
    ours = label_scores(checker, labels)
    theirs = label_scores(scorer, labels)
    scorer_dev_threshold = calibrate_on_dev(theirs, labels)
    counts = {split: {"supported": sum(lab["supported"] for lab in labels if lab["split"] == split),
                      "unsupported": sum(not lab["supported"] for lab in labels if lab["split"] == split)}
              for split in ("dev", "test")}
    test_misses = [{"sentence": lab["sentence"], "supported": lab["supported"], "score": round(s, 4), "why": lab["why"]}
                   for lab, s in zip(labels, ours) if lab["split"] == "test" and (s >= checker.threshold) != lab["supported"]]
    return {
        "n": len(labels), "counts": counts,
        "checker": {"threshold": checker.threshold, "model": checker.model.meta.get("made_by", ""),
                    "balanced_accuracy": _split_accuracy(ours, labels, checker.threshold),
                    "scores": [round(s, 4) for s in ours], "test_misclassified": test_misses},
        "scorer": {"threshold": SUPPORT_THRESHOLD,
                   "balanced_accuracy": _split_accuracy(theirs, labels, SUPPORT_THRESHOLD),
                   "dev_calibrated_threshold": round(scorer_dev_threshold, 4),
                   "dev_calibrated_balanced_accuracy": _split_accuracy(theirs, labels, scorer_dev_threshold),
                   "scores": [round(s, 4) for s in theirs]},
    }
