"""The retrieval-support gate: refuse, before any model call, a question the material does
not cover, naming what is missing rather than guessing.

A question is refused when the best dense cosine between it and any retrieved chunk is
below `REFUSAL_THRESHOLD`, fitted by `python -m eval.calibrate_gate --write` (re-run it after
changing the corpus, chunking, embedder or retrieval; how and on what is recorded beside
the value in tutor/data/calibration.json), unless the question is *anchored*: a short
question ("DDPM key idea?", "week 11 focus?") can embed far from every chunk yet name what
a retrieved chunk is about: a name the learner wrote with capitals ("DDPM", "XGBoost") that
is in the chunk (title or text: "What is DVC used for?" names the versioning chunk's tool)
and in at most RARE_TERM_CHUNKS chunks, or a week that a retrieved plan covers, or the kind of
roadmap entry (ENTRY_WORDS: "track", "quarter", "specialisation") that a retrieved chunk's
title names: "which track should I choose?" embeds at 0.28 from the track pages and "how do
I choose between the tracks?" at 0.30 from the FAQ on choosing one (MiniLM reads "track"
loosely), yet both ask about the roadmap's tracks; or a stage by its number with one of its
sections (STAGE_PARTS) that a retrieved chunk's title names with that stage: "do I have to
read papers in stage 1?" embeds at 0.23 from the stage's papers. (Rareness alone is no signal: in 626
chunks "recipe" and "year" are rare too.)

A question asking what something is ("what is X", "explain X", "how does X work") is
refused when its subject holds a word no chunk uses and its best cosine is below
SUBJECT_COSINE: "What is federated learning and how does it protect privacy?" (0.36;
"federated" is in no chunk) passed the cosine gate beside the privacy and learning chunks.

A question is also refused, whatever its cosine, when it names something no chunk holds:
a near miss ("the top-1 accuracy of EfficientNet-B3?", "Airflow's CeleryExecutor",
"Kubernetes' Horizontal Pod Autoscaler") embeds right beside the chunk on its neighbour
(EfficientNet-B7, Airflow, Kubernetes) and passes the cosine, but the material says nothing
on what was asked. The refusal names those words, so a learner who mistyped can rephrase.
A name the learner gives themselves ("I'm Priya"), the tutor ("hey Tutor") or the language
of the answer ("answer in French") is not asked about. What this costs: an answerable question that mentions a product the material never
names ("Can I do the roadmap on a MacBook Air?") is refused too, naming it.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cached_property

from tutor.calibration import calibrated
from tutor.index import LoadedIndex
from tutor.retrieve import stages_named
from tutor.routing import paper_names
from tutor.text import DEFINITION, singular, terms, week_spans, weeks_asked, words
from tutor.types import Hit

REFUSAL_THRESHOLD = calibrated("refusal_threshold")
# Midway between the dev questions with such a subject that must be refused (best cosine at
# most 0.383: speculative decoding, contrastive learning, federated learning) and the
# answerable ones (at least 0.478: "what's the name of the third stage"; "deliverable",
# YOLO's "detect"): eval/gold/gate_dev.yaml and the gold set's dev split, session 11.
SUBJECT_COSINE = 0.43
RARE_TERM_CHUNKS = 10
# The roadmap's own kinds of entry (tutor/routing.entry_kind), as a question names them; not
# "stage" or "milestone", which other walks of life use as often ("what stage of grief ...").
ENTRY_WORDS = frozenset({"track", "quarter", "specialisation", "specialization"})
# ... and only from a chunk at least this close: "what's the best running track in town?" has
# the track pages at 0.21, the questions above at 0.28-0.30 (set between them, by hand).
ENTRY_COSINE = 0.25
# The sections of a stage's page, asked with the stage's number: "do I have to read papers in
# stage 1?" embeds at 0.23 from "Stage 1 (...): papers" (MiniLM reads "have to" loosely; "do I
# need to read papers in stage 1?" is at 0.48), yet asks what that section holds.
STAGE_PARTS = frozenset({"paper", "resource", "milestone", "goal", "concept"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")  # snake_case: max_depth, n_estimators
# a name the learner gives themselves or calls the tutor by: "I'm Priya", "hey Tutor"
# ... or the language it wants the answer in: "answer in French"
_INTRODUCED = re.compile(r"\b(?:i'?m|i am|my name is|call me|this is|hey|hi|hello|dear|thanks|thank you)"
                         r",?\s+([A-Z][a-z]+)\b|\b(?:answer|reply|respond|explain|write|say|translate)\b"
                         r"[^.?!]{0,30}?\bin ([A-Z][a-z]+)\b", re.I)


def _name_words(question: str) -> list[str]:
    """The words written as names: capitals inside ("DDPM", "XGBoost") or a capital
    anywhere but a sentence's first word ("what is Polars"; not "Finished stage 1. Whats
    next?"), less a name the learner gives themselves, the tutor or the answer's language."""
    own = {name for found in _INTRODUCED.findall(question) for name in found if name}
    out = []
    for sentence in _SENTENCE.split(question):
        words = _WORD.findall(sentence)
        out += [w for i, w in enumerate(words)
                if (any(ch.isupper() for ch in w[1:]) or (i and w[0].isupper())) and w not in own]
    return out


