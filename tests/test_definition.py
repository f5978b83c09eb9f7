"""What a concept is, when asked (tutor/definition.py, routing.asked_concept): read in served
answers, "what is transfer learning and which stage is it in?" got only "Transfer learning is
part of stage 2 ...", and "what are transformers?" was never shown the concept's page and
was withdrawn."""

from __future__ import annotations

import pytest

from tests.fixtures_tutor import chat_done


@pytest.mark.parametrize("question, concept", [
    ("what are GANs?", "concept-gan"),
    ("what is transfer learning and which stage is it in?", "concept-transfer-learning"),
    ("explain backpropagation like I'm five", "concept-backpropagation"),
    ("what is a CNN?", "concept-cnn"),
    ("what is PCA used for?", None),  # asks its use
    ("what is the theory without practice mistake?", None),  # no concept
    ("how do I deploy a model?", None),
])
def test_the_concept_a_question_asks_what_it_is(fake_tutor, question, concept):
    from tutor.routing import asked_concept

    assert asked_concept(question, fake_tutor().retriever.router.concept_names) == concept


def test_what_a_concept_is_is_asked_of_its_page(fake_tutor):
    hits = fake_tutor().retriever.search("what are transformers?", 4)
    assert hits[0].chunk.doc_id == "concept-transformers", [h.chunk.id for h in hits]
    # not with a second part, which its FAQ answers: the concept page stays where it ranks
    hits = fake_tutor().retriever.search("what is hugging face and why is it used in stage 3?", 4)
    assert hits[0].chunk.doc_id == "faq-hugging-face", [h.chunk.id for h in hits]


def test_a_definition_left_out_opens_the_answer(make_app):
    done = chat_done(make_app, "what is transfer learning and which stage is it in?",
                     "Transfer learning is part of stage 2 [1].")
    first, rest = done["answer"].split("\n\n", 1)
    assert first.startswith("Transfer learning reuses a model pre-trained on a large data set"), done
    assert first.endswith("[1]."), done
    assert rest == "Transfer learning is part of stage 2 [1].", done


def test_a_definition_stated_in_other_words_is_not_added(make_app):
    draft = ("Transfer learning starts a new task from a model pre-trained on a large data set, used as a frozen "
             "feature extractor or fine-tuned [1].")
    done = chat_done(make_app, "what is transfer learning?", draft)
    assert done["answer"] == draft, done


def test_what_a_concept_is_and_when_gets_its_page_beside_the_plan(fake_tutor):
    """"what is attention and which weeks cover it?" was shown the plan and a paper, and
    answered with the weeks alone."""
    routed = [h.chunk.id for h in fake_tutor().retriever.search("what is attention and which weeks cover it?", 4)
              if h.routed]
    assert routed == ["stage-3#1", "concept-attention#0"], routed
