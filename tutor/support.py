"""How well each answer sentence is supported by the sources it cites.

No NLI or cross-encoder model is available offline, so support combines two signals:
- meaning: the best cosine similarity between the sentence and any sentence of its cited
  chunks (whole chunks, not only the part shown to the model), with the retrieval embedder;
- facts: the share of the sentence's content terms that occur in those chunks, and whether
  every number it states (digits or words) and every name (a capitalised word or acronym
  past its first word: "JAX", "Docker") occurs there: a wrong week or year is the commonest
  slip, a tool or author the source never names the next.

An opening condition ("If you enjoy maths, research suits you") must be held, with what it
is said to lead to, by one statement of the sources, not by a question they ask. So must a
side clause (", which is a prerequisite for ..."), with a word of what it is said of.

score = (SIM_WEIGHT * similarity + (1 - SIM_WEIGHT) * term_coverage), halved when a number
or a name is missing, the condition or side clause is unstated or the sentence contradicts
its source (tutor/contradiction.py); a sentence is supported when score >= SUPPORT_THRESHOLD.
Sentences that claim nothing are not scored: no content word of three letters or more (a
list number "2."), or the model saying the sources lack the answer (a refusal, counted as
one). The threshold is a first calibration on hand-checked answers and
is revisited by the eval suite's labelled set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from tutor.calibration import calibrated
from tutor.context import heading
from tutor.contradiction import contradiction
from tutor.embed import Embedder
from tutor.form import untied
from tutor.sentence_vectors import SentenceVectors
from tutor.text import (BESIDE_SPAN, markers, names, numbers_in, plan_item_numbers, sentences, singular, spelled_out, stem,
                        strip_markers, terms, with_durations)
from tutor.types import Chunk, SentenceSupport

SIM_WEIGHT = 0.5
SUPPORT_THRESHOLD = calibrated("support_threshold")  # tutor/data/calibration.json
# The model saying the sources lack something: a refusal, not a claim about the roadmap.
MODEL_REFUSAL = re.compile(r"(does not|doesn't|do not) (cover|mention|contain|say)|no information", re.I)


# A stated length ("8 weeks") is checked by its number; the verb that carries it ("Stage 1
# lasts 8 weeks", where the source says "weeks 1-8, 8 weeks") is not a term to look for.
_LENGTH = re.compile(r"\b\d+ (?:weeks?|months?)\b", re.I)
_DURATION_VERBS = frozenset("last lasts lasting take takes taking run runs spans span spanning".split())


# "If X, Y" claims Y under X, so one statement of the sources must hold both: the model made
# an FAQ's question ("Are you comfortable finding clients and managing your own income?")
# the premise of its sentence on another track (run 16's a-faq-40, passed at 0.97; a dev
# label is the same slip with the FAQ's other question).
_CONDITION = re.compile(r"^(?:If|When|Whenever|Unless|Once|As long as)\s+([^,]{3,}?),\s+(\S.*)$")


def _content(text: str) -> list[str]:
    return [t for t in terms(text) if len(t) > 2 and not t.isdigit()]


def condition_unstated(sentence: str, source_texts: list[str]) -> bool:
    """Whether `sentence` opens with a condition that no statement of the sources (a source
    sentence not ending in "?") holds, at least half of its content words beside a word of
    what the sentence says follows from it."""
    if not (m := _CONDITION.match(sentence.strip())):
        return False
    condition, claim = ({stem(t) for t in _content(part)} for part in m.groups())
    return bool(condition) and not _held_together(condition, claim, source_texts)


def _held_together(most: set[str], beside: set[str], source_texts: list[str]) -> bool:
    """Whether one statement of the sources holds at least half of `most` and a word of
    `beside`: a condition with what follows from it, a side clause with what it is said of."""
    return any(2 * len(most & held) >= len(most) and beside & held
               for text in source_texts for held in _statements(text))


# ", which is a prerequisite for the research track": a side clause says something of the
# word before it, which one statement of the sources must say of that word: "Months 1-3 of
# this track go to mathematics, which is a prerequisite for the research track" passed at
# 0.7 on the statistics page's "Introductory statistics ... is a Roadmap A prerequisite, and
# Roadmap B's research track lists statistics ..." (run 25's m-22; a-track-09 the same slip)
_SIDE_CLAUSE = re.compile(r"([\w'-]+(?:\s+[\w'-]+)?),\s+which\s+((?:is|are|was|were)\s[^,;.]{3,})")


def side_clause_unstated(sentence: str, source_texts: list[str]) -> bool:
    """Whether a ", which is ..." clause of `sentence` says what no statement of the sources
    holds, at least half of its content words beside a word of the two before it."""
    for found in _SIDE_CLAUSE.finditer(sentence):
        said_of, side = ({stem(t) for t in _content(part)} for part in found.groups())
        if said_of and side and not _held_together(side, said_of, source_texts):
            return True
    return False


def without_side_clauses(sentence: str) -> str:
    """`sentence` without its ", which is ..." clauses: "Months 1-3 of this track go to
    mathematics." """
    return _SIDE_CLAUSE.sub(lambda m: m.group(1), sentence)


