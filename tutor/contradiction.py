"""Claims in the source's own words that say the opposite of it.

The support scorer (tutor/support.py) reads meaning through an embedder and words through
their stems, and both pass a sentence that copies a source sentence and turns one word
round: "Dropout stays switched on at inference time." against "At inference time dropout is
turned off." scored 0.84, "Actor-critic methods increase the variance of policy gradients."
0.84. Most false accepts on the hand labels' dev split were of this kind. `contradiction`
looks for the three turns a copy can take, each against the source sentence the claim is
aligned with (the one sharing most of its content stems):
- an antonym: the claim says a word the sources never use, whose opposite the aligned
  sentence says ("increase" where it says "reducing");
- a negation: added ("did not work well" where it says "were already working well"), or
  dropped before words the claim repeats ("caused by overfitting" where it says "This was
  not overfitting");
- a scale: "11 million parameters" where the sources say "11 billion parameters";
- a span: a week or month span said with what the sources' plan puts in another span
  ("Weeks 13-14 cover weight initialisation, batch normalisation and dropout" where the plan
  lists them under weeks 11-12). Every number of it is in the source, so the number check
  passes it;
- a stage: a clause naming one stage that says what the sources say of another ("Stage 2
  runs on any laptop CPU" where the FAQ says "Stage 1 runs on any laptop CPU, and for deep
  learning from stage 2 on, ..."), again with every number in the source.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tutor.text import (BESIDE_SPAN, NEGATION, STOPWORDS, TAKES_UP, joined_spans, sentences, span_beside, spans_meet,
                        stem, terms, unit_spans, without_spans, words)

# Pairs of opposites as the corpus and a tutor's answers use them, compared by stem; a
# general lexicon, not one fitted to the labels (a word's stem is its first five letters,
# so "increase" also stands for "increases", "increasing"). Not pairs that name two parts of
# one thing (input and output, encoder and decoder): a claim may name the part its source
# does not; nor an order, which is said from either side ("learn sequence-to-sequence models
# before the attention mechanism" is what "Concepts to learn after ...: Attention" says).
_OPPOSITES = """
increase decrease  increase reduce  increase lower  raise lower  more fewer  more less  most least
higher lower  larger smaller  bigger smaller  faster slower  deeper shallower  longer shorter
first last  add remove  adds removes  added removed  include exclude
allow prevent  enable disable  same different  fixed variable  independent dependent
independent correlated  easy hard  easier harder  cheap expensive
supervised unsupervised  labelled unlabelled  labeled unlabeled  linear nonlinear  linear non-linear
strong weak  stronger weaker  stable unstable  always never  all none  better worse  best worst
improve degrade  improve worsen  help hurt  success failure  dense sparse  continuous discrete
global local  coarse fine  coarser finer  static dynamic  online offline  sequential parallel
required optional  necessary unnecessary  possible impossible  symmetric asymmetric  on off
overfitting underfitting  overfit underfit  minimise maximise  minimize maximize  minimum maximum
beginner advanced  junior senior  manual automatic  hosted self-hosted  skip teach  skip cover  skip include
"""
OPPOSITES: dict[str, set[str]] = {}
for _a, _b in (pair.split() for line in _OPPOSITES.strip().splitlines() for pair in line.split("  ")):
    OPPOSITES.setdefault(stem(_a), set()).add(stem(_b))
    OPPOSITES.setdefault(stem(_b), set()).add(stem(_a))

_FUNCTION_STEMS = frozenset(stem(w) for w in STOPWORDS) | {"off"}
# Words that deny as "not" does: "which prevents parallel training" is what "training cannot
# be parallelised" paraphrases.
# "Kaggle competitions do not teach you data collection" is what "It skips data collection" says
_NEGATIVE = re.compile(r"\b(?:prevent|avoid|lack|fail|unable|impossible|stop|block|rarely|hardly|nothing|nobody|"
                       r"skip|omit)\w*", re.I)
_SCALED = re.compile(r"\b(\d+(?:[.,]\d+)?)\s*(thousand|million|billion|trillion)\b", re.I)
_MIN_SHARED = 2  # content stems a source sentence must share with the claim to be aligned with it


# where a sentence joins two claims that turn on each other: "The roadmap does not go as far
# as gradient boosting, but it does include regression algorithms such as linear and logistic
# regression." was aligned, whole, with the plan item on regression, which says nothing of
# gradient boosting, so its added "not" went unseen (served in full run 24, a-stage-15)
_TURN = re.compile(r",\s+(?:but|while|whereas|yet)\s+|;\s+", re.I)


def contradiction(sentence: str, source_texts: list[str]) -> str:
    """Why `sentence`, or a clause of it turned on another ("..., but ..."), contradicts the
    sources it copies ("antonym: increase / reduc"), or ""."""
    if reason := _contradiction(sentence, source_texts):
        return reason
    clauses = _TURN.split(sentence)
    return next((reason for clause in clauses if (reason := _contradiction(clause, source_texts))), "") \
        if len(clauses) > 1 else ""


def _contradiction(sentence: str, source_texts: list[str]) -> str:
    if moved := _moved_span(sentence, source_texts):
        return moved
    if misnamed := _misnumbered_stage(sentence) or _swapped_stage(sentence, source_texts):
        return misnamed
    claim = _stems(sentence)
    aligned = _aligned(claim, source_texts)
    if not aligned:
        return ""
    best_text, best_stems = aligned[0]
    said, best = _word_stems(sentence), _word_stems(best_text)
    # a content word the sources never use; a function word ("on", "more", "after"), which
    # every source uses somewhere, one the aligned sentences do not
    # (said by a sentence on the claim's subject, sharing _MIN_SHARED content stems with it:
    # "They skip validation discipline, feature engineering, ..." has "skip" from the
    # sentence on what Kaggle leaves out, not from "Competitions teach validation discipline")
    unsaid = said - frozenset().union(*(_word_stems(t) for t in _about(claim, source_texts)))
    unsaid |= {w for w in said & _FUNCTION_STEMS if not any(w in _word_stems(t) for t, _ in aligned)}
    # a comparison may be said from either side: "the LSTM has more parameters than the GRU"
    # is what "the GRU is a simpler cell with fewer parameters" says
    for word in sorted(unsaid) if not re.search(r"\bthan\b", sentence, re.I) else []:
        if opposite := sorted(OPPOSITES.get(word, set()) & best - said):
            return f"antonym: {word} / {opposite[0]}"
    # a negation before words the aligned sentence states, which no aligned sentence denies,
    # read with their questions too: "without burning out" takes up the FAQ's "How do I ...
    # avoid burnout ...?"
    if (negated_copy(best_stems, sentence) and not any(NEGATION.search(text) or _NEGATIVE.search(text)
                                                 for text, _ in [*aligned, *_aligned(claim, source_texts, asked=True)])):
        return "negation added"
    if not NEGATION.search(sentence):
        for text in [t for t, _ in aligned] + _taken_up([t for t, _ in aligned], source_texts):
            if dropped := negated_copy(claim, text):
                return f"negation dropped: {dropped}"
    return _rescaled(sentence, " ".join(source_texts))


# "Stage 1, which is the second stage", "Roadmap A, which is the first stage": a side clause
# the scorer passed, its words all in the sources (read in served answers)
_STAGE_ORDINAL = re.compile(r"\b(?:stage\s+(\d)|(roadmap\s+[ab]|q[1-4]))\b(?:\s*\([^)]*\))?,?\s+(?:which|that)?\s*"
                            r"(?:is|was)\s+(?:the\s+)?(first|second|third|fourth)\s+stage\b", re.I)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def _misnumbered_stage(sentence: str) -> str:
    """"stage ordinal: stage 1 / second" when a sentence calls a stage by another's ordinal,
    or a roadmap or quarter a stage; ""."""
    for found in _STAGE_ORDINAL.finditer(sentence):
        number, other, ordinal = found.groups()
        if other or int(number) != _ORDINALS[ordinal.lower()]:
            return f"stage ordinal: {(other or 'stage ' + number).lower()} / {ordinal.lower()}"
    return ""


_STAGE = re.compile(r"\bstage\s+(\d)\b", re.I)
# where a sentence goes on to say something of another stage ("Stage 1 runs on any laptop
# CPU, and for deep learning from stage 2 on, ...")
_CLAUSE = re.compile(r"[;,:()\u2014]|\s(?:and|but|while|whereas|then)\s", re.I)


def _swapped_stage(sentence: str, source_texts: list[str]) -> str:
    """"stage: stage 2 / stage 1" when a clause of `sentence` naming one stage shares at
    least _SPAN_MARGIN more content stems with a source clause naming only another stage
    than with any source clause naming it; ""."""
    lines = [line for text in source_texts for line in _stage_clauses(text)]
    for clause in _CLAUSE.split(sentence):
        named = set(_STAGE.findall(clause))
        if len(named) != 1:
            continue
        claim = _stems(_STAGE.sub(" ", clause)) - _PLAN_STEMS
        same = max((len(claim & stems) for stages, stems in lines if named <= stages), default=0)
        other, where = max(((len(claim & stems), sorted(stages)) for stages, stems in lines
                            if len(stages) == 1 and not named & stages), default=(0, []))
        if other >= _SPAN_MARGIN and other >= same + _SPAN_MARGIN:
            return f"stage: stage {named.pop()} / stage {where[0]}"
    return ""


@lru_cache(maxsize=512)
def _stage_clauses(text: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """Each clause of a source's sentences as the stages it names and its content stems,
    stage numbers and plan words left out, once per source text."""
    return tuple((frozenset(_STAGE.findall(clause)), _stems(_STAGE.sub(" ", clause)) - _PLAN_STEMS)
                 for part in text.split("\n") for line in sentences(part) for clause in _CLAUSE.split(line))


# Words every line of a plan may share with a claim about any of its spans.
_PLAN_STEMS = frozenset(stem(w) for w in "week weeks month months stage cover covers covered learn learning "
                        "spend study focus roadmap track plan".split())
_BARE_RANGE = re.compile(r"\b(\d{1,2})\s*[-–]\s*(\d{1,2})\b")
_SPAN_MARGIN = 2  # content stems by which another span's line must beat the claimed span's


def _moved_span(sentence: str, source_texts: list[str]) -> str:
    """A week or month span of `sentence` that the sources' lines stating a span of that unit
    put other content in (`_moved`). A claim stating several spans of a unit ("months 1-3 of
    maths, then months 4-8 of papers") is read against them all together: which of its words
    go with which span is not for this check to guess; but spans joined by "and" or "or"
    ("In Weeks 5-6 and 7-8, you learn kNN", run 21) say the same of each, so each is read."""
    lines = [line for text in source_texts for line in _span_lines(text)]
    claimed = _placed(sentence, sorted({span for _, spans, _ in lines for span in spans}))
    if not claimed:
        return ""
    claim = _stems(without_spans(sentence)) - _PLAN_STEMS
    for unit, a, b in joined_spans(sentence):
        if moved := _moved(unit, [(a, b)], claim, lines):
            return moved
    for unit in sorted({u for u, _, _ in claimed}):
        if moved := _moved(unit, [(a, b) for u, a, b in claimed if u == unit], claim, lines):
            return moved
    return ""


def _moved(unit: str, said: list[tuple[int, int]], claim: frozenset[str], lines: list) -> str:
    """Whether the source line with a span of `unit` apart from the spans `said` shares at
    least _SPAN_MARGIN more of the claim's content stems than any line whose span meets them
    (a stage's whole span meets every week of it). Lines without a span say nothing of where
    a thing goes."""
    lo, hi = min(a for a, _ in said), max(b for _, b in said)
    meeting, apart, where = [], 0, ""
    for line, spans, stems in lines:
        spans = [(x, y) for u, x, y in spans if u == unit]
        if not spans:
            continue
        # a line that names the unit once may go on in bare ranges: "one framework
        # (months 1-2) to two production projects (3-4), cloud and scale (5-6)"
        spans += [(int(x), int(y)) for x, y in _BARE_RANGE.findall(line)]
        shared = len(claim & stems)
        if spans_meet(spans, said):
            wider = all(x <= lo and hi <= y and y - x > hi - lo for x, y in spans)
            meeting.append((wider, shared))
        elif shared > apart:
            apart, where = shared, f"{unit}s {spans[0][0]}-{spans[0][1]}"
    # where the plan has a line for the claimed span itself, the stage's whole span (its
    # heading, whose title words any claim may repeat) says nothing of what goes there
    if any(not wider for wider, _ in meeting):
        meeting = [(wider, shared) for wider, shared in meeting if not wider]
    meets = max((shared for _, shared in meeting), default=0)
    if apart >= _SPAN_MARGIN and apart >= meets + _SPAN_MARGIN:
        return f"span: {unit}s {lo}-{hi} / {where}"
    return ""


@lru_cache(maxsize=512)
def _span_lines(text: str) -> tuple[tuple[str, list, frozenset[str]], ...]:
    """Each line and sentence of a source with the spans it states and its content stems
    without them, once per source text: the scorer reads every answer sentence against the
    same few sources, together and one by one."""
    return tuple((line, unit_spans(line), _stems(without_spans(line)))
                 for part in text.split("\n") for line in sentences(part))


def _placed(sentence: str, stated: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The spans `sentence` puts something in: those it states, but for one named to point
    beside it ("After weeks 5-6, you learn ..."), the sources' span right after (before) it,
    or none where they state none."""
    placed = unit_spans(BESIDE_SPAN.sub(" ", sentence))
    weeks = [(a, b) for unit, a, b in stated if unit == "week"]
    for m in BESIDE_SPAN.finditer(sentence):
        if near := span_beside(m.group(1), int(m.group(2)), int(m.group(3) or m.group(2)), weeks):
            placed.append(("week", *near))
    return placed


def _aligned(claim: frozenset[str], source_texts: list[str], asked: bool = False) -> list[tuple[str, frozenset[str]]]:
    """The source statements (`asked`: sentences, questions in them kept) sharing most of
    the claim's content stems (ties all kept), at least _MIN_SHARED of them; the first is
    the one a contradiction is read against."""
    scored = [(len(claim & stems), text, stems) for source in source_texts
              for text, stems in _sentence_stems(source, asked)]
    top = max((n for n, _, _ in scored), default=0)
    return [(text, stems) for n, text, stems in scored if n == top] if top >= _MIN_SHARED else []


def _about(claim: frozenset[str], source_texts: list[str]) -> list[str]:
    """The sentences of the sources, questions in them kept, sharing at least _MIN_SHARED of
    the claim's content stems."""
    return [text for source in source_texts for text, stems in _sentence_stems(source, True)
            if len(claim & stems) >= _MIN_SHARED]


def negated_copy(claim: frozenset[str], source_sentence: str) -> str:
    """The words after a negation of `source_sentence` that the claim repeats without it
    (two of the three content words that follow, or the one when only one does)."""
    for m in NEGATION.finditer(source_sentence):
        clause = re.split(r"[;:,.()]", source_sentence[m.end():], maxsplit=1)[0]
        after = [t for t in terms(clause) if len(t) > 2][:3]
        if after and 3 * sum(_holds(claim, t) for t in after) >= 2 * len(after):
            return f"{m.group()} {' '.join(after)}"
    return ""


def _holds(stems: frozenset[str], term: str) -> bool:
    """Whether `stems` hold `term`, a short word by its start too ("work" in "working",
    whose five-letter stem is "worki")."""
    return stem(term) in stems or len(term) == 4 and any(s.startswith(term) for s in stems)


def _rescaled(sentence: str, sources: str) -> str:
    """A number the sources state with another scale word ("11 million" vs "11 billion")."""
    stated = {(n.replace(",", ""), scale.lower()) for n, scale in _SCALED.findall(sources)}
    for n, scale in _SCALED.findall(sentence):
        n, scale = n.replace(",", ""), scale.lower()
        if (n, scale) not in stated and any(m == n for m, _ in stated):
            return f"scale: {n} {scale}"
    return ""


@lru_cache(maxsize=1024)
def _word_stems(text: str) -> frozenset[str]:
    """Every word's stem, once per text: the scorer reads each answer sentence against the
    same few sources, alone and together."""
    return frozenset(stem(w) for w in words(text))


# a statement that opens by taking up the one before it (text.TAKES_UP) is part of what that
# one says: "ResNet addressed the degradation problem: when plain CNNs were made deeper,
# training error got worse, not better. This was not overfitting; ..." against "It solved the
# problem of overfitting when plain CNNs were made deeper" (served in session 36, aligned
# with the first)
def _taken_up(aligned: list[str], source_texts: list[str]) -> list[str]:
    """The source statements right after those in `aligned` that take them up (TAKES_UP)."""
    out = []
    for source in source_texts:
        statements = [text for text, _ in _sentence_stems(source)]
        out += [after for before, after in zip(statements, statements[1:])
                if before in aligned and TAKES_UP.match(after) and after not in aligned]
    return out


def _stems(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in terms(text) if len(t) > 1 and not t.isdigit())


@lru_cache(maxsize=512)
def _sentence_stems(text: str, asked: bool = False) -> tuple[tuple[str, frozenset[str]], ...]:
    """Each statement of a source, without the questions in it, with its content stems, once
    per source text: a question states nothing to contradict ('FAQ "Do I need a degree
    ...?", Where a degree can help' was read against "you don't need a degree")."""
    if asked:
        return tuple((s, _stems(s)) for s in sentences(text))
    statements = (_QUOTED_QUESTION.sub("", s) for s in sentences(text))
    return tuple((s, _stems(s)) for s in statements if not s.rstrip().endswith("?"))


# a question quoted, or asked inside a sentence (an FAQ chunk's text opens with its title,
# "Do I need a degree to get a machine learning job? — Where a degree can help Some roles ...")
_QUOTED_QUESTION = re.compile(r'"[^"\n]*\?"|[^.!?"\n]*\?')
