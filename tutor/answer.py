"""Answering: condense -> retrieve -> gate (tutor/gate.py) -> prompt -> stream -> support -> citations.

`Tutor.events()` is the one path every interface uses (CLI ask/chat, HTTP, OpenAI
endpoint): it yields ("meta" | "token" | "citations" | "done", payload) in order, and
`Tutor.ask()` just collects it. Citations are built here from the retrieved chunk ids:
the model only writes [n] markers, and a marker that names no source is dropped.
The streamed draft is checked sentence by sentence against its sources; the "done" answer
serves only the supported sentences (`held_back` lists the rest), or is withdrawn when
fewer than half are supported.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import NamedTuple

import numpy as np

from tutor import coach
from tutor.alternatives import (
    alternatives, correction, flipped_verdict, is_verdict, names_both, naming_both, plain_verdicts,
)
from tutor.concept_weeks import as_titled, covering, unstated_weeks
from tutor.config import Settings
from tutor.context import Prepared, Source, asked_kinds, asked_list, left_out, prompt_question
from tutor.definition import unstated_definition
from tutor.context import select as select_sources
from tutor.embed import Embedder
from tutor.events import Event, closing_events
from tutor.errors import InvalidInput, TooLarge
from tutor.gate import Gate
from tutor.index import LoadedIndex
from tutor.llm import LLM
from tutor.llm.base import Cancel
from tutor.guard import load_canary
from tutor.pace import misstated_pace, pace_facts, unstated_pace, with_pace_facts
from tutor.prompts import Prompts
from tutor.published import unstated_published
from tutor.retrieve import Retriever
from tutor.routing import named_in
from tutor.roadmap import Roadmap, load_roadmap
from tutor.sentence_vectors import SentenceVectors
from tutor.track_months import unstated_months
from tutor.spans import (
    beside_weeks, counted_weeks, misplaced_ordinal, stage_without_weeks, weeks_facts, weeks_sentence, with_weeks_stated,
)
from tutor.form import closed_quotes, named_again, tidy, without_markup
from tutor.support import MODEL_REFUSAL, SupportScorer, is_claim, without_sentences, without_side_clauses
from tutor.text import (
    LIST_LINE, MARKER, NOT_ABBREVIATION, listed, markers, sentences, stem, strip_markers, term_stems, terms, weeks_asked,
)
from tutor.types import Answer, Hit

# A draft less than half of whose claims the sources support is withdrawn, not trimmed.
# Applied to full run 3's records (2026-11-21), it withdraws 2 off-roadmap answers and 2
# answerable ones that stated none of their key facts; at 0.5 and above, trimming kept them.
MIN_DRAFT_SUPPORT = 0.5
WITHDRAWN = ("I've held back my written answer: most of it was not backed by the roadmap material, so I won't "
             "present it as fact. Here is what the material says, in the passages closest to your question:")
MAX_WHEN_CONCEPTS = 3  # "when do I learn X, Y and Z?": a sentence of weeks for each, at most this many
HISTORY_TURNS = 4
# not an abbreviation's stop: "by Mnih et al. [1]." was served "by Mnih et al [1].."
_MARKER_AFTER_STOP = re.compile(rf"([.!?]){NOT_ABBREVIATION}((?:[ \t]*\[\d{{1,3}}\])+)")
_CLOSING_STOP = re.compile(r"[.!?]*$")
# a sentence's closing full stop, not an abbreviation's ("et al.")
_PLAIN_STOP_END = re.compile(rf"\.{NOT_ABBREVIATION}$")


def _cited(sentence: str, n: int | None) -> str:
    """A source's sentence composed into the answer, its marker before the closing stop
    ("Stage 2 runs weeks 9-16 [1]."), or after an abbreviation's, which stays ("by Mnih et
    al. [1].")."""
    marker = f" [{n}]" if n else ""
    closed = sentence.endswith(".") and not _PLAIN_STOP_END.search(sentence)
    return f"{sentence}{marker}." if closed else f"{sentence.rstrip('.')}{marker}."


def validate_question(message: str, max_chars: int) -> str:
    """The stripped question, or InvalidInput / TooLarge saying what is wrong."""
    message = (message or "").strip()
    if not message:
        raise InvalidInput("the question is empty: ask something about the roadmap")
    if len(message) > max_chars:
        raise TooLarge(f"the question is {len(message)} characters; the limit is "
                       f"{max_chars} (TUTOR_MAX_QUESTION_CHARS)")
    return message


def _share_supported(scored: Sequence) -> float:
    return sum(s.supported for s in scored) / len(scored) if scored else 0.0


