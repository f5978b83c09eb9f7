"""A stage's weeks added beside its length (tutor/spans.py): run 12 answered "and how long
does it take?" with "Stage 2 of Deep Learning Fundamentals runs 8 weeks." and no weeks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_tutor import served_on_every_interface
from tutor.roadmap import load_roadmap
from tutor.spans import stage_without_weeks, weeks_sentence

ROADMAP = load_roadmap(Path(__file__).resolve().parent.parent / "corpus" / "roadmap.yaml")


@pytest.mark.parametrize("text, stage", [
    ("Stage 2 of Deep Learning Fundamentals runs 8 weeks.", 2),
    ("Stage 1 focuses on classical ML. It runs for eight weeks [1].", 1),
    ("Stage 4 lasts 12 weeks and ends with a portfolio project.", 4),
    ("The deep learning stage lasts 8 weeks.", 2),  # named by its title (session 22's reading)
    ("Stage 2 runs 8 weeks (weeks 9-16).", None),  # says both already
    ("Stage 2 runs weeks 9 to 16, 8 weeks.", None),
    ("Stage 1 and stage 2 each run 8 weeks.", None),  # which weeks? two stages named
    ("Stage 4 lasts 8 weeks.", None),  # not stage 4's length: the model's slip, not ours to dress
    ("The maths block takes 4-6 weeks.", None),
])
def test_the_one_stage_whose_length_alone_an_answer_gives(text, stage):
    found = stage_without_weeks(text, ROADMAP)
    assert (found.id if found else None) == stage
    if stage:
        first, last = ROADMAP.stage_by_id[stage].weeks
        assert weeks_sentence(found) == f"Stage {stage} runs weeks {first}-{last}"


def test_the_weeks_are_added_cited_and_every_interface_shows_them(make_app):
    question = "How long is stage 2?"
    app, _, _ = make_app(lambda m: "Stage 2 of Deep Learning Fundamentals runs 8 weeks [1].")
    done = served_on_every_interface(app, question)
    first, added = done["answer"].split("\n\n")
    assert first == "Stage 2 of Deep Learning Fundamentals runs 8 weeks [1]."
    assert added.startswith("Stage 2 runs weeks 9-16 [") and not done["held_back"], done
    cited = {c["n"]: c["chunk_id"] for c in done["citations"]}
    assert cited[int(added.split("[")[1][0])].startswith("stage-2"), cited
