"""A stage's weeks added beside its length (tutor/spans.py): run 12 answered "and how long
does it take?" with "Stage 2 of Deep Learning Fundamentals runs 8 weeks." and no weeks."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi.testclient import TestClient

from tests.fixtures_tutor import served_on_every_interface, sse_events
from tutor.roadmap import load_roadmap
from tutor.spans import counted_weeks, misplaced_ordinal, stage_without_weeks, weeks_facts, weeks_sentence, with_weeks_stated

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


@pytest.mark.parametrize("sentence, weeks, misplaced", [
    ("In week 3, you should be working on the first two weeks of the roadmap.", {3}, True),  # run 16
    ("This is covered in the first two weeks of Stage 1.", {5, 6}, True),
    ("Weeks 9-10 are the first two weeks of stage 2.", {9, 10}, False),
    ("Weeks 1 and 2 are the first 2 weeks of the roadmap.", {1, 2}, False),
    ("Weeks 31-36 are the last six weeks of the roadmap.", {31, 36}, False),
    ("Week 20 falls in the last four weeks of stage 3.", {20}, True),
    ("In the first few weeks you set up Python.", {3}, False),  # no number to check
    ("The first two weeks of stage 2 are weeks 10-11.", {9, 10}, True),  # the plan holds 10 and 11
    ("The first two weeks of stage 2 set up PyTorch and the basics of neural networks, and weeks 11-12 "
     "cover training them.", {9, 10}, False),  # other weeks, further on
    ("The first two weeks (weeks 9-10) of Stage 2 (weeks 9-16) cover neural network basics.", {9, 10}, False),
    ("This is covered in the first two weeks of Stage 1.", set(), False),  # no week asked
])
def test_the_first_or_last_weeks_must_hold_the_weeks_asked(sentence, weeks, misplaced):
    assert misplaced_ordinal(sentence, weeks, ROADMAP) is misplaced


def test_the_asked_week_called_the_first_two_is_held_back(make_app):
    draft = ("In week 3, you should be working on the first two weeks of the roadmap [1]. "
             "Weeks 3-4 cover supervised learning with scikit-learn [1].")
    app, _, _ = make_app(lambda m: draft)
    with TestClient(app) as client:
        done = sse_events(client.post("/api/chat", json={"message": "what should i be doing in week 3"}).text)[-1][1]
    assert done["answer"] == "Weeks 3-4 cover supervised learning with scikit-learn [1].", done
    assert done["held_back"] == ["In week 3, you should be working on the first two weeks of the roadmap."], done


@pytest.mark.parametrize("question, stated", [
    ("what are the first two weeks of stage 2 about?", "what are the first two weeks (weeks 9-10) of stage 2 about?"),
    ("what do I do in the last two weeks?", "what do I do in the last two weeks (weeks 35-36)?"),
    ("What's in the last week of stage 3?", "What's in the last week (week 24) of stage 3?"),
    ("the second week of the deep learning stage?", "the second week (week 10) of the deep learning stage?"),
    ("what about the final 3 weeks of stage 4", "what about the final 3 weeks (weeks 34-36) of stage 4"),
    ("the first two weeks of the roadmap", "the first two weeks (weeks 1-2) of the roadmap"),
    ("in the last week I studied CNNs, what next?", None),  # the past week, not the roadmap's
    ("the first two weeks of my new job?", None),  # no stage of the roadmap
    ("the first 40 weeks of stage 1?", None),  # stage 1 has 8
    ("what's in week 3 and the first two weeks of stage 2?", None),  # names a week already
    ("the first weeks of stage 2?", None),  # no count
])
def test_weeks_counted_from_a_stage_are_stated_by_number(question, stated):
    assert with_weeks_stated(question, counted_weeks(question, ROADMAP)) == (stated or question)


def test_the_counted_weeks_are_a_fact_of_the_stage_they_fall_in():
    facts = weeks_facts(counted_weeks("what do I do in the last two weeks?", ROADMAP), ROADMAP)
    assert [(f.doc_id, f.text) for f in facts] == [
        ("stage-4", "The last two weeks of the roadmap are weeks 35-36, in stage 4.")]
    facts = weeks_facts(counted_weeks("the first week of the deep learning stage", ROADMAP), ROADMAP)
    assert [(f.doc_id, f.text) for f in facts] == [("stage-2", "The first week of stage 2 is week 9, in stage 2.")]


@pytest.mark.parametrize("question, plan_item, draft", [
    # answered with stage 1's plan before
    ("what are the first two weeks of stage 2 about?", "Weeks 9-10",
     "Weeks 9-10 cover neural network basics: layers, activation functions, loss functions, backpropagation "
     "and optimisers, written in PyTorch [{n}]."),
    # refused; then its answer echoing the weeks the question was given was held back
    ("what do I do in the last two weeks?", "Weeks 34-36",
     "In the last two weeks (weeks 35-36), you should focus on deploying your model as a scalable web "
     "service and finishing a documented end-to-end portfolio project [{n}]."),

    # shown weeks 5-6 beside 7-8, the packaged model described weeks 5-6 as what comes after
    ("what's right after weeks 5-6?", "Weeks 7-8",
     "After weeks 5-6, you move on to unsupervised learning, clustering and PCA, and the stage 1 "
     "milestone [{n}]."),
    # "wk": refused, it named no week the gate knew
    ("wk 23-24 what am i doing?", "Weeks 23-24",
     "In weeks 23-24 you fine-tune BERT on a custom text classification or question-answering task [{n}]."),
])
def test_a_question_counting_weeks_is_shown_the_weeks_it_means(make_app, question, plan_item, draft):
    def model(messages):
        prompt = messages[-1]["content"]
        prompts.append(prompt)
        shown = [line for line in prompt.splitlines() if line.startswith("[")]
        n = next((line[1] for line in shown if plan_item in prompt.split(line, 1)[1].split("\n[", 1)[0]), "1")
        return draft.format(n=n)

    prompts = []
    app, _, _ = make_app(model)
    with TestClient(app) as client:
        events = sse_events(client.post("/api/chat", json={"message": question}).text)
    meta, done = events[0][1], events[-1][1]
    assert not meta["refused"] and ("(weeks " in meta["question"] or "wk" in question), meta
    assert prompts and plan_item in prompts[-1], prompts
    assert not done["withdrawn"] and done["answer"] == draft.format(n=done["answer"][-3]) and not done["held_back"], done
    assert any(c["chunk_id"].startswith("stage-") for c in done["citations"]), done


@pytest.mark.parametrize("question, stated, asked", [
    ("what comes after weeks 17-18?", "what comes after weeks 17-18 (weeks 19-20)?", {19, 20}),
    ("what should I review before week 9?", "what should I review before week 9 (weeks 7-8)?", {7, 8}),
    ("what happens after weeks 25-27", "what happens after weeks 25-27 (weeks 28-30)", {28, 29, 30}),
    ("what do I do after wk 8", "what do I do after wk 8 (weeks 9-10)", {9, 10}),
    ("what is after week 36?", "what is after week 36?", {36}),  # past the plan: nothing stated
    ("what comes before weeks 1-2?", "what comes before weeks 1-2?", {1, 2}),
    ("what is in week 5?", "what is in week 5?", {5}),
])
def test_weeks_named_to_point_beside_them_get_the_plans_weeks_beside_them(question, stated, asked):
    from tutor.spans import beside_weeks
    from tutor.text import weeks_asked

    assert beside_weeks(question, ROADMAP) == stated
    assert weeks_asked(stated) == asked


def test_a_question_on_a_stage_s_length_is_not_routed_to_a_week_plan():
    """"How many weeks is stage 4?" names no week; read as week 4 it was shown stage 1's and
    stage 4's week plans first and answered "The stage 4 milestone runs 12 weeks"."""
    from tutor.routing import sections_asked

    assert sections_asked("How many weeks is stage 4?") == []
    assert "week-by-week plan" in sections_asked("what are the first two weeks (weeks 9-10) of stage 2 about?")

