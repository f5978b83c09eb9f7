"""What the answer prompt shows of the retrieved chunks: for each source a heading line
(what it is: stage, section, FAQ question, paper) and the sentences that bear on the
question, chosen for coverage within a token budget.

Prefill is the latency budget on CPU (~13 ms a token on 2 cores), so the prompt cannot
hold four whole chunks. Taking the sentences closest to the question (the earlier rule)
lost most key facts: a question that asks two things ("how long is stage 1 and what is its
milestone?") got two sentences about length. Selection here is greedy over a coverage
objective: a sentence's relevance (embedding cosine plus the share of the question's terms
it holds), plus the question terms it adds that the chosen ones lack, minus its similarity
to what is already chosen (MMR), within `budget` tokens counted with `approx_tokens`.
Bullet lines are units of their own, so a list keeps its items' words; an ordered list (week
or month spans, numbered steps) is never shown with a hole, though: an item between two
chosen items of the same list comes with them (weeks 17-18 and 21-22 of a week plan without
19-20 read as a plan that skips them, and the model said so), and a plan the question asks for
as a whole (routed, no week named) starts at its first item: "what's the timeline for stage 4?"
was shown weeks 28-36 and answered without 25-27. An unordered list, such as a
stage's resources, may skip items: filling its holes pushed out the very item a question
asked for ("Which papers should I read in stage 3?" lost BERT). Asked for by its own name
("What resources are recommended for stage 1?": routed, no week named), a list of named
items ("- Kaggle Learn (platform): ...") is shown by its items' names and types, so all of
them fit. A sentence that takes up the one before it ("Doing that extra step ...") comes with
that one. The heading line
carries the chunk's section title, which often states the stage and weeks by itself.
Week and month spans are shown with their length ("weeks 9-16, 8 weeks": `with_durations`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from tutor.sentence_vectors import SentenceVectors
from tutor.text import (
    ASKS_NEIGHBOURS, COUNT_WORD, LINKS, NUMBER_WORDS, PLACEMENT, PUBLISHED, PUBLISHED_CUES, TAKES_UP, WHAT_COMES,
    approx_tokens,
    stem, term_stems, terms, week_spans, weeks_asked, with_durations,
)
from tutor.types import Chunk, Citation, Hit

LEXICAL_WEIGHT = 0.2  # the share of the question's terms a sentence holds, added to its cosine
COVERAGE_WEIGHT = 0.25  # question terms a sentence adds that the chosen ones lack
REDUNDANCY_WEIGHT = 0.3  # similarity to an already chosen sentence, subtracted (MMR)
# A preference for the better-ranked chunks: spending the budget deeper in the top chunk
# (GPT-2's size and data are its second sentence) beats a sentence from each of four. Chosen
# on the gold set's dev half, single-turn items at 200 tokens (0.02: 0.783, 0.06: 0.788,
# 0.12: 0.803, 0.15: 0.828, 0.2-0.5: 0.80-0.82), capped at 0.12: from 0.15 "Which papers
# should I read in stage 3?" loses BERT, its resources chunk being ranked 4th.
RANK_DECAY = 0.12
HEADING_CHARS = 90
# A question that asks for a quantity ("how big was GPT-2", "how long", "which weeks") prefers
# sentences that state a number: "OpenAI built WebText, about 40 GB ... up to 1.5 billion
# parameters" never names GPT-2, so its cosine to the question is low and it was left out.
# Dev half of the gold set at 200 tokens: 0.811 -> 0.827 at 0.05 and 0.1 (0.2 the same);
# test half 0.866 at 0.05 and 0.1, 0.861 at 0.2.
NUMBER_WEIGHT = 0.1
# a number on its own, not the 2 of GPT-2 or Q2; or a count in words: "How many GPUs was
# AlexNet trained on?" was shown the sentence of 60 million parameters, not "a split across
# two GPUs", and answered "on GPUs"
_QUANTITY = re.compile(rf"(?<![\w-])\d|{COUNT_WORD.pattern}", re.I)
_ASKS_QUANTITY = re.compile(r"\b(?:how (?:big|many|much|long|fast|large|old|often|deep)|what size|size of|"
                            r"which (?:year|week|month)s?|when\b|what (?:week|month)s?|how much time)", re.I)


# A question about where or when something sits: only then is a concept page's placement
# line ("X is part of stage 4 (...)") shown (see `select`).
_ASKS_PLACE = re.compile(r"\b(?:stages?|when|weeks?|months?|where|order|before|after|long|part|timeline|"
                         r"schedule|first|next|then|prerequisites?)\b", re.I)
# A question about what comes before or after a concept: only then is a concept page's links
# line ("Prerequisites of X: ... Concepts to learn after X: ...") shown; so is it for every
# question routing.py sends to a concept page for its links (ASKS_NEIGHBOURS).
_ASKS_LINKS = re.compile(r"\b(?:prerequisites?|before|after|next|then|build|builds|need|needs|needed|require[sd]?|"
                         r"depend|depends|lead|leads|know|first|order|ready|foundations?|follow|follows|"
                         r"related|connect)\b", re.I)
# A question on who wrote a paper or when: only then is its summary's last sentence ("The
# paper was published in 2019 by ...", text.PUBLISHED) shown.
_ASKS_PUBLISHED = re.compile(rf"\b(?:who|when|old|{'|'.join(PUBLISHED_CUES.split())})\b", re.I)


# A question on a week ("what should i be doing in week 3") prefers the sentences or plan items
# whose span holds that week and passes over those whose span does not: shown "Weeks 1-2:
# Refresh the maths ..." beside "Weeks 3-4: Supervised learning ...", the packaged model
# answered week 3 with weeks 1-2.
WEEK_WEIGHT = 0.3
# A routed section (the one the question asks for, tutor/routing.py) is shown even when its
# sentences barely echo the question: "Fine-tuning; Retrieval-augmented generation (RAG);
# Prompt engineering at scale." is the NLP specialisation's topic list, yet it lost its place
# to longer chunks that repeat "NLP" and "specialisation". Dev half of the gold set at 200
# tokens: 0.844 at 0, 0.856 at 0.2, 0.861 from 0.3 to 1.0; the smallest of the plateau.
ROUTED_WEIGHT = 0.3


# "What comes before the attention mechanism?" is read by the packaged model as "the
# attention mechanism comes before what?": 8 of 8 such questions were answered turned round
# or with nothing ("Gradient boosting comes before gradient descent.", "Dropout comes before
# dropout."), while "What should I learn before ...?" over the same sources named the page's
# prerequisites for 7 of 8 (session 20; "after": 8 of 8 against 5 of 8). The prompt asks it
# in that form; retrieval, routing and what the learner sees keep their own words.
_DIRECTION = {"precedes": "before", "follows": "after"}


def prompt_question(question: str) -> str:
    """The question as the answer prompt states it: one asking what comes before or after
    something is asked as what to learn before or after it; any other as it is."""
    m = WHAT_COMES.match(question.lstrip())
    rest = question.lstrip()[m.end():].lstrip() if m else ""
    if not rest or (m.group(1) or "").lower() == "next":
        return question
    word = (m.group(1) or _DIRECTION[m.group(2).lower()]).lower()
    return f"What should I learn {word} {rest}"


@dataclass(frozen=True)
class Source:
    """One numbered source of the prompt: the chunk as retrieved (`chunk`, what support is
    scored against) and what the prompt shows of it (`heading`, `text`)."""

    chunk: Chunk
    heading: str
    text: str

    @property
    def id(self) -> str:
        return self.chunk.id

    def citation(self, n: int) -> Citation:
        return Citation(n, self.id, self.heading, self.chunk.source, self.chunk.stage)


@dataclass
class Prepared:
    """A question made ready for the model: what was retrieved, what the prompt shows."""

    question: str  # the standalone question actually answered
    hits: list[Hit]
    sources: list[Source]  # what the prompt shows, numbered from 1
    refused: bool
    timings: dict = field(default_factory=dict)
    facts: list[Chunk] = field(default_factory=list)  # what the answer may state uncited (tutor/coach.py)

    @property
    def source_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.sources)

    def passages(self) -> tuple[str, tuple[Citation, ...]]:
        """What the prompt shows, quoted for the learner where no written answer is served
        ("[1] heading: text", one paragraph a source), and a citation for each source."""
        text = "\n\n".join(f"[{n}] {s.heading}: {s.text}" for n, s in enumerate(self.sources, 1))
        return text, tuple(s.citation(n) for n, s in enumerate(self.sources, 1))


def heading(chunk: Chunk) -> str:
    """A short line saying what a chunk is: its section title when it has one ("Stage 1
    (Foundations and Classical Machine Learning, weeks 1-8): milestone"), an FAQ as the
    question it answers, in quotes, so the model does not repeat it as a statement.
    Over HEADING_CHARS, the document's title is shortened before the section's: cut at the
    end, a fifth of the headings lost the part that tells their sections apart ("How do I get
    from tutorials to production-ready skills?", Where the roadmaps put…), and a track's plan
    ("Freelance track (...): Freelance track (...): month-by-month plan") lost "month-by-month"."""
    title, _, section = chunk.title.partition(" — ")
    if section.startswith(title) or (chunk.kind not in ("faq", "paper") and any(ch.isdigit() for ch in section)):
        title, section = section, ""  # roadmap sections name their stage and weeks; a track's repeats its title
    if chunk.kind == "paper":  # "BERT: Pre-training of ..." -> "BERT"
        title, section = title.split(": ")[0], section.lower()
    frame = 'FAQ "{}"' if chunk.kind == "faq" else "Paper {}" if chunk.kind == "paper" else "{}"
    sep = (", " if chunk.kind in ("faq", "paper") else ": ") if section else ""
    named = chunk.stage is None or "stage" in f"{title} {section}".lower()
    stage = "" if named else f" (stage {chunk.stage})"
    room = HEADING_CHARS - len(frame.format("")) - len(sep) - len(stage)
    title = _clip(title, max(room - len(section), MIN_TITLE_CHARS))
    return frame.format(title) + sep + _clip(section, room - len(title)) + stage


MIN_TITLE_CHARS = 40  # a document title shortened for its section's sake keeps this much


def _clip(text: str, limit: int) -> str:
    """`text` cut at a word to at most `limit` characters, "…" marking the cut."""
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


def select(chunks: list[Chunk], question: str, qv: np.ndarray, vectors: SentenceVectors,
           budget: int, routed: set[str] = frozenset(), asked: Callable[[str], bool] | None = None) -> list[Source]:
    """The sources the prompt shows, in retrieval order, each with the sentences chosen for
    it (in their original order); a chunk none of whose sentences fits is left out.
    `routed`: ids of the chunks the question asks for by section (ROUTED_WEIGHT); `asked`:
    whether a text names a concept it asks "when" of (Router.asked_when), whose plan items are
    the answer."""
    vectors.warm(chunks)
    per_chunk = [vectors.get(c) for c in chunks]
    units = [(i, j, s) for i, (group, _) in enumerate(per_chunk) for j, s in enumerate(group)]
    if not units:
        return []
    vecs = np.concatenate([v for _, v in per_chunk])
    q_terms = term_stems(question)
    unit_terms = [term_stems(s) & q_terms for _, _, s in units]
    # a sentence holds the words of its section's title too, in a document about what the
    # question asks (its title shares two of the question's words): "A RAG system over a real
    # document collection ...; a deployed LLM service ..." answers "if I go for the NLP/LLM
    # specialisation, what kind of projects should I build?" under "How do I specialise in
    # NLP, LLMs and RAG?", "Good projects", and never says "project"
    titled = []
    for c in chunks:
        document, _, section = c.title.partition(" — ")
        titled.append(term_stems(section) & q_terms if len(term_stems(document) & q_terms) >= 2 else set())
    relevance = vecs @ qv - RANK_DECAY * np.array([i for i, _, _ in units], dtype=np.float32)
    if _ASKS_QUANTITY.search(question):
        relevance += NUMBER_WEIGHT * np.array([bool(_QUANTITY.search(s)) for _, _, s in units], dtype=np.float32)
    weeks = weeks_asked(question)
    fit = np.array([_week_fit(s, weeks) if weeks else 0 for _, _, s in units], dtype=np.float32)
    if asked:  # the plan items that name the concept count as the asked weeks, the others not
        fit += np.array([0 if not (chunks[i].id in routed and _is_item(s) and week_spans(s))
                         else 1 if asked(s) else -1 for i, _, s in units], dtype=np.float32)
    relevance += WEEK_WEIGHT * fit
    if routed:  # within a routed week plan, still only the asked week's items
        relevance += ROUTED_WEIGHT * np.array([chunks[i].id in routed for i, _, _ in units], dtype=np.float32) * (fit >= 0)
    if q_terms:
        held = [len(t | titled[i]) / len(q_terms) for t, (i, _, _) in zip(unit_terms, units)]
        relevance += LEXICAL_WEIGHT * np.array(held, dtype=np.float32)
    # A list the question asks for by its own name (routed, no week named) is shown by its
    # items' names: "What resources are recommended for stage 1?" was shown 5 of the 7
    # resources in full and lacked the book the roadmap recommends most. A question that picks
    # items by what they are for ("Which book should I read for classical ML?") needs the
    # descriptions: shown the names, the packaged model gave Hands-On's description to the next
    # name (Applied machine learning); shown the lines whole, it named Hands-On.
    shown_as = {k: head for k, (i, _, s) in enumerate(units)
                if not weeks and not asked and chunks[i].id in routed and (head := _item_head(s))
                and stem(chunks[i].title.rsplit(": ", 1)[-1]) in q_terms}
    # the budget counts the material's own words; stated lengths ride on top (a few tokens)
    costs = [approx_tokens(shown_as.get(k, s)) for k, (_, _, s) in enumerate(units)]
    head_costs = [approx_tokens(heading(c)) + 2 for c in chunks]
    lists = _list_runs(units)
    promised = _promised_items(units)
    # A routed week plan says in which weeks a topic comes; a concept page's placement line
    # beside it gives the whole stage's span, and the packaged model answered "In which weeks
    # is the transformer architecture covered?" with that (17-24) instead of the plan's 19-20.
    plan = any(chunks[i].id in routed and _is_item(s) and week_spans(s) for i, _, s in units)
    # A question that asks nothing of place or time does not need the line either (the heading
    # names the stage), and leading a concept page it was read as a definition: "what is
    # retrieval augmented generation?" got "... is a stage in machine learning where ...".
    placement_out = plan or not _ASKS_PLACE.search(question)
    # Nor does a concept page's links line ("Prerequisites of Dropout: Neural networks, ..."),
    # which "What is dropout?" got copied into its answer, unless the question asks what comes
    # before or after.
    links_out = not (_ASKS_LINKS.search(question) or ASKS_NEIGHBOURS.search(question))
    # Nor a paper's authors and year unless asked: shown to "How big was GPT-2?", they took
    # the room of its size sentence.
    published_out = not _ASKS_PUBLISHED.search(question)
    left_out = {k for k, (_, _, s) in enumerate(units)
                if (placement_out and PLACEMENT.search(s)) or (links_out and LINKS.match(s))
                or (published_out and s.startswith(PUBLISHED))}
    takes_up = [j > 0 and bool(TAKES_UP.match(s)) for _, j, s in units]
    # and a sentence taking up one left out is left out with it: "It builds on the stage 1 ideas
    # of regularization ...; in Roadmap B it is part of Q2." shown without "Dropout belongs to
    # stage 2" was served as "Regularisation ... is part of Q2"
    for k in range(len(units)):
        if takes_up[k] and k - 1 in left_out:
            left_out.add(k)
    chosen: dict[int, list[int]] = {}
    picked: list[int] = []
    covered: set[str] = set()
    used = 0
    while True:
        best, best_gain, best_span = None, -np.inf, []
        redundancy = (vecs @ vecs[picked].T).max(axis=1) if picked else np.zeros(len(units))
        for k, (i, j, _) in enumerate(units):
            if k in picked or k in left_out:
                continue
            span = _with_gap(k, lists, picked)
            if k in lists and not weeks and not asked and chunks[i].id in routed:  # the asked-for plan reads from its start
                span = sorted({*span, *(u for u in lists[k] if u <= k and u not in picked)})
            span = _with_antecedents(span, units, takes_up, left_out.union(picked))
            span = sorted({*span, *(u for k2 in span for u in promised.get(k2, ()) if u not in picked)})
            cost = sum(costs[u] for u in span) + (0 if i in chosen else head_costs[i])
            if used + cost > budget:
                continue
            new = len(unit_terms[k] - covered) / len(q_terms) if q_terms else 0.0
            gain = relevance[k] + COVERAGE_WEIGHT * new - REDUNDANCY_WEIGHT * max(float(redundancy[k]), 0.0)
            if gain > best_gain:
                best, best_gain, best_span = k, gain, span
        if best is None:
            break
        i = units[best][0]
        used += sum(costs[u] for u in best_span) + (0 if i in chosen else head_costs[i])
        for u in best_span:
            chosen.setdefault(i, []).append(units[u][1])
            picked.append(u)
            covered |= unit_terms[u]
    text = {(i, j): shown_as.get(k, s) for k, (i, j, s) in enumerate(units)}
    return [Source(chunks[i], with_durations(heading(chunks[i])),
                   with_durations(_join([text[i, j] for j in sorted(chosen[i])])))
            for i in _faq_in_its_order(chunks, sorted(chosen))]


def _faq_in_its_order(chunks: list[Chunk], shown: list[int]) -> list[int]:
    """`shown` (indices into `chunks`, in retrieval order) with each FAQ's sections in the
    FAQ's own order, from where its best-ranked section stood: an FAQ opens with its short
    answer. "do I need a degree to get a job in ML?" was shown "Where a degree can help"
    before "Short answer: Neither roadmap makes a degree a requirement" and answered "Yes, a
    degree can help" (session 23, run 14's a-faq-03)."""
    out: list[int] = []
    for i in shown:
        if i in out:
            continue
        doc = chunks[i].doc_id
        same = [k for k in shown if chunks[k].doc_id == doc] if chunks[i].kind == "faq" else [i]
        out += sorted(same, key=lambda k: chunks[k].position)
    return out


# "- Kaggle Learn (platform): ...", or the name and type alone as a list shown by name shows it
_ITEM_HEAD = re.compile(r"^([-*] [^:\n]{2,80}? \([a-z -]{2,20}\))(?::\s|$)")
# a list item that is a name alone: a quarter's projects ("- Time-series forecasting with an
# LSTM"); "which projects exactly am I meant to build in Q2?" was answered "3-5 end-to-end
# projects" beside the list of four (run 21's a-quarter-11)
_PLAIN_ITEM = re.compile(r"^[-*] [^:\n]{2,120}$")
_ASKS_COUNT = re.compile(r"\W*how many\b", re.I)
_STAGE_NOTE = re.compile(r"\s*\(stages? [\d, and-]+\)$")


def _item_head(text: str) -> str | None:
    """A resource-style list item's name and type ("- Hands-On Machine Learning (book)"),
    None for any other line."""
    found = _ITEM_HEAD.match(text)
    return found.group(1) if found else None


def asked_list(source: Source, question: str) -> list[str]:
    """The items of a list the prompt showed by name, as shown ("Textbook chapters on sequence
    models (book)", a quarter's "Time-series forecasting with an LSTM"), when the question
    asks for the list by its own name ("Which resources for stage 3?"); [] for any other
    source, or a question that picks one ("Which resource explains the Transformer
    visually?")."""
    lines = source.text.splitlines()
    name = _STAGE_NOTE.sub("", source.heading.rsplit(": ", 1)[-1])  # "projects (stage 2)": "projects"
    if _ASKS_COUNT.match(question):  # "How many projects should I build?" asks a number
        return []
    # a list of plain items is its entry's: "which projects does Q3 want me to build?" is not
    # answered with Q4's projects, shown beside Q3's
    entry = source.heading.split(":", 1)[0].split()[0]
    plain = not all(_item_head(line) == line for line in lines)
    if plain and not re.search(rf"\b{re.escape(entry)}\b", question, re.I):
        return []
    if len(lines) < 2 or not all(_item_head(line) == line or _PLAIN_ITEM.match(line) for line in lines) \
            or not re.search(rf"\b{re.escape(name)}\b", question, re.I):
        return []
    # a plain item read inside a sentence: "a custom pandas extension", not "A custom ..."
    return [line[2:] if _item_head(line) == line or re.match(r"\S+[A-Z]|[A-Z]{2}", line[2:])
            else line[2].lower() + line[3:] for line in lines]


# the words that ask for a resource of one kind, by the kind roadmap.yaml gives it; not
# "paper": "what problem did the ResNet paper solve?" asks for no reading list
_KIND_STEMS = {kind: frozenset(stem(w) for w in cue.split()) for kind, cue in {
    "book": "book books textbook textbooks", "course": "course courses class classes mooc moocs",
    "docs": "docs documentation tutorial tutorials", "video": "video videos lecture lectures",
    "community": "community communities forum forums"}.items()}
_ITEM_KIND = re.compile(r"\(([a-z -]{2,20})\)$")


def asked_kinds(source: Source, question: str) -> list[str]:
    """The items of a resources list (every line "- Name (kind): note") whose kind the question
    asks for by name, but for those it names: run 24's a-resource-12, "Apart from the Hugging
    Face course, is there a university course or a textbook the roadmap suggests for the NLP
    stage?", was answered with the course alone, the "Textbook chapters on sequence models
    (book)" shown beside it."""
    lines = source.text.splitlines()
    heads = [_item_head(line) for line in lines]
    if not source.heading.endswith("resources") or None in heads:
        return []
    asked = {stem(t) for t in terms(question)}
    kinds = {kind for kind, stems in _KIND_STEMS.items() if asked & stems}
    of_kind = [head[2:] for head in heads if (found := _ITEM_KIND.search(head)) and found.group(1) in kinds]
    return [item for item in of_kind if left_out([item], question)]


def left_out(items: list[str], answer: str) -> list[str]:
    """The items `answer` does not name. A name counts as named when the answer has all its
    content words but one (of four or more): "textbooks on sequence models" names "Textbook
    chapters on sequence models"; "(2018)" and the type in brackets are not needed; nor are
    hyphens (run 15 added "University NLP with deep learning courses" to an answer that had
    said "university NLP-with-deep-learning courses")."""
    said = {stem(part) for t in terms(answer) for part in (t, *t.split("-"))}
    left = []
    for item in items:
        stems = {stem(t) for t in terms(re.sub(r"\([^)]*\)", "", item))}
        if len(stems - said) > (1 if len(stems) >= 4 else 0):
            left.append(item)
    return left


def _week_fit(text: str, weeks: set[int]) -> int:
    """1 when a span `text` states holds an asked week, -1 when it states spans and none
    does, 0 when it states none."""
    spans = week_spans(text)
    return 0 if not spans else 1 if any(a <= w <= b for a, b in spans for w in weeks) else -1


_ORDINAL = re.compile(r"^\s*(?:[-*]\s+)?(?:\d+\.\s|(?:weeks?|months?|step|q)\s*\d)", re.I)


def _is_item(text: str) -> bool:
    return text.lstrip().startswith(("- ", "* ")) or text[:3].rstrip(".").isdigit()


def _list_runs(units: list[tuple[int, int, str]]) -> dict[int, list[int]]:
    """For each item of an ordered list, the units of its list (consecutive ordinal items of
    one chunk: "- Weeks 17-18: ...", "2. ...")."""
    runs: dict[int, list[int]] = {}
    run: list[int] = []
    for k, (i, j, text) in enumerate(units):
        ordinal = _is_item(text) and bool(_ORDINAL.match(text))
        if ordinal and run and units[run[-1]][0] == i and units[run[-1]][1] == j - 1:
            run.append(k)
        else:
            run = [k] if ordinal else []
        for u in run:
            runs[u] = run
    return runs


# "Machine learning leans on four areas." promises the sentences after it: shown alone, with
# room for three of the four, it was answered "four areas: linear algebra, calculus,
# probability and statistics", information theory lost (run 22's a-faq-42)
_PROMISES = re.compile(rf"\b{COUNT_WORD.pattern}\s+(?:[a-z-]+\s+){{0,2}}[a-z-]+[.:]$", re.I)
_ONE_OF = re.compile(r"\b(?:of|among)\s+(?:\S+\s+){0,2}$", re.I)  # "one of Roadmap B's three tracks."


def promised(text: str) -> int:
    """How many things a sentence announces and ends on ("The VAE's key idea has two parts."
    promises 2), 0 when it announces none."""
    found = _PROMISES.search(text)
    return 0 if not found or _ONE_OF.search(text[:found.start()]) else int(NUMBER_WORDS[found.group(1).lower()])


def _promised_items(units: list[tuple[int, int, str]]) -> dict[int, list[int]]:
    """For each sentence that promises things, the units that must be shown with it: as many
    of the sentences after it, in its chunk, as it promises."""
    return {k: [u for u in range(k + 1, min(k + 1 + n, len(units))) if units[u][0] == i]
            for k, (i, _, text) in enumerate(units) if (n := promised(text))}


def _with_antecedents(span: list[int], units: list[tuple[int, int, str]], takes_up: list[bool],
                      skip: set[int]) -> list[int]:
    """`span` with, for each unit that takes up the sentence before it (`takes_up`, read with
    text.TAKES_UP once per question), that sentence, and its own antecedent in turn; not one in
    `skip` (picked or left out)."""
    out = set(span)
    for k in span:
        while takes_up[k] and k - 1 not in skip:
            k -= 1
            out.add(k)
    return sorted(out)


def _with_gap(k: int, lists: dict[int, list[int]], picked: list[int]) -> list[int]:
    """Unit k and the items of its list between it and the nearest chosen item of that list."""
    run = lists.get(k)
    chosen = [u for u in run if u in picked] if run else []
    if not chosen:
        return [k]
    nearest = min(chosen, key=lambda u: abs(u - k))
    lo, hi = sorted((nearest, k))
    return [u for u in range(lo, hi + 1) if u not in picked]


def _join(parts: list[str]) -> str:
    """Sentences run on with spaces; bullet lines stay on lines of their own."""
    out = ""
    for part in parts:
        out += ("\n" if _is_item(part) and out else " " if out else "") + part
    return out


def shown(source: Source) -> Chunk:
    """The chunk as the prompt shows it (heading and chosen sentences)."""
    return replace(source.chunk, text=f"{source.heading}\n{source.text}")