def _claims(text: str, scored: Sequence) -> list:
    """The scored sentences that each make a claim of the draft: a list item counts once, by
    its first sentence, not again for each sentence of commentary the model adds on its line.
    ("1. Build showpiece projects (months 1-2). This phase involves creating ..." is one
    claim.) The freelance track's month-by-month answer was withdrawn in a test run; the ones
    served are lists with a sentence or two of commentary per item, mostly cut, and a little
    more of it took such a draft under one half."""
    commentary = {c for line in text.splitlines() if LIST_LINE.match(line)
                  for c in [strip_markers(s) for s in sentences(line) if is_claim(strip_markers(s))][1:]}
    return [s for s in scored if strip_markers(s.sentence) not in commentary]


def held_back_note(held_back: Sequence[str]) -> str:
    """What the CLI and streamed /v1 say after a draft some of whose sentences were left out
    of the served answer: unsupported by the sources, or malformed (tutor/form.py)."""
    quoted = " ".join(f"\u201c{s}\u201d" for s in held_back)
    return f"(Left out of the checked answer: {quoted})"


def _first_source_of_each_doc(prepared: Prepared) -> dict[str, int]:
    by_doc: dict[str, int] = {}
    for n, source in enumerate(prepared.sources, 1):
        by_doc.setdefault(source.chunk.doc_id, n)
    return by_doc


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    content: str


def _topic(question: str) -> str:
    """What a refusal says the material lacks: the question's first content terms."""
    return " ".join(terms(question)[:6]) or question[:60]


# a follow-up that points back at the conversation: "how big did they end up scaling it?"
_POINTS_BACK = re.compile(r"\b(?:it|its|they|them|their|that|this|those|these)\b", re.I)


def last_user(history: Sequence[Turn]) -> str:
    """What the learner said last in `history` ("" for none)."""
    return next((turn.content for turn in reversed(history) if turn.role == "user"), "")


class _Reading(NamedTuple):
    """A question as retrieval reads it (Tutor._search)."""
    question: str  # with weeks stated by number (tutor/spans.py)
    counted: list  # the weeks counted from a stage's start or end
    vector: np.ndarray
    hits: list[Hit]
    refused: bool


def _found(own: set[str], hits: list[Hit]) -> int:
    """How many stems in `own` begin a word of the hits' titles and texts (a stem of four
    letters is the word itself: "sell" of "selling" is "selli")."""
    found = term_stems("\n".join(h.chunk.embed_text for h in hits))
    return sum(any(f.startswith(o) for f in found) for o in own)


def _own_words(message: str) -> set[str]:
    """The stems of a follow-up's words of its own: four letters or more, not pointing back."""
    return {stem(w.replace("-", "")) for w in terms(message) if len(w) > 3 and not _POINTS_BACK.fullmatch(w)}


