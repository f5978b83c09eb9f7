"""How well each answer sentence is supported by the sources it cites.

No NLI or cross-encoder model is available offline, so support combines two signals:
- meaning: the best cosine similarity between the sentence and any sentence of its cited
  chunks (whole chunks, not only the part shown to the model), with the retrieval embedder;
- facts: the share of the sentence's content terms that occur in those chunks, and whether
  every number it states occurs there (a wrong week or year is the commonest slip).

score = (SIM_WEIGHT * similarity + (1 - SIM_WEIGHT) * term_coverage), halved when a number
is missing; a sentence is supported when score >= SUPPORT_THRESHOLD. Sentences that claim
nothing are not scored: no content word of three letters or more (a list number "2."), or
the model saying the sources lack the answer (a refusal, counted as one). The threshold
is a first calibration on hand-checked answers and is revisited by the eval suite's
labelled set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tutor.calibration import calibrated
from tutor.embed import Embedder
from tutor.sentence_vectors import SentenceVectors
from tutor.text import NUMBER, markers, sentences, stem, strip_markers, terms, with_durations
from tutor.types import Chunk, SentenceSupport

SIM_WEIGHT = 0.5
SUPPORT_THRESHOLD = calibrated("support_threshold")  # tutor/data/calibration.json
# The model saying the sources lack something: a refusal, not a claim about the roadmap.
MODEL_REFUSAL = re.compile(r"(does not|doesn't|do not) (cover|mention|contain|say)|no information", re.I)


def without_sentences(text: str, drop: set[str]) -> str:
    """`text` with every sentence whose marker-free form is in `drop` cut out, the rest kept
    as written (markers, line breaks, list bullets); lines left without a word go too."""
    for sentence in sentences(text):
        if strip_markers(sentence) in drop:
            text = text.replace(sentence, "", 1)
    lines = [re.sub(r"(?<=\S)[ \t]{2,}", " ", line).rstrip() for line in text.split("\n")]
    kept = [line for line in lines if not line.strip() or re.search(r"[A-Za-z]", line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def is_claim(sentence: str) -> bool:
    """Whether a sentence states something to check: not a list number ("2."), not a
    filler without content words, not the model saying the sources lack the answer."""
    return any(len(t) > 2 and not t.isdigit() for t in terms(sentence)) and not MODEL_REFUSAL.search(sentence)


@dataclass
class SupportScorer:
    embedder: Embedder
    sentence_vectors: SentenceVectors
    threshold: float = SUPPORT_THRESHOLD

    def score_sentences(self, answer: str, sources: list[Chunk], facts: list[Chunk] = ()) -> list[SentenceSupport]:
        """Score every sentence of `answer` against the sources it cites ([n] is 1-based
        into `sources`); a sentence without a valid marker is checked against all sources.
        `facts`: material every sentence may also draw on though no marker names it (the
        computed "what next" steps, which are no chunk of the corpus)."""
        items = [s for s in sentences(answer) if is_claim(strip_markers(s))]
        if not items or not sources:
            return []
        n_cited = len(sources)
        sources = [*sources, *facts]
        self.sentence_vectors.warm(sources)
        per_source = [self.sentence_vectors.get(c)[1] for c in sources]
        texts = [with_durations(c.embed_text) for c in sources]  # as the prompt showed them
        answer_vecs = self.embedder.encode([strip_markers(s) for s in items])
        results = []
        for sentence, vec in zip(items, answer_vecs):
            cited = [n - 1 for n in markers(sentence) if 1 <= n <= n_cited]
            pool = (cited or list(range(n_cited))) + list(range(n_cited, len(sources)))
            best_sims = [float((per_source[j] @ vec).max()) for j in pool]
            best = pool[int(np.argmax(best_sims))]
            score = self._score(strip_markers(sentence), max(best_sims), [texts[j] for j in pool])
            results.append(SentenceSupport(strip_markers(sentence), round(score, 4),
                                           score >= self.threshold, sources[best].id))
        return results

    @staticmethod
    def _score(sentence: str, similarity: float, source_texts: list[str],
               number_texts: list[str] | None = None) -> float:
        """`number_texts`: where the sentence's numbers must occur (default: the sources)."""
        joined = " ".join(source_texts).lower()
        source_stems = {stem(t) for t in terms(joined)}
        content = [t for t in terms(sentence) if len(t) > 2 and not t.isdigit()]
        coverage = sum(stem(t) in source_stems for t in content) / len(content) if content else 1.0
        stated = set(NUMBER.findall(" ".join(number_texts) if number_texts is not None else joined))
        numbers_ok = all(n in stated for n in NUMBER.findall(sentence))
        score = SIM_WEIGHT * max(similarity, 0.0) + (1 - SIM_WEIGHT) * coverage
        return score if numbers_ok else score / 2
