"""When a concept comes: the weeks of the plan items that name it, stated.

Asked "when do I learn about BERT?" and shown only the items of stage 3's plan that name BERT
(weeks 21-22 and 23-24: routing.Router.asked_when, context.select), the packaged model
answered "You learn about BERT in the second week of stage 3"; asked about dropout, it gave
weeks 11-12 once and then "the training phase of the model". An answer to a "when" question
that leaves out a span of those items gets a sentence stating them all, composed from the
material ("The roadmap's plan covers BERT in weeks 21-22 and 23-24 of stage 3."), added as the
left-out list items are (answer.py), opening the answer. A draft sentence that names the
concept and places it in other weeks gives way to it: another span, part of the span ("week
6" of 5-6), a wider one ("weeks 25-30" of 25-27), "the second week of stage 3". So does a draft
that would be withdrawn: "which weeks cover gradient boosting?" was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tutor.context import Source
from tutor.roadmap import Roadmap
from tutor.spans import weeks_claimed
from tutor.text import inside, listed, plan_items, sentences, span_numbers_stated, strip_markers


@dataclass(frozen=True)
class PlanWeeks:
    """Where the plan puts what a "when" question asks about: `weeks` of `stage`, in the
    source numbered `n`."""

    n: int
    stage: int
    weeks: tuple[tuple[int, int], ...]

    def stated(self) -> str:
        """"weeks 21-22 and 23-24 of stage 3\""""
        spans = [f"{a}-{b}" if a != b else f"{a}" for a, b in self.weeks]
        unit = "week" if len(self.weeks) == 1 and self.weeks[0][0] == self.weeks[0][1] else "weeks"
        return f"{unit} {listed(spans)} of stage {self.stage}"


def plan_weeks(sources: list[Source], names: Callable[[str], bool]) -> list[PlanWeeks]:
    """The week spans of the stage plan items in `sources` whose text `names` the asked
    concept, per source; read from each source's whole chunk, not only what the prompt showed."""
    found = []
    for n, source in enumerate(sources, 1):
        chunk = source.chunk
        if chunk.stage is None or not chunk.doc_id.startswith("stage-") or not chunk.title.endswith("plan"):
            continue
        spans = tuple((a, b) for unit, a, b, line in plan_items(chunk.text) if unit == "week" and names(line))
        if spans:
            found.append(PlanWeeks(n, chunk.stage, spans))
    return found


def covers_sentence(name: str, found: list[PlanWeeks]) -> str:
    where = " and ".join(p.stated() for p in found)
    return f"The roadmap's plan covers {name} in {where} [{found[0].n}]."


def unstated_weeks(text: str, sources: list[Source], names: Callable[[str], bool],
                   roadmap: Roadmap) -> tuple[tuple[PlanWeeks, ...], tuple[str, ...]] | None:
    """Where the plan puts the concept a "when" question asks about (`names`: whether a text
    names it), and the draft's sentences a sentence stating it takes the place of; None when
    `text` states every week of it already, or the sources hold no plan item naming it."""
    found = tuple(plan_weeks(sources, names))
    if not found:
        return None
    asked = {span for p in found for span in p.weeks}
    claims = [(strip_markers(s), claimed) for s in sentences(text)
              if names(s) and (claimed := weeks_claimed(s, roadmap))]
    # weeks outside the plan's for it: "in weeks 25-30" of 25-27, "in the second week of stage
    # 3", "in Weeks 19-20 and 21-22" of the Transformer's 19-20 (21-22 has the Vision Transformer)
    outside = [s for s, claimed in claims if not all(inside(span, asked) for span in claimed)]
    stated = all(set(range(a, b + 1)) <= span_numbers_stated(text, asked, "week") for a, b in asked)
    if stated and not outside:
        return None
    # and part of one, where the answer never states them all: "in week 6" of weeks 5-6
    return found, tuple(s for s, claimed in claims
                        if s in outside or not stated and any(span not in asked for span in claimed))


def covering(unstated: list[tuple[str, tuple[PlanWeeks, ...], tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """One sentence for the concepts the plan puts in the same weeks ("The roadmap's plan
    covers clustering and PCA in weeks 7-8 of stage 1"), with the draft sentences it takes the
    place of, from (name, where, draft sentences) for each concept."""
    by_weeks: dict[tuple[PlanWeeks, ...], tuple[list[str], list[str]]] = {}
    for name, found, elsewhere in unstated:
        names, replaced = by_weeks.setdefault(found, ([], []))
        names.append(name)
        replaced += [s for s in elsewhere if s not in replaced]
    return [(covers_sentence(listed(names), found), tuple(replaced)) for found, (names, replaced) in by_weeks.items()]


def as_titled(words: str, title: str) -> str:
    """The question's `words` for a concept, written as its title writes them where that is
    a name's writing ("lstm and gru" -> "LSTM and GRU", "bert" -> "BERT"), not a sentence's
    opening capital ("transfer learning" stays)."""
    article, name = re.match(r"((?:the\s+)?)(.*)", words, re.I | re.S).groups()
    at = title.lower().find(name.lower())
    written = title[at:at + len(name)] if at >= 0 else ""
    name = written if re.search(r"^.+[A-Z]", written) else name
    # the article only before a name ("the Vision Transformer"): "the attention paper" is
    # matched as "the attention", and "covers the attention" reads wrong
    return article + name if re.search(r"[A-Z]", name) else name