@lru_cache(maxsize=512)
def _statements(text: str) -> tuple[frozenset[str], ...]:
    """The stems of each sentence of `text` that is not a question, once per source text."""
    return tuple(frozenset(stem(t) for t in terms(s)) for s in sentences(text) if not s.rstrip().endswith("?"))


def missing_names(sentence: str, source: str) -> list[str]:
    """The names of `sentence` (text.names, label openings aside) that `source` does not hold,
    compared by stem ("LSTMs" holds for "LSTM"); an acronym holds when words of the source
    begin with its letters ("NLP": natural language processing), and the words a sentence
    spells an acronym with hold when the source has the acronym ("K-Nearest Neighbors (KNN)"
    where it says "kNN")."""
    source = source.lower()
    stems, initials = _stems_of(source), _initials_of(source)
    spelled = acronym_words(sentence, source)
    missing = []
    for name in names(sentence, labels=True) - spelled:
        bare = singular(name)
        # a prefix holds ("LSTM" in "lstms"), but a letter only as a word: "option D" is not
        # held by "deep"
        whole = r"\b" if len(bare) == 1 else ""
        if not ({name, bare} & initials or stem(name) in stems or re.search(rf"\b{re.escape(bare)}{whole}", source)):
            missing.append(name)
    return missing


def acronym_words(sentence: str, source: str) -> set[str]:
    """The words with which `sentence` spells out an acronym that `source` (lower-cased) has:
    a true "In Weeks 5-6, you learn K-Nearest Neighbors (KNN)" was withdrawn at 0.34 for
    "nearest" and "neighbors", the plan saying "kNN"."""
    return {w for acronym, words in spelled_out(sentence).items()
            if re.search(rf"\b{acronym}s?\b", source) for w in words}


# A source's stems and acronym initials, once per text: every sentence of an answer is scored
# against the same few sources, and since session 22 against each of them alone as well.
@lru_cache(maxsize=512)
def _stems_of(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in terms(text))


@lru_cache(maxsize=512)
def _initials_of(text: str) -> frozenset[str]:
    tokens = re.findall(r"[a-z0-9]+", text)
    return frozenset("".join(w[0] for w in tokens[i:i + n]) for n in (2, 3, 4) for i in range(len(tokens) - n + 1))