class Tutor:
    def __init__(self, settings: Settings, index: LoadedIndex, embedder: Embedder, llm: LLM):
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.llm = llm
        self.retriever = Retriever(index, embedder)
        self.prompts = Prompts(settings.prompts_dir, canary=load_canary(settings.index_dir))  # tutor/guard.py
        self.sentence_vectors = SentenceVectors(embedder)
        self.scorer = SupportScorer(embedder, self.sentence_vectors)
        self.gate = Gate(index, settings.refusal_threshold)  # tutor/gate.py

    # -- steps -------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Prefill the answer prompt's system prefix once, so the first learner does not pay
        for it (llama.cpp keeps it in the KV cache for every later request)."""
        messages = self.prompts.messages("answer", question="warm-up", sources=[])
        self.llm.complete(messages, max_tokens=1)

    def validate(self, message: str) -> str:
        return validate_question(message, self.settings.max_question_chars)

    def condense(self, message: str, history: Sequence[Turn]) -> str:
        """A follow-up ("and how long does it take?") becomes a standalone question."""
        if not history:
            return message
        recent = [Turn(t.role, t.content[:400]) for t in history[-HISTORY_TURNS:]]
        text = self.llm.complete(self.prompts.messages("condense", history=recent, message=message),
                                 max_tokens=60, temperature=0.0).text
        line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I).strip('" ')
        # A degenerate rewrite must not lose the learner's words: fall back to both turns.
        before = last_user(history)
        if len(line) < 8 or len(line) > 400:
            return f"{before} {message}".strip()
        # Nor may it replace the learner's question with the conversation's: "how do I bake
        # sourdough bread?" after "what is the freelance track" came back as "What is the
        # freelance track?" and was answered. A rewrite that keeps none of the follow-up's
        # words (of four letters or more) is not of it; the follow-up goes as written, or with
        # the turn before when it points back to it: "how big did they end up scaling it?"
        # after "tell me about the T5 paper", asked alone, was refused (run 19's m-21).
        asked = _own_words(message)
        kept = asked & term_stems(line)
        if asked and not kept:
            return f"{before} {message}".strip() if _POINTS_BACK.search(message) else message
        # Nor lose the words the learner chose, which the material may use where the rewrite's do
        # not: "ok so how do i hedge that risk if i pick it?" came back as "How can I mitigate the
        # risk associated with choosing reinforcement learning?", and the FAQ's "How to hedge"
        # was not retrieved (run 23's m-19). The rewrite then goes with the follow-up as written.
        return line if kept == asked else f"{line} {message}"

    def prepare(self, message: str, history: Sequence[Turn] = (), *, stage: int | None = None,
                kinds: tuple[str, ...] | None = None) -> Prepared:
        timings = {}
        started = time.perf_counter()
        message = self.validate(message)
        question = self.condense(message, history)
        timings["condense"] = time.perf_counter() - started
        t = time.perf_counter()
        reading = self._search(question, stage, kinds)
        own = _own_words(message)
        if history and own and (found := _found(own, reading.hits)) < len(own):
            # "which platforms should I sell on?" after "what is the freelance track" came back
            # from the rewrite as written and found cloud ML platforms, which nobody sells on
            # (run 23's m-14). A follow-up whose own words are not all in what it finds is asked
            # with the learner's turn before when more of them are in what that finds
            # ("platforms such as Fiverr and Upwork", "selling ML services") and the gate lets it
            # through; "who won the world cup in 2018?" after the T5 paper stays refused. More,
            # not all: "what resources help with that?" after "What's the milestone for stage
            # 3?" found the BERT paper; asked with it, the stage's resources, without a "help".
            wider = self._search(f"{last_user(history)} {message}", stage, kinds)
            if not wider.refused and _found(own, wider.hits) > found:
                reading = wider
        question, counted, qv, hits, refused = reading
        timings["retrieve"] = time.perf_counter() - t
        sources = [] if refused else self.select(hits, qv, question)
        facts = weeks_facts(counted, self.roadmap) if counted and not refused else []
        # "I only have 5 hours a week, how long will the roadmap take me?": the calendar at
        # those hours, computed (tutor/pace.py) and shown to the model with the source it cites
        facts += pace_facts(question, self.roadmap, sources) if self.roadmap is not None and sources else []
        return Prepared(question, hits, sources, refused, timings, facts)

    def _search(self, question: str, stage: int | None, kinds: tuple[str, ...] | None) -> _Reading:
        # "the first two weeks of stage 2": the weeks by number, for everything that reads the
        # question, and as a computed fact an answer may state
        counted = counted_weeks(question, self.roadmap) if self.roadmap is not None else []
        question = with_weeks_stated(question, counted)
        # "what comes after weeks 5-6?": the plan's next weeks by number, for the same readers
        question = beside_weeks(question, self.roadmap) if self.roadmap is not None else question
        qv = self.embedder.encode_one(question)
        hits = self.retriever.search(question, self.settings.top_k, stage=stage, kinds=kinds, query_vector=qv)
        return _Reading(question, counted, qv, hits, self.gate.refuses(question, hits))

    @cached_property
    def roadmap(self) -> Roadmap | None:
        """The curriculum graph "what next" is computed over; None without one."""
        path = self.settings.corpus_dir / "roadmap.yaml"
        return load_roadmap(path) if path.is_file() else None

    @cached_property
    def papers(self) -> list:
        return coach.papers_in(self.index)

    def select(self, hits: list[Hit], qv: np.ndarray, question: str, budget: int | None = None) -> list[Source]:
        """What the prompt shows of the hits, within `budget` tokens (TUTOR_CONTEXT_TOKENS by
        default; tutor/context.py)."""
        return select_sources([h.chunk for h in hits], question, qv, self.sentence_vectors,
                              budget or self.settings.context_tokens, routed={h.chunk.id for h in hits if h.routed},
                              asked=self.retriever.router.asked_when(question))

    def refusal_text(self, question: str) -> str:
        topic = ", ".join(self.gate.unknown_names(question) or self.gate.unknown_words(question)) or _topic(question)
        return (f"I can't answer that from the roadmap material: it has nothing on \"{topic}\", and I "
                "won't guess. I can help with the roadmap's stages, concepts, resources, milestones, "
                "papers, FAQs and career paths.")

    def withdrawal_text(self, question: str) -> str:
        return (f"I've held back that answer: most of it was not backed by the roadmap material I found on "
                f"\"{_topic(question)}\", "
                "so I won't present it as fact. I can help with the roadmap's stages, concepts, resources, "
                "milestones, papers, FAQs and career paths.")

    def _withdrawn(self, prepared: Prepared, draft: str, scored: Sequence, timings: dict) -> Answer:
        """The draft held back, and in its place what the prompt showed the model, quoted and
        cited: the learner still reads what the material says. Asked how to make the stage 2
        CIFAR-10 classifier a portfolio piece, the model wrote five steps of its own and was
        withdrawn, while its sources said "adds serving a CNN as a REST API. Doing that extra
        step turns the stage 2 milestone into a first portfolio piece." Still a refusal: the
        tutor wrote nothing it could stand behind, and an off-roadmap question reads the nearest
        passages as what they are."""
        if not prepared.sources:
            return Answer.withdrawal(self.withdrawal_text(prepared.question), draft, tuple(scored), self.llm.name,
                                     prepared.question, timings)
        passages, citations = prepared.passages()
        text = f"{WITHDRAWN}\n\n{passages}"
        return Answer.withdrawal(text, draft, tuple(scored), self.llm.name, prepared.question, timings, citations,
                                 sources=prepared.source_ids)

    def finish(self, prepared: Prepared, raw: str, timings: dict) -> Answer:
        if prepared.refused:
            return Answer.refusal(raw, self.llm.name, prepared.question, timings)
        n_sources = len(prepared.sources)
        # the prompt's fence tags echoed by the model and gaps inside quotation marks go before
        # scoring, so what is scored is what is served (tidy would otherwise change the
        # sentence after its check)
        text = MARKER.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= n_sources else "",
                          closed_quotes(without_markup(raw))).strip()
        # "It trains well. [1]" -> "It trains well [1].": a marker belongs to the sentence it
        # follows, and the sentence splitter would give it to the next one.
        text = _MARKER_AFTER_STOP.sub(lambda m: f"{m.group(2).rstrip()}{m.group(1)}", text)
        text = plain_verdicts(text, prepared.question)  # "Yes, you do not need ..." (tutor/alternatives.py)
        t = time.perf_counter()
        scored = self._checked(prepared, text)
        timings["support"] = time.perf_counter() - t
        # a withdrawn answer keeps the draft as the model wrote it and as it was scored
        hold_back, draft, draft_scored = self.settings.hold_back_unsupported, text, scored
        unclaused = ()
        if hold_back:  # "It covers ..." after the sentence it took up is cut: named, or cut too
            text, scored, unclaused = self._side_clauses_cut(prepared, text, scored)
            text, scored = self._named_again(prepared, text, scored, set())
        draft_support = _share_supported(_claims(text, scored))
        dropped = ()
        if scored and draft_support < MIN_DRAFT_SUPPORT and hold_back and (
                self._from_plan(prepared, "") or self._published(prepared, "")
                or any(asked_kinds(source, prepared.question) for source in prepared.sources)):
            # a question the plan's items, a paper's published sentence or the resources of a
            # kind it asks for answer: those, composed, in place of the draft ("which weeks
            # cover gradient boosting?" was withdrawn; "who came up with the GAN paper?" too,
            # its draft naming Courville and Bengio from memory; and "is there a course you
            # recommend for stage 2?", with the stage's course shown)
            dropped, text, scored = tuple(s.sentence for s in scored if is_claim(s.sentence)), "", []
        if scored and (draft_support < MIN_DRAFT_SUPPORT if hold_back else not draft_support):
            # Most of the draft (or all of it) is not backed by the sources: most often an
            # off-roadmap question that passed the gate and was answered from the model's own
            # memory, where the one sentence left after cutting the rest is a fragment
            # ("scaleTargetRef:") or a loose claim. Streamed tokens are already out, so the
            # final event carries the replacement (the widget and the CLIs show it; /v1
            # streams it as a last delta).
            return self._withdrawn(prepared, draft, draft_scored, timings)
        refused = bool(MODEL_REFUSAL.search(text)) and draft_support < MIN_DRAFT_SUPPORT
        held_back = dropped + unclaused
        if hold_back and not all(s.supported for s in scored):
            # Serve only what the sources back. The 1.5B model adds elaborations of its own
            # ("This helps the network generalise."); at this threshold the scorer rejects
            # none of the supported sentences in its 92 hand labels, so the errors it makes
            # leave unsupported sentences in rather than cut supported ones out.
            held_back = tuple(s.sentence for s in scored if not s.supported)
            text, changed = without_sentences(text, set(held_back))
            scored = [replace(s, sentence=changed.get(s.sentence, s.sentence)) for s in scored if s.supported]
        # What cutting (or the token cap) left malformed is repaired: lists renumbered, lines
        # that introduce nothing, questions copied from an FAQ and an unfinished last
        # sentence dropped (tutor/form.py). Dropped sentences join held_back.
        tidied = tidy(text) or text
        kept = {strip_markers(s) for s in sentences(tidied)}
        dropped = tuple(strip_markers(s) for s in sentences(text)
                        if is_claim(strip_markers(s)) and strip_markers(s) not in kept)
        text, held_back = tidied, held_back + dropped
        scored = [s for s in scored if s.sentence in kept]
        by_id = {c.id: n for n, c in enumerate(prepared.sources, 1)}
        # a computed "what next" fact (tutor/coach.py step_facts) -> the source of the entry
        # it is about, so a sentence only the fact backs cites that entry
        by_doc = _first_source_of_each_doc(prepared)
        by_id |= {f.id: by_doc[f.doc_id] for f in prepared.facts if f.doc_id in by_doc}
        text = self._marked(text, scored, prepared, by_id)
        added = replaced = ()
        if not refused:  # (not beside the model's own "the material does not cover this")
            text, scored, added, replaced = self._completed(prepared, text, scored)
        held_back += replaced
        if not text:  # the draft dropped for a composed sentence that did not pass its check
            return self._withdrawn(prepared, draft, draft_scored, timings)
        cited = {n for n in markers(text) if 1 <= n <= n_sources}
        # and the backer of every served sentence, marked or not (one the model broke across
        # lines is not found in the text to be marked)
        cited |= {by_id[s.chunk_id] for s in scored if s.supported and s.chunk_id in by_id}
        cited |= self._named_steps(prepared, scored, by_doc)
        citations = tuple(s.citation(n) for n, s in enumerate(prepared.sources, 1) if n in cited)
        return Answer(text, citations, refused, _share_supported(scored), self.llm.name, prepared.question,
                      timings, tuple(scored), held_back=held_back, sources=prepared.source_ids,
                      facts=tuple(prepared.facts), added=added)

    def _checked(self, prepared: Prepared, text: str) -> list:
        """The support of each sentence of `text`, scored against the whole chunks, not only
        the sentences the prompt showed. Halved, as the scorer halves a sentence with a number
        its sources do not state: asked about week 3, "the first two weeks of the roadmap"
        reads as backed, its words being in the plan item (tutor/spans.py); and "At 5 hours a
        week, the roadmap takes about 36 weeks", its numbers in the sources and the computed
        calendar (tutor/pace.py)."""
        scored = self.scorer.score_sentences(text, [s.chunk for s in prepared.sources], prepared.facts)
        asked = weeks_asked(prepared.question) if self.roadmap is not None else set()
        return [replace(s, score=round(s.score / 2, 4), supported=s.score / 2 >= self.scorer.threshold)
                if asked and misplaced_ordinal(s.sentence, asked, self.roadmap)
                or misstated_pace(s.sentence, prepared.facts) else s for s in scored]

    def _side_clauses_cut(self, prepared: Prepared, text: str, scored: list) -> tuple[str, list, tuple[str, ...]]:
        """`text` and its scores with each unsupported sentence that its ", which is ..."
        clauses cost its support served without them, checked again, and those sentences as
        they were. Run 25's m-22 lost "Months 1-3 of this track go to mathematics" with its
        ", which is a prerequisite for the research track" (tutor/support.py)."""
        cut, scored = [], list(scored)  # (not the draft's scores, which a withdrawal keeps)
        for i, s in enumerate(scored):
            if s.supported or (trimmed := without_side_clauses(s.sentence)) == s.sentence:
                continue
            written = next((w for w in sentences(text) if strip_markers(w) == s.sentence), "")
            if strip_markers(served := without_side_clauses(written)) != trimmed:  # a marker before the comma
                continue
            checked = self._checked(prepared, trimmed)
            if len(checked) == 1 and checked[0].supported:
                text = text.replace(written, served, 1)
                scored[i], cut = checked[0], [*cut, s.sentence]
        return text, scored, tuple(cut)

    def _named_again(self, prepared: Prepared, text: str, scored: list, cut: set[str]) -> tuple[str, list]:
        """`text` and its scores with each kept sentence whose opening "It" or "They" took up
        a sentence to be cut (unsupported, or in `cut`) named anew, from that sentence's
        subject, and checked again; or counted unsupported when nothing names it
        (tutor/form.py `named_again`). "is the math in stage 1 hard?" was served "It covers a
        range of topics ..." after "Yes, the math in stage 1 is hard." was held back. A
        sentence so cut can leave the next one's pronoun naming nothing in turn."""
        seen: set[str] = set()  # a sentence to cut that claims nothing is not scored, so stays
        while True:
            text, named = named_again(text, cut | {s.sentence for s in scored if not s.supported}, prepared.question)
            named = {old: new for old, new in named.items() if old not in seen}
            if not named:
                return text, scored
            seen |= set(named)
            checked = {old: self._checked(prepared, new) if new else [] for old, new in named.items()}
            scored = [s if s.sentence not in named else checked[s.sentence][0] if checked[s.sentence]
                      else replace(s, supported=False) for s in scored]

    def _marked(self, text: str, scored: Sequence, prepared: Prepared, by_id: dict[str, int]) -> str:
        """Each supported sentence ends with the marker of a source that backs it (tutor/support.py
        finds it), so the citation a learner follows holds the sentence. One the model left
        unmarked gets one: the packaged model marks almost none (2 of 114 served claims in full
        run 14), so the widget showed sources under answers but none beside a sentence. It keeps
        to the previous sentence's source when that backs it too: "what next" says "It takes
        about 2 days at your pace." after each step, and the first step backs all three. One
        whose markers name none of its backers ("[2]" for what [3] says) gets the backer's."""
        backer = {s.sentence: by_id[s.chunk_id] for s in scored if s.supported and s.chunk_id in by_id}
        previous = None
        for sentence in sentences(text):
            n, found = backer.get(strip_markers(sentence)), markers(sentence)
            if n is not None and not found and previous not in (None, n) \
                    and self._backs(sentence, previous, prepared, by_id):
                n = previous
            previous = n if n is not None else (found[-1] if found else None)  # the marker it ends with
            if n is None or n in found or sentence.endswith(":"):  # a line that introduces a list
                continue
            if found:
                first = iter([f" [{n}]"])
                marked = MARKER.sub(lambda _: next(first, ""), sentence)
            else:  # before the closing stop, where the model puts its own: "... 8 weeks [1]."
                marked = _CLOSING_STOP.sub(lambda m: f" [{n}]{m.group(0)}", sentence, count=1)
            text = text.replace(sentence, marked, 1)
        return text

    def _backs(self, sentence: str, n: int, prepared: Prepared, by_id: dict[str, int]) -> bool:
        """Whether source `n`, with the computed facts cited through it, supports `sentence`."""
        if not 1 <= n <= len(prepared.sources):
            return False
        facts = [f for f in prepared.facts if by_id.get(f.id) == n]
        checked = self.scorer.score_sentences(strip_markers(sentence), [prepared.sources[n - 1].chunk], facts)
        return bool(checked) and all(c.supported for c in checked)

    def _completed(self, prepared: Prepared, text: str, scored: list
                   ) -> tuple[str, list, tuple[str, ...], tuple[str, ...]]:
        """Compose, not only cut: the items of an asked-for list the answer leaves out are
        added from the source, cited ("The roadmap also lists ... [1]."); asked "Which
        resources for stage 3?", the packaged model named three of the six it was shown. So
        are the weeks of a stage whose length alone the answer gives (tutor/spans.py), and
        the source's sentence naming both alternatives a question offers, in place of a
        "Yes" or "No" to it, and the source's pick in place of the other one
        (tutor/alternatives.py), and the plan's weeks for a concept a "when" question asks
        about (tutor/concept_weeks.py) or its item for the months of a track a question asks
        about (tutor/track_months.py), what a concept is (tutor/definition.py) and who wrote a
        paper or when (tutor/published.py). Each added sentence passes the support check first.
        Returns (text, scored, added sentences, sentences they replaced)."""
        composed, instead, gives_way, planned = [], None, (), []
        pair = alternatives(prepared.question)
        # only in place of a verdict: "Is stage 1 eight or twelve weeks long?" answered "stage
        # 1 is eight weeks long" needs no sentence on stage 4's twelve
        verdicts = tuple(strip_markers(s) for s in sentences(text) if is_verdict(s))
        if pair and (fix := correction(text, prepared.sources, prepared.question, pair)):
            gives_way, found = fix
        elif pair and verdicts and not names_both(text, pair) \
                and (found := naming_both(prepared.sources, prepared.question, pair)):
            gives_way = verdicts
        elif not pair and verdicts and (fix := flipped_verdict(text, prepared.sources, prepared.question)):
            gives_way, found = fix
        if gives_way:
            instead = _cited(found[1], found[0])
            composed.append(instead)
        # the plan's weeks for a concept a "when" question asks about, or its items for the
        # months of a track asked about, which answer it and so open the answer: "when do I
        # learn about BERT?" (tutor/concept_weeks.py), "research track month 5?"
        # (tutor/track_months.py)
        elif planned := self._from_plan(prepared, text):
            instead, gives_way = planned[0][0], tuple(dict.fromkeys(s for _, elsewhere in planned for s in elsewhere))
            composed += [sentence for sentence, _ in planned]
        for n, source in enumerate(prepared.sources, 1):
            items = asked_list(source, prepared.question) or asked_kinds(source, prepared.question)
            if left := left_out(items, text):
                also = " also" if len(left) < len(items) else ""
                composed.append(f"The roadmap{also} lists {listed(left)} [{n}].")
        # a stage's length without its weeks: "Stage 2 runs weeks 9-16", cited to the source
        # of that stage (tutor/spans.py)
        if self.roadmap is not None and (stage := stage_without_weeks(text, self.roadmap)):
            n = next((n for n, s in enumerate(prepared.sources, 1) if s.chunk.stage == stage.id), None)
            composed.append(f"{weeks_sentence(stage)}{f' [{n}]' if n else ''}.")
        # the calendar at the learner's hours, when the answer gives only another (tutor/pace.py)
        if (fact := unstated_pace(text, prepared.facts)) is not None:
            n = _first_source_of_each_doc(prepared).get(fact.doc_id)
            composed.append(_cited(fact.text, n))
        # what a concept is, asked and left out (tutor/definition.py): it opens the answer
        definition = ""
        if defined := unstated_definition(prepared.question, text, prepared.sources,
                                          self.retriever.router.concept_names):
            definition = _cited(defined[1], defined[0])
            composed.append(definition)
        # who wrote a paper, or when, asked and left out (tutor/published.py)
        if published := self._published(prepared, text):
            composed.append(_cited(published[1], published[0]))
        added = []
        # the source's verdict takes the place of a draft's that opened the answer: "Do I need
        # a degree?" read "Some roles ... expect formal education" first, the "Neither roadmap
        # makes a degree a requirement" that replaced its "Yes" last
        leading = {instead} if strip_markers(next(iter(sentences(text)), "")) in gives_way else set()
        leading |= {sentence for sentence, _ in planned} | {definition}
        opening, closing = [], []
        for sentence in composed:
            checked = self.scorer.score_sentences(sentence, [s.chunk for s in prepared.sources], prepared.facts)
            if checked and all(c.supported for c in checked):
                if sentence in leading:
                    opening.append(sentence)
                else:
                    closing.append(sentence)
                scored = [*scored, *checked]
                added.append(sentence)
        text = "\n\n".join(part for part in [*opening, text, *closing] if part)
        # the draft's wrong pick, or its "Yes" or "No", goes (not the sentence added: an FAQ's
        # may open "Yes: ...")
        replaced = gives_way if instead in added else ()
        if replaced:
            text, scored = self._named_again(prepared, text, scored, set(replaced))
            replaced += tuple(s.sentence for s in scored if not s.supported)
            text, changed = without_sentences(text, set(replaced))
            scored = [replace(s, sentence=changed.get(s.sentence, s.sentence)) for s in scored
                      if s.sentence not in replaced]
        return text, scored, tuple(added), replaced

    def _published(self, prepared: Prepared, text: str) -> tuple[int, str] | None:
        """(source number, sentence) saying who wrote the paper the question names, or when,
        when it asks and `text` leaves it out (tutor/published.py)."""
        router = self.retriever.router
        paper = next((d for d in named_in(prepared.question, router.names) if router.kinds.get(d) == "paper"), None)
        return unstated_published(prepared.question, text, prepared.sources, paper)

    def _from_plan(self, prepared: Prepared, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """The plan's sentences `text` leaves out, each with the draft sentences it replaces."""
        return self._plan_weeks(prepared, text) + self._track_months(prepared, text)

    def _track_months(self, prepared: Prepared, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """The items of the one track a question names that hold the months it asks about."""
        tracks = named_in(prepared.question, self.retriever.router.tracks)
        if len(tracks) != 1:
            return []
        return unstated_months(text, prepared.question, tracks[0], prepared.sources)

    def _plan_weeks(self, prepared: Prepared, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """For each concept a "when" question asks about whose plan weeks `text` leaves out,
        the sentence stating them and the draft sentences that put it in other weeks."""
        if self.roadmap is None:
            return []
        router, unstated = self.retriever.router, []
        for doc, words in list(router.asked_when_named(prepared.question).items())[:MAX_WHEN_CONCEPTS]:
            names = lambda t, doc=doc: doc in named_in(t, router.concept_names_when)  # noqa: E731
            if fix := unstated_weeks(text, prepared.sources, names, self.roadmap):
                unstated.append((as_titled(words, self.index.chunks[router.concept_pages[doc]].title), *fix))
        return covering(unstated)

    def _named_steps(self, prepared: Prepared, scored: Sequence, by_doc: dict[str, int]) -> set[int]:
        """The sources of every computed step a fact-backed sentence names ("Study Word
        embeddings, Tokenisation and RNNs next" cites all three entries, not only the
        step the sentence is most like)."""
        facts = {f.id for f in prepared.facts}
        if not facts or self.roadmap is None:
            return set()
        named = {f"concept-{c}" for s in scored if s.supported and s.chunk_id in facts
                 for c in coach.concepts_named(self.roadmap, s.sentence)}
        return {by_doc[d] for d in named if d in by_doc}

    # -- the one flow -------------------------------------------------------------------

    def events(self, message: str, history: Sequence[Turn] = (), *, stage: int | None = None,
               kinds: tuple[str, ...] | None = None, cancel: Cancel | None = None
               ) -> Iterator[Event]:
        if self.roadmap is not None and coach.is_next_question(message):
            # "what should I do next", asked with no learner profile: computed from what the
            # question says is done, then explained (the API routes a known learner itself)
            rec = coach.recommendation_from_words(self.roadmap, self.papers, self.validate(message))
            if not rec.finished:  # past the last stage, the material's own advice answers
                yield from coach.explain_events(self, rec, cancel)
                return
        started = time.perf_counter()
        prepared = self.prepare(message, history, stage=stage, kinds=kinds)
        timings = dict(prepared.timings)
        yield "meta", {"question": prepared.question, "refused": prepared.refused,
                       "backend": self.llm.name, "index_version": self.index.version}
        if prepared.refused:
            raw = self.refusal_text(prepared.question)
            timings["first_token"] = time.perf_counter() - started
            yield "token", raw
            answer = self.finish(prepared, raw, timings)
            timings["total"] = time.perf_counter() - started
            yield from closing_events(answer)
            return
        yield from self.reply(prepared, self.answer_messages(prepared), started=started, timings=timings,
                              cancel=cancel)

    def answer_messages(self, prepared: Prepared) -> list[dict]:
        """The answer prompt: the sources and the question as the model reads it best
        (`prompt_question`)."""
        return self.prompts.messages("answer", question=prompt_question(prepared.question),
                                     sources=with_pace_facts(prepared.sources, prepared.facts))

    def reply(self, prepared: Prepared, messages: list[dict], *, started: float, timings: dict | None = None,
              cancel: Cancel | None = None) -> Iterator[Event]:
        """Stream the model's reply as "token" events, then the checked answer ("citations",
        "done"): the tail of every path that answers with the model (questions, "what next")."""
        timings = dict(timings or {})
        pieces = []
        for piece in self.llm.stream(messages, max_tokens=self.settings.max_answer_tokens,
                                     temperature=self.settings.temperature, cancel=cancel):
            if not pieces:
                timings["first_token"] = time.perf_counter() - started
            pieces.append(piece)
            yield "token", piece
        timings["generate"] = time.perf_counter() - started - timings.get("first_token", 0.0)
        answer = self.finish(prepared, "".join(pieces), timings)
        timings["total"] = time.perf_counter() - started
        yield from closing_events(answer)

    def ask_many(self, questions: Sequence[tuple[str, Sequence[Turn]]]) -> list[Answer]:
        """Answers to many questions with the model's part in one batch call
        (`LLM.complete_many`: one vLLM batch, or llama.cpp's slots decoding together), for
        offline work such as `tutor eval`. Nothing streams, so timings hold no first_token;
        "what next" questions take the streamed path, one by one."""
        answers: list[Answer | None] = [None] * len(questions)
        batch: list[tuple[int, Prepared]] = []
        for i, (message, history) in enumerate(questions):
            if self.roadmap is not None and coach.is_next_question(message):
                answers[i] = self.ask(message, history)
                continue
            prepared = self.prepare(message, history)
            if prepared.refused:
                answers[i] = self.finish(prepared, self.refusal_text(prepared.question), dict(prepared.timings))
            else:
                batch.append((i, prepared))
        started = time.perf_counter()
        replies = self.llm.complete_many(
            [self.answer_messages(p) for _, p in batch],
            max_tokens=self.settings.max_answer_tokens, temperature=self.settings.temperature)
        generate = time.perf_counter() - started
        for (i, prepared), reply in zip(batch, replies):
            answers[i] = self.finish(prepared, reply.text, {**prepared.timings, "batch_generate": generate})
        return answers

    def ask(self, message: str, history: Sequence[Turn] = (), *, stage: int | None = None,
            kinds: tuple[str, ...] | None = None) -> Answer:
        answer = None
        for kind, payload in self.events(message, history, stage=stage, kinds=kinds):
            if kind == "done":
                answer = payload
        return answer