def _names(question: str) -> set[str]:
    return {t for w in _name_words(question) for t in terms(w)}


_CONTRACTIONS = {"whats", "hows", "wheres", "whos", "whys", "thats", "theres"}  # "whats" typed without its apostrophe


class Gate:
    def __init__(self, index: LoadedIndex, threshold: float | None = None):
        self.index = index
        self.threshold = REFUSAL_THRESHOLD if threshold is None else threshold

    def refuses(self, question: str, hits: list[Hit]) -> bool:
        if self.threshold < 0:  # the gate is off (TUTOR_REFUSAL_THRESHOLD=-1): tests that must reach the model
            return not hits
        return (not hits or bool(self.unknown_names(question)) or bool(self.unknown_subject(question, hits))
                or (max(h.dense for h in hits) < self.threshold and not self.anchored(question, hits)))

    def unknown_names(self, question: str) -> list[str]:
        """The names the question writes that no chunk holds, as written ("CeleryExecutor"),
        and the code identifiers it writes that no chunk holds whole ("max_depth": its parts
        "max" and "depth" are everywhere, but the material never names the parameter)."""
        names = [w for w in _name_words(question)
                 if (ts := [t for t in terms(w) if len(t) > 2]) and not any(self.term_chunks[t] for t in ts)]
        names += [w for w in _IDENTIFIER.findall(question) if w.lower() not in self.corpus_text]
        return list(dict.fromkeys(names))

    def unknown_words(self, question: str) -> list[str]:
        """The question's content words (four letters or more) that no chunk uses: what a
        refusal names ("marathon", "tableau, snowflake"), rather than the question's first words."""
        return list(dict.fromkeys(t for t in self._unknown(terms(question)) if t not in _CONTRACTIONS))

    def unknown_subject(self, question: str, hits: list[Hit]) -> list[str]:
        """The words of a definitional question's subject that no chunk uses, when its best
        match is below SUBJECT_COSINE; [] otherwise."""
        found = DEFINITION.match(question)
        if not found or not hits or max(h.dense for h in hits) >= SUBJECT_COSINE:
            return []
        return self._unknown(terms(found.group(1)))

    def _unknown(self, candidates: list[str]) -> list[str]:
        """The words of four letters or more, not numbers, that no chunk uses."""
        return [t for t in candidates if len(t) >= 4 and not t.isdigit() and t not in self.corpus_words]

    @cached_property
    def corpus_words(self) -> set[str]:
        """Every word of the material, hyphenated ones also in parts and joined ("trade-off":
        "trade", "off", "tradeoff"); built on first use."""
        out = set()
        for word in words(self.corpus_text):
            parts = re.split(r"[.+#-]", word)
            out.update([word, "".join(parts), *parts])
        return out

    @cached_property
    def corpus_text(self) -> str:
        return "\n".join(c.embed_text for c in self.index.chunks).lower()

    @cached_property
    def term_chunks(self) -> Counter:
        """How many chunks hold each term; counted on the first question, not at start-up."""
        return Counter(t for c in self.index.chunks for t in set(terms(c.embed_text)))

    def anchored(self, question: str, hits: list[Hit]) -> bool:
        """Whether the question names what a retrieved chunk is about (RARE_TERM_CHUNKS): a
        name, or the subject of a definitional question written in lower case ("what is
        polars?" was refused where "What is Polars?" was answered), a retrieved paper by its
        name, a week of a retrieved plan, the kind of entry (ENTRY_WORDS) a retrieved chunk's
        title names, or the section of a stage (STAGE_PARTS) that a retrieved chunk's title
        names with the stage the question names."""
        named = _names(question) | (set(terms(found.group(1))) if (found := DEFINITION.match(question)) else set())
        rare = {t for t in named if len(t) > 2 and 0 < self.term_chunks[t] <= RARE_TERM_CHUNKS}
        weeks = weeks_asked(question)
        said = {singular(t) for t in terms(question)}
        entries, stages = said & ENTRY_WORDS, stages_named(question)
        parts = said & STAGE_PARTS if stages else set()
        for hit in hits:
            if rare & set(terms(hit.chunk.embed_text)):  # its title and text
                return True
            # a paper named as learners call it, however many chunks mention it: "tell me about
            # the T5 paper how big did they end up scaling it?" (T5 is in 19 chunks) was refused
            if hit.chunk.kind == "paper" and named & {t for n in paper_names(hit.chunk.title) for t in terms(n)}:
                return True
            titled = {singular(t) for t in terms(hit.chunk.title)}
            if hit.dense >= ENTRY_COSINE and entries & titled:
                return True
            # however far it embeds: the stage's number and its section's name are both asked
            if parts & titled and stages & stages_named(hit.chunk.title):
                return True
            for start, end in week_spans(hit.chunk.embed_text):
                if any(start <= w <= end for w in weeks):
                    return True
        return False
