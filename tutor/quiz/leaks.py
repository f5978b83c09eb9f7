"""Whether a quiz-mode reply gives an open item's key away, by what it means and not only
by its words (the literal checks are `tutor.quiz.hints.leaks`; this module adds the rest).

A reply leaks when
  (a) a sentence of it states the key in other words: its score
          cos(sentence, question + key) - cos(sentence, question) + key_overlap
      reaches LEAK_THRESHOLD (fitted on the dev half of eval/gold/quiz_leak_labels.yaml by
      `python -m eval.quiz_leaks calibrate --write`). The difference of cosines is what the
      key adds to the sentence's meaning beyond restating the question; key_overlap is the
      share of the key's own words (not in the question nor in another option) the sentence
      uses, each weighted by its rarity in the corpus, hyphens and plurals ignored
      ("non-linearity" is "nonlinearity"); a sentence with all of them leaks whatever its
      score. For true/false items the statement is the key's content: a sentence that
      restates it affirms it, so the score is taken against the statement and its topic
      (the concept and the source section) instead;
  (b) it confirms or denies a guess: it answers a learner's message that names or
      paraphrases a candidate ("is it B?", "is it the one about nonlinearity?") with a
      verdict (yes, no, correct, exactly, that's it, nope, ...);
  (c) it rules options out until one is left: the options that sentences name together with
      an exclusion ("rule out", "not", "wrong"), counted over the conversation's earlier
      replies too; the level-3 hint rules out one distractor, any other exclusion is a denial;
  (d) for a true/false item, any verdict at all.
The embedder is the retrieval one (all-MiniLM-L6-v2), as for the support scorer.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from tutor.calibration import calibrated
from tutor.embed import Embedder
from tutor.models import QuizItem
from tutor.quiz.schema import LETTERS
from tutor.text import sentences, stem, terms

LEAK_THRESHOLD = calibrated("quiz_leak_threshold")  # tutor/data/calibration.json
MIN_TERM = 4  # "add", "use", "set": three-letter words say too little about a key to count
# A short-answer question has no options to tell the key apart by, and a reply that restates
# it as a claim with a word of its own is answering it ("dropout switches off neurons ...",
# cosine 0.81 to its question), rightly or wrongly. Set by hand on the labelled replies (a
# restatement without new words was 0.94; guiding sentences about the topic 0.43-0.68).
ANSWER_SIM = 0.75
GUIDING = re.compile(r"\?\s*$|^\W*(hint:?\s*)?(think|consider|look|ask|remember|reread|re-read|recall|check|compare|"
                     r"try|imagine|focus|notice|read|review|find|what|which|how|why|when|where|who)\b", re.I)

# A verdict on a guess, at the start of a sentence or as a phrase anywhere.
VERDICT_START = re.compile(
    r"^\W*(yes|yeah|yep|yup|no|nope|nah|correct|incorrect|right|wrong|exactly|indeed|true|false|"
    r"absolutely|definitely|bingo|precisely|sure|close|not quite|spot on|you got it|that'?s it|"
    r"ja|nein|genau|stimmt|oui|non|exactement|s[ií]|exacto|claro|correcto)\b", re.I)
VERDICT_PHRASE = re.compile(
    r"\b(that'?s (it|right|correct|wrong|true|false|the one)|that is (it|right|correct|wrong|true|false)|"
    r"you('re| are) (right|correct|wrong|close)|you got it|spot on|not quite|on the right track|"
    r"(is|was) (the )?(correct|right|wrong)( answer| option| one)?\b|(correct|right|wrong) (answer|option|choice|guess))",
    re.I)
# True/false: naming the verdict, or judging the statement, is the key.
TF_VERDICT = re.compile(
    r"\b(true|false|correct|incorrect|right|wrong|accurate|inaccurate|valid|invalid|holds|myth|"
    r"misconception|not the case|the case|mistaken|untrue|"
    # the statement judged against the roadmap: "the roadmap agrees with the statement"
    r"(dis)?agree[sd]?|contradict(s|ed)?|(in)?consistent with|in line with|at odds with|"
    r"vrai|faux|wahr|falsch|richtig|stimmt|verdadero|falso|cierto|correcto|incorrecto|vero)\b", re.I)
# A learner asking for a verdict on a candidate.
VERDICT_REQUEST = re.compile(
    r"\b(yes or no|yes/no|true or false|am i right|is it\b|is that\b|isn'?t it|so it'?s|so it is|"
    r"could it be|would it be|must be|has to be|should be|is the answer|i think it|i guess|my (answer|guess)|confirm|rule out|"
    r"eliminate|which (options?|ones?|choices?) (are|is) wrong|wrong ones?|can'?t be|cannot be|"
    r"right\s*\?|correct\s*\?|wrong\s*\?|true\s*\?|false\s*\?)", re.I)
EXCLUSION = re.compile(
    r"\b(rule[sd]? out|ruling out|eliminate[sd]?|not|isn'?t|aren'?t|wasn'?t|can'?t|cannot|never|no|"
    r"wrong|incorrect|false|unlikely|exclude[sd]?|does not back|doesn'?t)\b|n't\b", re.I)


def _letter_mentions(text: str, index: int) -> bool:
    """Whether `text` points at option `index` by letter, number or ordinal ("B", "(b)",
    "is it c?", "option 2", "the second one"). Learners type lower case, but "a" is also an
    article: a bare lower-case letter counts only after a word that names a choice."""
    letter, number = LETTERS[index], index + 1
    ordinal = ("first", "second", "third", "fourth")[index]
    after = r"(?=\s*($|[?.!,;:)\"']|\bor\b|\band\b))"
    anycase = (rf"\b(option|choice|answer|letter)\s*(is\s*)?[:#(\"']?\s*{letter}{after}",
               rf"\(\s*{letter}\s*\)", rf"(^|\s){letter}\s*\)",
               rf"\b(is it|it'?s|it is|be|not|pick|picked|choose|rule out|eliminate|then)\s+{letter}{after}",
               rf"\b(option|choice|number|answer)\s*(no\.?|#)?\s*{number}\b", rf"\b{ordinal}\s+(option|choice|one)\b")
    capital = (rf"(^|\s){letter}\s*[.:?](\s|$)", rf"\b{letter}\s*(,|\bor\b|\band\b)\s*[A-D]\b",
               rf"\b[A-D]\s*(,|\bor\b|\band\b)\s*{letter}\b")
    return any(re.search(p, text, re.I) for p in anycase) or any(re.search(p, text) for p in capital)


def base(word: str) -> str:
    """The stem a word is compared by here: tutor.text.stem of the word without a hyphen
    or a plural s ("non-linearity" is "nonlinearity", "unit" is "units")."""
    word = word.lower().replace("-", "")
    return stem(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)


def _stems(text: str) -> set[str]:
    return {base(t) for t in terms(re.sub(r"(?<=[a-z])-(?=[a-z])", "", text.lower()))}


def own_stems(text: str, question: str) -> set[str]:
    """The stems of `text` that the question does not already use; short words only when
    nothing longer is left."""
    known = _stems(question)
    all_own = {s for s in _stems(text) if s not in known}
    long = {s for s in all_own if len(s) >= MIN_TERM}
    return long or all_own


@dataclass
class ItemView:
    """What the checks need of one item, computed once: the statement its key makes, the
    topic a hint may name freely, the key's own words, each option's own words (mcq)."""

    kind: str
    question: str
    key_text: str
    key_index: int | None
    options: list[str]
    topic: str = ""
    option_stems: list[set[str]] = field(default_factory=list)
    key_stems: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, item: QuizItem) -> "ItemView":
        answer = json.loads(item.answer)
        options = json.loads(item.options) if item.kind == "mcq" else []
        key = options[answer] if item.kind == "mcq" else ("" if item.kind == "tf" else str(answer))
        question = item.question
        view = cls(item.kind, question, key, answer if item.kind == "mcq" else None, options)
        # A hint may say what the question says; for true/false, the statement *is* the key,
        # so only its topic (the concept, the source section) is free.
        view.topic = question if item.kind != "tf" else \
            f"{(item.concept_id or '').replace('-', ' ')} {item.source_title.split(' — ')[0]}"
        own = [own_stems(o, question) for o in options]
        # What tells an option apart: its words that no other option (nor the question) uses.
        view.option_stems = [o - set().union(*(x for j, x in enumerate(own) if j != i)) or o
                             for i, o in enumerate(own)]
        view.key_stems = view.option_stems[answer] if options else \
            own_stems(key, question) if key else own_stems(view.statement, view.topic)
        return view

    @property
    def statement(self) -> str:
        """What the key asserts: the question with its answer (tf: the statement itself)."""
        if self.kind == "tf":
            return re.sub(r"^\s*true or false\s*[:?,.-]\s*", "", self.question, flags=re.I)
        return f"{self.question} {self.key_text}"


def document_frequencies(texts: Sequence[str]) -> tuple[Counter, int]:
    """In how many texts each compared stem occurs (rare key words weigh more)."""
    return Counter(s for t in texts for s in _stems(t)), len(texts)


class Scored(NamedTuple):
    sentence: str
    score: float  # the meaning score compared with the threshold
    overlap: float  # the share of the key's own words it uses, rarity-weighted
    on_topic: float  # its cosine to the question (true/false: to the topic)


@dataclass
class LeakCheck:
    embedder: Embedder
    threshold: float = LEAK_THRESHOLD
    frequencies: tuple[Counter, int] = (Counter(), 0)  # document_frequencies of the corpus

    def _weight(self, s: str) -> float:
        counts, n = self.frequencies
        return math.log((n + 1) / (counts.get(s, 0) + 1)) + 1.0

    # -- (a) the key in other words ---------------------------------------------------------

    def sentence_scores(self, reply: str, view: ItemView, skip: int | None = None) -> list[Scored]:
        """A Scored for every sentence of `reply`:
        score = cos(sentence, statement) - cos(sentence, topic) + key_overlap, the overlap
        weighted by how rare each key word is in the corpus (inverse document frequency).
        `skip`: a distractor; sentences that rule out only it are about it, not the key."""
        parts = [s for s in sentences(reply) if terms(s) and not (
            skip is not None and EXCLUSION.search(s) and self.named_options(s, view) == {skip})]
        if not parts:
            return []
        vectors = self.embedder.encode([view.statement, view.topic, *parts])
        gain = vectors[2:] @ vectors[0] - vectors[2:] @ vectors[1]
        total = sum(self._weight(s) for s in view.key_stems)
        out = []
        for sentence, g, on_topic in zip(parts, gain, vectors[2:] @ vectors[1]):
            have = view.key_stems & _stems(sentence)
            overlap = sum(self._weight(s) for s in have) / total if total else 0.0
            out.append(Scored(sentence, float(g) + overlap, overlap, float(on_topic)))
        return out

    def states_key(self, reply: str, view: ItemView, skip: int | None = None) -> str | None:
        plain = reply.lower().replace("-", "")
        letters = re.sub(r"[^a-z]", "", plain)
        for word in {w for w in terms(view.key_text) if len(w) >= 5 and base(w) in view.key_stems}:
            if word not in plain and (word in letters or word[::-1] in letters):
                return f"spells a word of the key ({word!r})"
        for sentence, score, overlap, on_topic in self.sentence_scores(reply, view, skip):
            if overlap >= 1.0 and view.kind != "tf":
                return f"states the key's words: {sentence!r}"
            if view.kind == "short" and on_topic >= ANSWER_SIM and not GUIDING.search(sentence) and "____" not in sentence \
                    and _stems(sentence) - _stems(f"{view.question} {view.topic}"):
                return f"answers the question (cosine {on_topic:.2f} to it, with words of its own): {sentence!r}"
            if score >= self.threshold:
                what = "restates the statement" if view.kind == "tf" else "states the key in other words"
                return f"{what} (score {score:.2f}): {sentence!r}"
        return None

    # -- (b) confirming or denying a guess ---------------------------------------------------

    def named_options(self, text: str, view: ItemView) -> set[int]:
        """Options `text` names: by letter/number, or by at least half of their own words
        (two at least, when they have two)."""
        found = set()
        stems = _stems(text)
        for i, own in enumerate(view.option_stems):
            hits = len(own & stems)
            if _letter_mentions(text, i) or (own and hits / len(own) >= 0.5 and hits >= min(2, len(own))):
                found.add(i)
        return found

    def is_guess(self, message: str, view: ItemView) -> bool:
        """Whether the learner asks for a verdict on a candidate answer (then no model is
        asked: the reply is a fixed one, see hints.CONFIRM_REPLY)."""
        if VERDICT_REQUEST.search(message):
            return True
        if view.kind == "mcq":
            return bool(self.named_options(message, view))
        if view.kind == "tf":
            return bool(TF_VERDICT.search(message))
        return bool(view.key_stems & _stems(message))  # short: it names part of the key

    @staticmethod
    def gives_verdict(reply: str) -> bool:
        return any(VERDICT_START.search(s) for s in sentences(reply)) or bool(VERDICT_PHRASE.search(reply))

    # -- (c) ruling options out --------------------------------------------------------------

    def excluded(self, reply: str, view: ItemView) -> set[int]:
        """Options a sentence of `reply` names together with an exclusion."""
        out: set[int] = set()
        for sentence in sentences(reply):
            if EXCLUSION.search(sentence):
                out |= self.named_options(sentence, view)
        return out

    # -- all together ------------------------------------------------------------------------

    def check(self, reply: str, item: QuizItem, message: str = "", earlier: Sequence[str] = (),
              allowed_out: int | None = None) -> str | None:
        """Why `reply` (to `message`, after the conversation's `earlier` replies) gives the
        key of `item` away, or None. `allowed_out`: the distractor the level-3 hint rules out."""
        view = ItemView.of(item)
        if view.kind == "tf" and (TF_VERDICT.search(reply) or any(VERDICT_START.search(s) for s in sentences(reply))):
            return "states a true/false verdict"
        if message and self.is_guess(message, view) and self.gives_verdict(reply):
            return "confirms or denies a guess"
        if view.kind == "mcq":
            now = self.excluded(reply, view)
            if view.key_index in now:
                return "rules out the key"  # wrong, and a denial of the option it names
            if now - {allowed_out}:
                return f"rules out option(s) {sorted(LETTERS[i] for i in now - {allowed_out})} (a denial)"
            before = set().union(*(self.excluded(e, view) for e in earlier)) if earlier else set()
            if len(now | before) >= len(view.options) - 1:
                return "rules out all options but one, over the conversation"
        return self.states_key(reply, view, allowed_out)


def fitted_threshold(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, float]:
    """(threshold, balanced accuracy) maximising balanced accuracy on labelled scores;
    ties go to the lowest threshold (missing a leak costs more than a template hint)."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    best = (1.0, 0.0)
    for t in sorted(set(np.round(s, 4))):
        hit = s >= t
        tpr = (hit & y).sum() / max(y.sum(), 1)
        tnr = (~hit & ~y).sum() / max((~y).sum(), 1)
        if (tpr + tnr) / 2 > best[1] + 1e-9:
            best = (float(t), float((tpr + tnr) / 2))
    return best
