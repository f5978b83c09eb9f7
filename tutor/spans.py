"""A stage's weeks beside its length: "Stage 2 ... runs 8 weeks." then "Stage 2 runs weeks 9-16."

Asked how long a stage is, the packaged model states one of the two its source gives
("Stage 2 (Deep Learning Fundamentals, weeks 9-16, 8 weeks)"), most often the length: run
12 answered "and how long does it take?" with "Stage 2 ... runs 8 weeks." and "what's stage 1
about?" with "It runs for 8 weeks", so a learner could not tell when the stage falls. An
answer that names one stage and states its length but not its weeks gets a sentence with
them, from corpus/roadmap.yaml: composed from the material, not cut. A sentence of its own,
added after the answer, as the list items an answer left out are (answer.py), so the
streamed /v1 text gets it as a last delta and every interface shows the same answer.
"""

from __future__ import annotations

import re

from tutor.roadmap import Roadmap, Stage
from tutor.routing import stage_title_pattern
from tutor.text import number_forms, week_spans

_STAGE = re.compile(r"\bstage\s+(\d)\b", re.I)


def stage_without_weeks(text: str, roadmap: Roadmap) -> Stage | None:
    """The one stage `text` names (by number or title) and gives the length of ("8 weeks",
    "eight weeks") without stating its weeks; None otherwise."""
    named = {int(n) for n in _STAGE.findall(text)} & set(roadmap.stage_by_id)
    # or by its title: "The deep learning stage lasts 8 weeks."
    named |= {s.id for s in roadmap.stages if stage_title_pattern(s.title).search(text)}
    if len(named) != 1:
        return None
    stage = roadmap.stage_by_id[named.pop()]
    first, last = stage.weeks
    if (first, last) in week_spans(text):
        return None
    length = last - first + 1
    said = number_forms(str(length))
    return stage if re.search(rf"\b(?:{'|'.join(said)})[ -]weeks?\b", text, re.I) else None


def weeks_sentence(stage: Stage) -> str:
    return f"Stage {stage.id} runs weeks {stage.weeks[0]}-{stage.weeks[1]}"
