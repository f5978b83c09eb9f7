"""Months of a track asked about: the plan item that holds them, stated.

Asked "research track month 5?", the packaged model answered "month 5 involves running your
own experiments and writing your own papers" (months 9-12; the plan gives months 4-8 to
implementing recent papers), and "industry track months 9-10?" got the research track's
experiments: shown the plan's lines and a FAQ that names every track's months in one
paragraph, it took the wrong line. "what do I build in months 1-2 of the research track?"
and "what happens in month 7 of the freelance track?" were withdrawn, their plan line
padded with advice of the model's own. A question naming one track and months of it gets the
plan items that hold those months, as the plan states them ("The research track's plan for
months 4-8: implement recent papers."), unless the answer states their spans already; the
draft's sentences about those months give way to them, as a withdrawn draft does. The same
composing as for a concept's weeks (tutor/concept_weeks.py).
"""

from __future__ import annotations

import re

from tutor.context import Source
from tutor.text import NUMBER_WORDS, plan_items, sentences, span_numbers_stated, spans_meet, strip_markers, unit_spans


# "the first three months", "the first month": a track's plan counts its months from 1 (run
# 23's m-22 asked what "the first three months" of the research track look like, and its
# answer left out months 1-3)
_FIRST_MONTHS = re.compile(r"\bfirst\s+(?:(\d{1,2}|[a-z]+)\s+)?months?\b", re.I)


def asked_months(question: str) -> set[tuple[int, int]]:
    """The month spans a question (or a sentence) names: "month 5", "months 1-2", "the first
    three months"."""
    spans = {(a, b) for unit, a, b in unit_spans(question) if unit == "month"}
    for found in _FIRST_MONTHS.finditer(question):
        count = found.group(1)
        n = 1 if count is None else int(count) if count.isdigit() else int(NUMBER_WORDS.get(count.lower(), 0))
        spans |= {(1, n)} if n else set()
    return spans


def track_plan_lines(track: str, months: set[tuple[int, int]], sources: list[Source]
                     ) -> tuple[int, list[tuple[int, int, str]]] | None:
    """The source number of `track`'s month-by-month plan among `sources` and its items that
    meet the asked `months`, as (first, last, what the item says); None without either."""
    for n, source in enumerate(sources, 1):
        chunk = source.chunk
        if chunk.doc_id != track or not chunk.title.endswith("month-by-month plan"):
            continue
        items = [(a, b, line.split(":", 1)[1].strip().rstrip("."))
                 for unit, a, b, line in plan_items(chunk.text)
                 if unit == "month" and spans_meet([(a, b)], months)]
        return (n, items) if items else None
    return None


def unstated_months(text: str, question: str, track: str, sources: list[Source]) -> list[tuple[str, tuple[str, ...]]]:
    """The sentences stating the plan items of `track` ("track-research") that hold
    the months `question` asks about, each with the draft sentences it takes the place of
    (those stating months it holds); [] when `text` states every item's span already."""
    months = asked_months(question)
    found = track_plan_lines(track, months, sources) if months else None
    if found is None:
        return []
    n, items = found
    spans = {(a, b) for a, b, _ in items}
    if all(set(range(a, b + 1)) <= span_numbers_stated(text, spans, "month") for a, b in spans):
        return []
    said = tuple(strip_markers(s) for s in sentences(text) if spans_meet(list(asked_months(s)), spans))
    name = track.removeprefix("track-")
    return [(f"The {name} track's plan for months {a}-{b}: {what[:1].lower()}{what[1:]} [{n}].", said)
            for a, b, what in items]
