"""How long the roadmap takes at the hours a week a learner says (tutor/pace.py): computed,
shown to the model inside the source it cites, and checked like any other sentence."""

from __future__ import annotations

import re

import pytest

from tutor.pace import hours_said, pace_facts
from tutor.roadmap import load_roadmap


@pytest.fixture(scope="module")
def roadmap(repo_root):
    return load_roadmap(repo_root / "corpus" / "roadmap.yaml")


@pytest.mark.parametrize("question, hours", [
    ("I only have 5 hours a week, how long will the whole roadmap take me?", 5),
    ("with 10h/week how long is stage 2?", 10),
    ("I can do 30 hours per week, when will I finish?", 30),
    ("I study 8 hours weekly, how many months will it take me?", 8),
    ("I've got 8 hrs each week, how long for stage 1?", 8),
    ("How many hours a week should I study?", None),  # asks for hours, says none
    ("How long is stage 1?", None),
    ("I have 500 hours a week, how long?", None),  # not a week anyone has
])
def test_the_hours_a_question_says(question, hours):
    assert hours_said(question) == hours


def test_the_calendar_stretches_with_fewer_hours(roadmap):
    """36 weeks planned at 15-20 hours a week: at 5 hours, 108-144 weeks."""
    [fact] = pace_facts("I only have 5 hours a week, how long will the whole roadmap take me?", roadmap, [])
    assert fact.text == "At 5 hours a week, the whole roadmap takes about 108-144 weeks, which is about 25-33 months."
    assert fact.doc_id == "faq-hours-per-week"
    [stage] = pace_facts("at 40 hours a week how long is stage 4?", roadmap, [])
    assert stage.text == "At 40 hours a week, stage 4 takes about 4-6 weeks." and stage.doc_id == "stage-4"
    # says its hours but asks nothing of time: no fact
    assert pace_facts("I have 10 hours a week, what should I focus on?", roadmap, []) == []


def test_the_fact_is_shown_in_the_source_it_cites_and_an_answer_stating_it_is_served(fake_tutor):
    """Before: "I only have 5 hours a week, how long will the whole roadmap take me?" got "The
    roadmap takes 36 weeks, or about 8-12 months, at 15-20 hours a week", and a sentence with
    the stretched calendar was held back: no source states it."""
    q = "I only have 5 hours a week, how long will the whole roadmap take me?"
    prompts = []

    def reply(messages):
        prompts.append(messages[-1]["content"])
        return "At 5 hours a week, the whole roadmap takes about 108-144 weeks, which is about 25-33 months."

    answer = fake_tutor(reply).ask(q)
    shown = re.split(r"^\[(\d+)\] .*\n", prompts[-1], flags=re.M)
    numbered = dict(zip(shown[1::2], shown[2::2]))
    holder = next(n for n, body in numbered.items() if body.startswith("At 5 hours a week"))
    assert answer.held_back == () and not answer.withdrawn, answer.answer
    assert answer.answer.endswith(f"25-33 months [{holder}].")
    assert {c.chunk_id.split("#")[0] for c in answer.citations} == {"faq-hours-per-week"}
    # a wrong sum is not served
    wrong = fake_tutor(lambda m: "At 5 hours a week, the whole roadmap takes about 36 weeks, "
                                 "which is about 9 months.").ask(q)
    assert wrong.withdrawn or wrong.held_back, wrong.answer


def test_other_questions_keep_their_prompt(fake_tutor):
    tutor = fake_tutor()
    for q in ("How long is stage 1?", "How many hours a week should I study?"):
        prepared = tutor.prepare(q)
        assert prepared.facts == []
        assert "hours a week, the whole roadmap takes" not in tutor.answer_messages(prepared)[1]["content"]


def test_a_calendar_stated_wrong_in_the_sources_words_is_caught(roadmap):
    """The support check passes these (every number is in what it read); the first is made
    up, the other two were served drafts while the fact's wording was being chosen."""
    from tutor.pace import misstated_pace

    whole = pace_facts("I only have 5 hours a week, how long will the whole roadmap take me?", roadmap, [])
    stage = pace_facts("I have 12 hours per week. How many months will stage 4 take me?", roadmap, [])
    assert misstated_pace("At 5 hours a week, the whole roadmap takes about 36 weeks.", whole)
    assert misstated_pace("The roadmap takes about 25-33 months to complete, assuming 15-20 hours a week.", whole)
    assert misstated_pace("Stage 4 will take about 3-5 months, which is about 12 weeks.", stage)
    # right, or about the plan as written
    assert not misstated_pace("The roadmap takes about 25-33 months if you study 5 hours a week.", whole)
    assert not misstated_pace("Stage 4 takes about 15-20 weeks, which is about 3-5 months.", stage)
    assert not misstated_pace("The whole path is 36 weeks, about 8-12 months at 15-20 hours a week.", whole)
    assert not misstated_pace("At 5 hours a week, the roadmap takes about 36 weeks.", [])  # no fact, no rule


def test_an_answer_giving_only_the_planned_calendar_gets_the_one_at_the_learners_hours(fake_tutor):
    """"How many weeks will roadmap A take me at 12 hours a week?" was served "The roadmap A will
    take me about 8-12 months at 15-20 hours a week [3]." (packaged model, session 30): true of
    the plan, so the check passed it, and no answer to what was asked. The computed calendar
    is added, cited to the source it was shown in; an answer stating it gets nothing more."""
    q = "How many weeks will roadmap A take me at 12 hours a week?"
    planned = "The roadmap A will take me about 8-12 months at 15-20 hours a week."
    answer = fake_tutor(lambda m: planned).ask(q)
    [cited] = {c.n for c in answer.citations if c.chunk_id.startswith("faq-hours-per-week")}
    assert answer.answer == (f"The roadmap A will take me about 8-12 months at 15-20 hours a week [{cited}].\n\n"
                             f"At 12 hours a week, the whole roadmap takes about 45-60 weeks, which is about "
                             f"10-14 months [{cited}]."), answer.answer
    assert answer.held_back == () and len(answer.added) == 1
    for stated in ("Roadmap A will take me about 45-60 weeks at 12 hours a week.",
                   "At 12 hours a week it takes 10 to 14 months."):
        assert fake_tutor(lambda m, s=stated: s).ask(q).added == (), stated


def test_the_calendar_is_stated_or_not(roadmap):
    from tutor.pace import unstated_pace

    facts = pace_facts("at 40 hours a week how long is stage 4?", roadmap, [])
    assert unstated_pace("Stage 4 takes about 4-6 weeks [1].", facts) is None
    assert unstated_pace("Stage 4 takes 12 weeks at 15-20 hours a week [1].", facts) == facts[0]
    assert unstated_pace("Stage 4 takes 12 weeks [1].", []) is None  # no fact, nothing to add
