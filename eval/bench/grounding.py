"""Time per answer sentence: the grounding check (tutor/grounding.py) against the support
scorer (tutor/support.py), both timed in this process on the same inputs.

    nice -n 15 .venv/bin/python -m eval.bench.grounding [--rounds 3] [--threads 2]

Inputs are the first 60 (--answers) hand-labelled passages (eval/gold/support_labels.yaml): each passage's
claims joined into one answer, scored against that passage and three others (four
sources, as the tutor cites). Two timings per checker:
- warm: the sources' sentence vectors already cached (SentenceVectors, as in serving
  after a chunk's first use); the answer sentences are embedded inside the timing;
- cold: a fresh cache each answer, so the sources' sentences are embedded too.
The two run alternately, round by round, so machine load hits both alike. Prints
milliseconds per sentence (median over rounds) and the ratio checker / scorer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TARGET_MS = 20.0


def _answers(labels: list[dict]):
    from tutor.types import Chunk

    passages: dict[str, list[str]] = {}
    for lab in labels:
        passages.setdefault(lab["context"], []).append(lab["sentence"].rstrip(" .") + ".")
    chunks = [Chunk(f"bench:{k}", f"bench{k}", context, "", "user", "bench") for k, context in enumerate(passages)]
    out = []
    for k, (context, claims) in enumerate(passages.items()):
        others = [chunks[(k + d) % len(chunks)] for d in (7, 19, 31)]
        out.append((" ".join(claims), [chunks[k], *others], len(claims)))
    return out


def _time(scorer_factory, answers, warm: bool) -> tuple[float, int]:
    """Seconds spent scoring every answer, and the number of sentences scored."""
    scorer = scorer_factory()
    if warm:
        for _, sources, _ in answers:
            scorer.sentence_vectors.warm(sources)
    total, n = 0.0, 0
    for text, sources, _ in answers:
        if not warm:
            scorer = scorer_factory()
        started = time.perf_counter()
        scored = scorer.score_sentences(text, sources)
        total += time.perf_counter() - started
        n += len(scored)
    return total, n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--answers", type=int, default=60, help="passages used (of 149)")
    args = parser.parse_args(argv)

    from eval.grounding_check import load_split_labels
    from tutor.embed import Embedder
    from tutor.grounding import GroundingChecker, GroundingModel
    from tutor.sentence_vectors import SentenceVectors
    from tutor.support import SupportScorer

    embedder = Embedder(threads=args.threads)
    model = GroundingModel.load()
    answers = _answers(load_split_labels())[:args.answers]
    makers = {"support scorer": lambda: SupportScorer(embedder, SentenceVectors(embedder)),
              "grounding check": lambda: GroundingChecker(embedder, SentenceVectors(embedder), model)}
    _time(makers["grounding check"], answers[:5], warm=False)  # load and warm the runtime once
    per: dict[tuple[str, bool], list[float]] = {}
    for _ in range(args.rounds):
        for warm in (True, False):
            for name, make in makers.items():
                seconds, n = _time(make, answers, warm)
                per.setdefault((name, warm), []).append(1000 * seconds / n)
    print(f"{len(answers)} answers, {sum(a[2] for a in answers)} claims, 4 sources each; "
          f"embedder {embedder.name}, {args.threads} threads, {args.rounds} rounds (median)")
    for warm in (True, False):
        ours = statistics.median(per[("grounding check", warm)])
        theirs = statistics.median(per[("support scorer", warm)])
        label = "warm (sources cached)" if warm else "cold (sources embedded)"
        print(f"{label:26s} support scorer {theirs:6.2f} ms/sentence   grounding check {ours:6.2f} ms/sentence   "
              f"ratio {ours / theirs:4.2f}x   target <= {TARGET_MS:.0f} ms: {'PASS' if ours <= TARGET_MS else 'FAIL'}")


if __name__ == "__main__":
    main()
