"""Months of a track asked about, answered with the plan item that holds them
(tutor/track_months.py): "research track month 5?" was served "month 5 involves running your
own experiments" (months 9-12's item), and "industry track months 9-10?" the research track's
experiments."""

from __future__ import annotations

import pytest

from tests.fixtures_tutor import chat_done, served_on_every_interface
from tutor.text import span_numbers_stated
from tutor.track_months import asked_months


@pytest.mark.parametrize("question, months", [
    ("research track month 5?", {(5, 5)}),
    ("what should I do in months 10 to 12 on the research track?", {(10, 12)}),
    ("what do I build in months 1-2 of the research track?", {(1, 2)}),
    ("what does the research track focus on?", set()),
    ("what does the research track look like in the first three months?", {(1, 3)}),
    ("research track, first month?", {(1, 1)}),
    ("the first few months of the industry track?", set()),  # no count
])
def test_the_months_a_question_asks_about(question, months):
    assert asked_months(question) == months


def test_only_spans_inside_the_items_state_them():
    assert span_numbers_stated("Months 4-8 are for papers.", {(4, 8)}, "month") == {4, 5, 6, 7, 8}
    assert span_numbers_stated("Month 5 is for papers.", {(4, 8)}, "month") == {5}
    assert span_numbers_stated("Months 1-12 in all.", {(4, 8)}, "month") == set()  # wider: says nothing
    assert span_numbers_stated("Weeks 4-8.", {(4, 8)}, "month") == set()  # another unit


@pytest.mark.parametrize("question, draft, served", [
    ("research track month 5?", "The research track month 5 involves running your own experiments [1].",
     "The research track's plan for months 4-8: implement recent papers [1]."),
    ("industry track months 9-10?", "The industry track spends months 9-10 on your own experiments and papers [1].",
     "The industry track's plan for months 7-12: open-source contributions, networking and interview preparation [1]."),
    # a draft that would be withdrawn (its advice is not in the material) gives way whole
    ("what do I build in months 1-2 of the research track?",
     "Focus on mathematics first [1]. Study topology, category theory and quantum computing [1]. "
     "Publish three papers at NeurIPS [1].",
     "The research track's plan for months 1-3: mathematics [1]."),
    ("what do the first three months of the research track look like?",
     "The first three months are spent on implementing recent papers [1].",
     "The research track's plan for months 1-3: mathematics [1]."),
])
def test_the_months_item_takes_the_place_of_the_drafts_sentences_on_them(make_app, question, draft, served):
    done = chat_done(make_app, question, draft)
    assert done["answer"] == served, done
    assert not done["withdrawn"] and done["held_back"], done


def test_an_answer_stating_the_items_span_is_left_as_it_is(make_app):
    app, _, _ = make_app(lambda m: "Months 4-8 of the research track are for implementing recent papers [1].")
    done = served_on_every_interface(app, "research track month 5?")
    assert done["answer"] == "Months 4-8 of the research track are for implementing recent papers [1].", done


def test_no_track_or_two_tracks_named_compose_nothing(make_app):
    for question in ("what do I do in month 5?", "month 5 on the research track vs the industry track?"):
        done = chat_done(make_app, question, "Month 5 is for cloud platforms [1].")
        assert "track's plan for months" not in done["answer"], (question, done)
