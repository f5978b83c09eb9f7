"""A stage's weeks beside its length: "Stage 2 ... runs 8 weeks." then "Stage 2 runs weeks 9-16."

Asked how long a stage is, the packaged model states one of the two its source gives
("Stage 2 (Deep Learning Fundamentals, weeks 9-16, 8 weeks)"), most often the length: run
12 answered "and how long does it take?" with "Stage 2 ... runs 8 weeks." and "what's stage 1
about?" with "It runs for 8 weeks", so a learner could not tell when the stage falls. An
answer that names one stage and states its length but not its weeks gets a sentence with
them, from corpus/roadmap.yaml: composed from the material, not cut. A sentence of its own,
added after the answer, as the list items an answer left out are (answer.py), so the
streamed /v1 text gets it as a last delta and every interface shows the same answer.

A sentence that calls the weeks a question asks about "the first two weeks" (or the last) of
a stage they are not at the start (end) of is held back: "what should i be doing in week 3"
got "you should be working on the first two weeks of the roadmap" (run 16), and "What should
I study in weeks 5 and 6?" got "This is covered in the first two weeks of Stage 1". The
support check passed both: the source states "(2 weeks)" and uses "first".

A question that names weeks to point beside them ("what comes after weeks 5-6?") gets the
plan's weeks beside them stated, "after weeks 5-6 (weeks 7-8)", for the same readers.

A question that counts weeks from a stage's start or end ("what are the first two weeks of
stage 2 about?", "what do I do in the last two weeks?") gets them stated as the roadmap
numbers them, "the first two weeks (weeks 9-10) of stage 2", before anything reads it:
retrieval, the gate and the context select by week numbers, and without them the first
question was answered with stage 1's plan and the second refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.retrieve import stages_named
from tutor.roadmap import Roadmap, Stage
from tutor.routing import stage_title_pattern
from tutor.text import BESIDE_SPAN, joined_spans, number_forms, numbers_in, span_beside, strip_markers, week_spans
from tutor.types import Chunk

_ORDINAL_WEEKS = re.compile(r"\b(first|last|final)\s+(\d{1,2}|[a-z]+)\s+weeks\b", re.I)
# "the first two weeks of stage 2", "the last week", "the second week of the NLP stage"
_COUNTED_WEEKS = re.compile(r"\bthe\s+(first|second|third|fourth|last|final)\s+(?:(\d{1,2}|two|three|four|five|six)\s+)?"
                            r"(weeks?)\b(?:\s+(?:of|in)\s+(?:the\s+)?(?P<of>[\w -]{1,60}?)(?=[?.,!;]|\s*$))?", re.I)
_NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def stage_without_weeks(text: str, roadmap: Roadmap) -> Stage | None:
    """The one stage `text` names (by number or title) and gives the length of ("8 weeks",
    "eight weeks") without stating its weeks; None otherwise."""
    named = _stages_named(text, roadmap)
    if len(named) != 1:
        return None
    stage = roadmap.stage_by_id[named.pop()]
    if stage.weeks in week_spans(text):
        return None
    said = number_forms(str(stage.length))
    return stage if re.search(rf"\b(?:{'|'.join(said)})[ -]weeks?\b", text, re.I) else None


def _stages_named(text: str, roadmap: Roadmap) -> set[int]:
    """The stages `text` names by number (retrieve.stages_named) or by title ("The deep
    learning stage lasts 8 weeks.")."""
    named = stages_named(text, roadmap.stages[-1].id) & set(roadmap.stage_by_id)
    return named | {s.id for s in roadmap.stages if stage_title_pattern(s.title).search(text)}


def _ordinal_span(start: int, end: int, word: str, count: int) -> range:
    """The `count` weeks a stage running weeks `start`-`end` has "first" (or "second" ...
    onwards) or "last": not cut to the stage, as the roadmap's first (last) weeks run on
    past its first (last) stage."""
    if word in ("last", "final"):
        return range(end - count + 1, end + 1)
    first = start + _NTH[word] - 1
    return range(first, first + count)


def weeks_sentence(stage: Stage) -> str:
    return f"Stage {stage.id} runs weeks {stage.weeks[0]}-{stage.weeks[1]}"


def misplaced_ordinal(sentence: str, weeks: set[int], roadmap: Roadmap) -> bool:
    """Whether `sentence` says "the first (last) N weeks" where the asked `weeks` are not the
    first (last) N weeks of any stage, nor so of the roadmap, which its stages start and end;
    or names as them N weeks that are not ("The first two weeks of stage 2 are weeks 10-11":
    the source's plan holds 10 and 11, so the support check's numbers pass it)."""
    if not weeks:
        return False
    for m in _ORDINAL_WEEKS.finditer(sentence):
        if not (n := int(next(iter(numbers_in(m.group(2))), 0))):  # "the first few weeks"
            continue
        spans = [_ordinal_span(a, b, m.group(1).lower(), n) for a, b in (s.weeks for s in roadmap.stages)]
        if not any(weeks <= set(span) for span in spans):
            return True
        # the weeks it names as them, next to the words: "(weeks 10-11)", "are weeks 10-11"
        named = [range(a, b + 1) for a, b in week_spans(sentence[m.end():m.end() + 40]) if b - a + 1 == n]
        if any(span not in spans for span in named):
            return True
    return False


def weeks_claimed(sentence: str, roadmap: Roadmap) -> list[tuple[int, int]]:
    """The weeks `sentence` places something in: the spans it states, less a stage's whole
    span ("stage 3 (weeks 17-24)" only names the stage), and the weeks it counts in a stage
    ("in the second week of stage 3": week 18)."""
    whole = {s.weeks for s in roadmap.stages}
    # counted without its asides: "the second week of stage 3 (Advanced ..., weeks 17-24)"
    bare = re.sub(r"\s*\([^)]*\)", "", strip_markers(sentence))
    counted = [found[0] for m in _COUNTED_WEEKS.finditer(bare) if (found := _counted_span(m, roadmap))]
    # "in weeks 19-20 and 21-22": the second span too
    joined = [(a, b) for unit, a, b in joined_spans(sentence) if unit == "week"]
    stated = list(dict.fromkeys(week_spans(sentence) + joined))
    return [span for span in stated if span not in whole] + counted


@dataclass(frozen=True)
class CountedWeeks:
    """Weeks a question counts from a stage's start or end: "the last two weeks" (`words`,
    ending at `at` in the question) are weeks 35-36 (`weeks`) of stage 4 (`stage`; None when
    counted over the whole roadmap)."""

    words: str
    at: int
    weeks: tuple[int, int]
    stage: int | None

    @property
    def stated(self) -> str:
        a, b = self.weeks
        return f"week {a}" if a == b else f"weeks {a}-{b}"


def counted_weeks(question: str, roadmap: Roadmap) -> list[CountedWeeks]:
    """The weeks `question` counts from a stage's (or the roadmap's) start or end; none when
    it names a week already, or its count does not fit its stage, or it names no stage the
    roadmap has."""
    if week_spans(question):
        return []
    found = []
    for m in _COUNTED_WEEKS.finditer(question):
        if (counted := _counted_span(m, roadmap)) is not None:
            found.append(CountedWeeks(question[m.start():m.end(3)], m.end(3), *counted))
    return found


def with_weeks_stated(question: str, counted: list[CountedWeeks]) -> str:
    """`question` with each counted span stated after the words that count it: "the first two
    weeks of stage 2" -> "the first two weeks (weeks 9-10) of stage 2"."""
    out, last = [], 0
    for c in counted:
        out.append(f"{question[last:c.at]} ({c.stated})")
        last = c.at
    return "".join(out) + question[last:]


def beside_weeks(question: str, roadmap: Roadmap) -> str:
    """`question` with the plan's weeks right after (before) a span it names to point beside
    it stated after that span: "what comes after weeks 5-6?" -> "what comes after weeks 5-6
    (weeks 7-8)?". Retrieval, the gate and the context then select by the weeks stated
    (text.weeks_asked), and the model reads which weeks are meant: shown the plan lines of
    weeks 5-6 and 7-8 for the first form, the packaged model described weeks 5-6. Nothing is
    stated past the plan's ends ("after week 36")."""
    blocks = sorted(block.weeks for stage in roadmap.stages for block in stage.week_plan)

    def stated(m: re.Match) -> str:
        if (near := span_beside(m.group(1), int(m.group(2)), int(m.group(3) or m.group(2)), blocks)) is None:
            return m.group()
        start, end = near
        return f"{m.group()} ({f'week {start}' if start == end else f'weeks {start}-{end}'})"
    return BESIDE_SPAN.sub(stated, question)


def weeks_facts(counted: list[CountedWeeks], roadmap: Roadmap) -> list[Chunk]:
    """What the counting computed, as facts an answer may state (as "what next" states its
    computed steps, tutor/coach.py): "the last two weeks (weeks 35-36)" echoed from the
    question was held back, since the plan item says "Weeks 34-36 (3 weeks)". Each stands for
    the stage its weeks are in, whose source a sentence it backs cites."""
    facts = []
    for n, c in enumerate(counted):
        stage = c.stage or next(s.id for s in roadmap.stages if s.weeks[0] <= c.weeks[1] <= s.weeks[1])
        where = f"stage {c.stage}" if c.stage else "the roadmap"
        verb = "is" if c.weeks[0] == c.weeks[1] else "are"
        text = f"{c.words[:1].upper()}{c.words[1:]} of {where} {verb} {c.stated}, in stage {stage}."
        facts.append(Chunk(f"counted-weeks#{n}", f"stage-{stage}", text, "Weeks counted", "user", "roadmap", stage))
    return facts


def _counted_span(m: re.Match, roadmap: Roadmap) -> tuple[tuple[int, int], int | None] | None:
    """The weeks a _COUNTED_WEEKS match counts and the stage it counts them in (None: the
    roadmap), or None when the count is not one to resolve."""
    word, count_word, where = m.group(1).lower(), m.group(2), m.group("of")
    if count_word and m.group(3).lower() == "week" or not count_word and m.group(3).lower() == "weeks":
        return None  # "the first two week", "the first weeks"
    if where is None and re.match(r"\s+(?:of|in)\b", m.string[m.end():]):
        return None  # an "of ..." too long to read
    if where is None and not count_word and word in ("last", "final"):
        return None  # "in the last week I studied ...": the past week, not the roadmap's
    if where and not re.fullmatch(r"(?:whole\s+|entire\s+)?(?:roadmap|course|plan|program(?:me)?)", where.strip(), re.I):
        named = _stages_named(where, roadmap)
        if len(named) != 1:
            return None
        stage = named.pop()
        start, end = roadmap.stage_by_id[stage].weeks
    else:
        stage, (start, end) = None, (roadmap.stages[0].weeks[0], roadmap.stages[-1].weeks[1])
    count = int(next(iter(numbers_in(count_word)), 0)) if count_word else 1
    if not 0 < count <= end - start + 1:
        return None  # "the first 40 weeks of stage 1"
    if count > 1 and word not in ("first", "last", "final"):
        return None  # "the second two weeks": not a count learners ask for
    span = _ordinal_span(start, end, word, count)
    return ((span[0], span[-1]), stage) if span[-1] <= end else None
