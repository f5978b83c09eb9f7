"""Replacing the wrong options of a multiple-choice item that the model got wrong.

A 1.5B model writes a sound key far more often than three sound wrong answers: it repeats
the key, rewords it, or offers something its own source states. Rather than discard such
an item, each failed wrong option is replaced before validation by a phrase of the key's
type that the source does not back:

- a key stating numbers gets the same phrase with its numbers moved ("weeks 9-16" ->
  "weeks 13-20", "0.001" -> "0.01"), so it reads like the key but is not the fact;
- any other key gets a name from the corpus's own vocabulary (concept, paper and
  specialisation titles), never another accepted item's key. (Until session 12 a
  description took other items' keys first; review dropped every such item: "word2vec's
  problem" and "the Vision Transformer's idea" as wrong answers to what LSTMs are used for
  read as absurd, and one quiz would show a phrase as right in one item and wrong in another.)
Candidates closest in meaning to the question come first, so wrong answers stay on topic.

A replacement must pass the same tests as the validator applies (distinct from the key
and the other options, not backed by the source like the key, read like the key: same
form and length class, so a bare name never stands beside a sentence-long key; a model's
own wrong option that reads unlike the key is replaced too), and the repaired item is
then validated like any other: a key the source does not back is never rescued. How many
options were replaced is stored in the item's scores ("replaced").
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from tutor.quiz.schema import MCQ_OPTIONS, Candidate, schema_problems
from tutor.quiz.validate import (Validator, backed_like_the_key, distractors, normalise, one_correct_problem,
                                 option_form, same_length_class)
from tutor.text import NUMBER
from tutor.types import Chunk

POOL_KINDS = ("concept-", "paper-", "specialisation-")
MAX_NAME_CHARS = 60
TRIED = 12  # phrases tried per item, closest to the question first


class Phrases:
    """Phrases a wrong option can be drawn from, with their embeddings; grows as the bank
    accepts keys (add)."""

    def __init__(self, embedder, phrases: list[str] = ()):
        self.embedder = embedder
        self.texts: list[str] = []
        self.vectors: np.ndarray | None = None
        self.add(phrases)

    @classmethod
    def corpus_names(cls, chunks, embedder) -> Phrases:
        """Concept, paper and specialisation titles: the roadmap's own vocabulary."""
        return cls(embedder, sorted({_short_name(c.title) for c in chunks if c.doc_id.startswith(POOL_KINDS)}
                                    - {""}))

    def add(self, phrases) -> None:
        known = {normalise(t) for t in self.texts}
        new = [p for p in dict.fromkeys(phrases) if normalise(p) not in known and not NUMBER.search(p)]
        if new:
            self.texts += new
            vectors = self.embedder.encode(new)
            self.vectors = vectors if self.vectors is None else np.vstack([self.vectors, vectors])

    def closest(self, vector: np.ndarray) -> list[str]:
        if self.vectors is None:
            return []
        return [self.texts[i] for i in np.argsort(-(self.vectors @ vector))]


def _short_name(title: str) -> str:
    """"Adam: A Method for Stochastic Optimization — Key idea" -> "Adam"."""
    name = re.sub(r"\s*\(.*?\)", "", title.split(" — ")[0].split(": ")[0]).strip()
    return name if len(name) <= MAX_NAME_CHARS else ""


def shifted_numbers(key: str) -> list[str]:
    """The key with every number moved the same way, nearest moves first; [] if no numbers."""
    numbers = NUMBER.findall(key)
    if not numbers:
        return []
    if any("." in n for n in numbers):
        moves = [lambda x: x * 10, lambda x: x / 10, lambda x: x * 100, lambda x: x / 100]
    else:
        step = max(1, round(max(int(n) for n in numbers) / 4))
        moves = [lambda x, d=d: x + d for d in (-step, step, -2 * step, 2 * step, 3 * step)]
    variants = []
    for move in moves:
        values = [move(float(n)) for n in numbers]
        if min(values) <= 0:
            continue
        it = iter(_decimal(v) if "." in n else str(int(v)) for v, n in zip(values, numbers))
        variants.append(NUMBER.sub(lambda _: next(it), key))
    return variants


def _decimal(value: float) -> str:
    """0.0001 -> "0.0001", 15.0 -> "15" (no exponent, no trailing zeros)."""
    return f"{value:.10f}".rstrip("0").rstrip(".")


class DistractorRepair:
    """`names`: the corpus vocabulary; `answers`: keys of accepted items of the stage, which a
    replacement never is (validate.Validator.check rejects such a wrong option)."""

    def __init__(self, validator: Validator, names: Phrases, answers: Phrases):
        self.validator = validator
        self.names = names
        self.answers = answers

    def repair(self, c: Candidate, source: Chunk) -> tuple[Candidate, int]:
        """The item with its failed wrong options replaced, and how many were; the item
        unchanged (0) when it is not a well-formed mcq or too few replacements pass."""
        if c.kind != "mcq" or schema_problems(c) or one_correct_problem(c):
            return c, 0
        key = c.key_text()
        key_score = self.validator.key_support(c, source)
        kept: list[str] = []
        for wrong in distractors(c):
            if self._fits(c, wrong, key, kept, key_score, source):
                kept.append(wrong)
        replaced = MCQ_OPTIONS - 1 - len(kept)
        if not replaced:
            return c, 0
        for option in self._replacements(c, key, source):
            if len(kept) == MCQ_OPTIONS - 1:
                break
            if self._fits(c, option, key, kept, key_score, source):
                kept.append(option)
        if len(kept) < MCQ_OPTIONS - 1:
            return c, 0
        options = kept[:c.answer] + [key] + kept[c.answer:]
        return replace(c, options=options), replaced

    def _replacements(self, c: Candidate, key: str, source: Chunk) -> list[str]:
        if numeric := shifted_numbers(key):
            return numeric  # a number's wrong answers are numbers, never names
        question = self.validator.embedder.encode_one(c.question)
        around = f" {normalise(source.embed_text)} {normalise(c.question)} "
        taken = {normalise(k) for k in self.answers.texts} | {normalise(key)}
        return [p for p in self.names.closest(question)[:TRIED]
                if f" {normalise(p)} " not in around and normalise(p) not in taken]

    def _fits(self, c: Candidate, option: str, key: str, kept: list[str], key_score: float,
              source: Chunk) -> bool:
        if option_form(option) != option_form(key) or not same_length_class(option, key):
            return False
        if self.validator.alike([key, *kept, option]):
            return False
        return not backed_like_the_key(self.validator.distractor_support(c, option, source), key_score)
