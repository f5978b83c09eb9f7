"""How long the roadmap, or a stage of it, takes at the hours a week the learner says.

"I only have 5 hours a week, how long will the whole roadmap take me?" was answered "The
roadmap takes 36 weeks, or about 8-12 months, at 15-20 hours a week [1].": true, and no
answer to what was asked. The material plans every stage at 15-20 hours a week
(corpus/roadmap.yaml), and its FAQ says to stretch the calendar with fewer hours rather than
skip material; the stretched calendar is arithmetic, so it is computed here and given to the
model and the support check as a fact (as "what next" gives its computed steps,
tutor/coach.py), not left to a 1.5B model's sums. The model reads it first in the source it
is cited to; a sentence that gets it wrong in numbers the sources all hold ("At 5 hours a
week, the roadmap takes about 36 weeks") is held back like an unsupported one.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tutor.context import Source
from tutor.next_step import PLANNED_HOURS
from tutor.retrieve import stages_named
from tutor.roadmap import Roadmap
from tutor.types import Chunk

WEEKS_A_MONTH = 52 / 12
HOURS_FAQ = "faq-hours-per-week"  # the FAQ on weekly hours: what a whole-roadmap fact cites
FACT_ID = "pace#0"

_HOURS = re.compile(r"\b(\d{1,2})\s*(?:hours?|hrs?|h)\s*(?:a|per|each|every|/|an?)\s*week\b"
                    r"|\b(\d{1,2})\s*(?:hours?|hrs?|h)\s+weekly\b", re.I)
_TIME = re.compile(r"\b(\d+)(?:\s*(?:-|\u2013|to)\s*(\d+))?\s*(?:weeks?|months?|years?)\b", re.I)  # "10 to 14 months"
_HOURS_STATED = re.compile(r"\b(\d+)(?:\s*-\s*(\d+))?\s*(?:hours?|hrs?|h)\b", re.I)
_HOW_LONG = re.compile(r"\bhow\s+(?:long|many\s+(?:weeks|months|years))\b|\bwhen\s+(?:will|would|could|can)\s+i\s+"
                       r"(?:finish|be\s+done|complete)\b|\btake\s+me\b", re.I)


def hours_said(question: str) -> int | None:
    """The hours a week a question says the learner has ("5 hours a week", "10h/week")."""
    m = _HOURS.search(question)
    hours = int(m.group(1) or m.group(2)) if m else 0
    return hours if 1 <= hours <= 80 else None


def pace_facts(question: str, roadmap: Roadmap, sources: list[Source]) -> list[Chunk]:
    """The calendar at the learner's hours, for a question that says its hours and asks how
    long: of the one stage it names, else of the whole roadmap. It is cited through the
    stage's (the hours FAQ's) source when one is shown, else the first source."""
    hours = hours_said(question)
    if hours is None or not _HOW_LONG.search(question):
        return []
    named = stages_named(question, roadmap.stages[-1].id) & set(roadmap.stage_by_id)
    if len(named) == 1:
        stage = roadmap.stage_by_id[named.pop()]
        weeks, what, doc = stage.length, f"stage {stage.id}", f"stage-{stage.id}"
    else:
        weeks, what, doc = roadmap.stages[-1].weeks[1] - roadmap.stages[0].weeks[0] + 1, "the whole roadmap", HOURS_FAQ
    shown = [s.chunk.doc_id for s in sources]
    doc = doc if doc in shown or not shown else shown[0]
    low, high = (round(weeks * planned / hours) for planned in PLANNED_HOURS)
    # the answer alone: told "(its 36 weeks are planned at 15-20 hours a week)" as well, the
    # packaged model answered "about 25-33 months ..., assuming 15-20 hours a week"
    months = (round(low / WEEKS_A_MONTH), round(high / WEEKS_A_MONTH))
    said = f", which is about {_span(*months)} months" if months[1] >= 2 else ""
    text = f"At {hours} hours a week, {what} takes about {_span(low, high)} weeks{said}."
    return [Chunk(FACT_ID, doc, text, "Your hours a week", "user", "roadmap", None)]


def with_pace_facts(sources: list[Source], facts: list[Chunk]) -> list[Source]:
    """The sources as the answer prompt shows them: a pace fact opens the first source of
    the document it is cited through (closing it, see `unstated_pace`). Given on a line of its own, outside the numbered
    sources, the packaged model answered "with 10h/week how long is stage 2?" with "The
    roadmap material does not cover this specific question." (the counted weeks of
    tutor/spans.py are stated in the question instead)."""
    shown = list(sources)
    for fact in (f for f in facts if f.id == FACT_ID):
        n = next((n for n, s in enumerate(shown) if s.chunk.doc_id == fact.doc_id), None)
        if n is not None:
            shown[n] = replace(shown[n], text=f"{fact.text}\n{shown[n].text}")
    return shown


def misstated_pace(sentence: str, facts: list[Chunk]) -> bool:
    """Whether `sentence` gets the computed calendar wrong in words the support check passes:
    the learner's hours with a time the fact does not give ("At 5 hours a week, the roadmap
    takes about 36 weeks": 5 and 36 are both in what it read), or the fact's time beside
    other hours or another time ("about 25-33 months ..., assuming 15-20 hours a week", "about
    3-5 months, which is about 12 weeks", both read in served drafts)."""
    fact = next((f for f in facts if f.id == FACT_ID), None)
    if fact is None:
        return False
    computed, learner = _numbers(_TIME, fact.text), _numbers(_HOURS_STATED, fact.text)
    times, hours = _numbers(_TIME, sentence), _numbers(_HOURS_STATED, sentence)
    return bool(times - computed and (hours & learner or times & computed)
                or times & computed and hours - learner)


def unstated_pace(text: str, facts: list[Chunk]) -> Chunk | None:
    """The computed calendar when `text` gives neither its weeks nor its months: shown it
    first in the hours FAQ's short answer, right before "At that pace, Roadmap A's 36-week
    path takes about 8-12 months", the packaged model answered "How many weeks will roadmap A
    take me at 12 hours a week?" with "The roadmap A will take me about 8-12 months at 15-20
    hours a week." (true of the plan, and no answer). Shown last in its source instead, it
    was stated in 6 of 12 phrasings, not 10 (the stage's own text pushes it far off)."""
    fact = next((f for f in facts if f.id == FACT_ID), None)
    if fact is None:
        return None
    spans = [(int(a), int(b or a)) for a, b in _TIME.findall(fact.text)]
    stated = {(int(a), int(b or a)) for a, b in _TIME.findall(text)}
    return None if stated & set(spans) else fact


def _numbers(pattern: re.Pattern, text: str) -> set[int]:
    return {int(n) for m in pattern.finditer(text) for n in m.groups() if n}


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"