def without_sentences(text: str, drop: set[str]) -> tuple[str, dict[str, str]]:
    """`text` with every sentence whose marker-free form is in `drop` cut out, the rest kept
    as written (markers, line breaks, list bullets); lines left without a word go too. A
    sentence right after a cut one loses an opening "However," or "So," that tied it to
    what was cut (tutor/form.py `untied`). Returns the text and, marker-free, {sentence as
    scored: as served} for the sentences so changed (the tie word is no claim: the score
    stands)."""
    changed, after_cut = {}, False
    for sentence in sentences(text):
        if strip_markers(sentence) in drop:
            text, after_cut = text.replace(sentence, "", 1), True
            continue
        if after_cut and (free := untied(sentence)) != sentence:
            text = text.replace(sentence, free, 1)
            changed[strip_markers(sentence)] = strip_markers(free)
        after_cut = False
    # a sentence cut from the start of a line leaves the space that followed it
    lines = [re.sub(r"(?<=\S)[ \t]{2,}", " ", re.sub(r"^[ \t](?=\S)", "", line)).rstrip()
             for line in text.split("\n")]
    kept = [line for line in lines if not line.strip() or re.search(r"[A-Za-z]", line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip(), changed


def is_claim(sentence: str) -> bool:
    """Whether a sentence states something to check: not a list number ("2."), not a
    filler without content words, not the model saying the sources lack the answer."""
    return bool(_content(sentence)) and not MODEL_REFUSAL.search(sentence)


@dataclass
class SupportScorer:
    embedder: Embedder
    sentence_vectors: SentenceVectors
    threshold: float = SUPPORT_THRESHOLD
    _as_shown: dict = field(default_factory=dict, repr=False)  # (id, text) -> vectors (_read_as_shown)

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
        # What the prompt showed beyond the chunk's own sentences: its heading line and
        # the spans with their length ("Stage 1 (..., weeks 1-8, 8 weeks)"), embedded per
        # request (a few short lines) since the cached vectors are of the chunk as indexed.
        per_source = [self._read_as_shown(c) for c in sources]
        answer_vecs = self.embedder.encode([strip_markers(s) for s in items])
        # as the prompt showed them, heading line included: "According to the FAQ, ..." names
        # what the heading called the source
        texts = [with_durations(f"{heading(c)}\n{c.embed_text}") for c in sources]
        results = []
        for sentence, vec in zip(items, answer_vecs):
            cited = [n - 1 for n in markers(sentence) if 1 <= n <= n_cited]
            best, score = self._best(strip_markers(sentence), vec, cited or list(range(n_cited)), n_cited,
                                     per_source, texts)
            if cited and score < self.threshold:
                # The 1.5B model often cites [2] for what [3] says: a sentence that only
                # another source backs is supported there, and answer.py re-cites it.
                best, score = max((best, score), self._best(strip_markers(sentence), vec, list(range(n_cited)),
                                                            n_cited, per_source, texts), key=lambda r: r[1])
            results.append(SentenceSupport(strip_markers(sentence), round(score, 4),
                                           score >= self.threshold, sources[best].id))
        return results

    def _read_as_shown(self, chunk: Chunk) -> np.ndarray:
        """Vectors of the chunk's sentences and of what the prompt showed beyond them: its
        heading line and spans with their length ("Stage 1 (..., weeks 1-8, 8 weeks)").
        Computed once per chunk and text, like the sentence vectors themselves."""
        key = (chunk.id, chunk.text)
        if (cached := self._as_shown.get(key)) is None:
            parts, vectors = self.sentence_vectors.get(chunk)
            lines = [line for line in dict.fromkeys([with_durations(heading(chunk)), *map(with_durations, parts)])
                     if line not in parts]
            cached = np.vstack([vectors, self.embedder.encode(lines)]) if lines else vectors
            self._as_shown[key] = cached
        return cached

    def _best(self, sentence: str, vec: np.ndarray, pool: list[int], n_cited: int, per_source: list,
              texts: list[str]) -> tuple[int, float]:
        """(the source in `pool` that backs `sentence` best on its own, its score against the
        whole pool); facts past `n_cited` are always in the pool. The source is the one whose
        own score is highest, not the one most alike: "Dropout was introduced by Srivastava,
        ... in 2014", written without a marker, was most like the concept page and cited it,
        though only the paper's summary names the authors (session 22)."""
        pool = pool + list(range(n_cited, len(per_source)))
        best_sims = [float((per_source[j] @ vec).max()) for j in pool]
        score = self._score(sentence, max(best_sims), [texts[j] for j in pool])
        if len(pool) == 1:
            return pool[0], score
        own = [self._score(sentence, sim, [texts[j]]) for j, sim in zip(pool, best_sims)]
        return pool[int(np.argmax(own))], score

    @staticmethod
    def _score(sentence: str, similarity: float, source_texts: list[str],
               number_texts: list[str] | None = None) -> float:
        """`number_texts`: where the sentence's numbers must occur (default: the sources)."""
        joined = " ".join(source_texts).lower()
        source_stems = _stems_of(joined)
        spelled = acronym_words(sentence, joined)
        content = [t for t in _content(sentence) if not set(t.split("-")) <= spelled]
        if _LENGTH.search(sentence):  # "lasts 8 weeks": the verb adds nothing the number check misses
            content = [t for t in content if t not in _DURATION_VERBS]
        coverage = sum(stem(t) in source_stems for t in content) / len(content) if content else 1.0
        where = " ".join(number_texts) if number_texts is not None else joined
        # "In weeks 29 and 30, ..." is what the plan item "- Weeks 28-30: ..." says: a true
        # answer was withdrawn for its 29 (0.46)
        # "trained on a single GPU" where the source says "two GPUs": number words count too
        stated = set(numbers_in(where)) | plan_item_numbers(where)
        # "Before week 9, ...": the weeks it points from are the question's, not a claim
        facts_ok = (all(n in stated for n in numbers_in(BESIDE_SPAN.sub(" ", sentence), claim=True)) and not missing_names(sentence, where)
                    and not condition_unstated(sentence, source_texts)
                    and not side_clause_unstated(sentence, source_texts) and not contradiction(sentence, source_texts))
        score = SIM_WEIGHT * max(similarity, 0.0) + (1 - SIM_WEIGHT) * coverage
        return score if facts_ok else score / 2
