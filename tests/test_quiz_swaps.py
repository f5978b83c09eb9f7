"""A false true/false statement's replacement chosen by rule (tutor/quiz/swaps.py): another
paper or concept of the same stage for the chunk's own name, a nearby number its source
does not hold; the generator uses it instead of the model's replacement, and the
validator's not_false check reads the result as one detail changed."""

from __future__ import annotations

import datetime

import pytest

from tutor.quiz.generate import generate_many, swapped
from tutor.quiz.swaps import other_number, replacement_for, sibling_names, subject_in, subject_names
from tutor.quiz.validate import false_statement_problem
from tutor.types import Chunk


def paper(name: str, title: str, text: str, stage: int = 2) -> Chunk:
    return Chunk(f"paper-{name}#0", f"paper-{name}", text, f"{title} — Key idea", "paper", "x", stage)


def concept(cid: str, name: str, text: str, stage: int = 2) -> Chunk:
    return Chunk(f"concept-{cid}#0", f"concept-{cid}", text, name, "roadmap", "x", stage, (cid,))


ADAM = paper("adam", "Adam: A Method for Stochastic Optimization",
             "Adam's key idea is to keep two running averages for every parameter. It was published in 2014.")
RESNET = paper("resnet", "ResNet: Deep Residual Learning for Image Recognition", "ResNet's key idea is residual learning.")
VIT = paper("vit", "Vision Transformer (ViT): An Image is Worth 16x16 Words", "ViT splits an image into patches.", 3)
INCEPTION = paper("googlenet", "GoogLeNet / Inception: Going Deeper with Convolutions",
                  "GoogLeNet (the first Inception network) addressed the cost of making CNNs bigger.")
DROPOUT = concept("dropout", "Dropout", "Dropout randomly switches off units during training.")
RESNETS = concept("residual-networks", "Residual networks (ResNets)", "Residual networks add skip connections.")
TREES = concept("decision-trees", "Decision trees", "Decision trees predict by asking yes-or-no questions.")
CHUNKS = [ADAM, RESNET, VIT, INCEPTION, DROPOUT, RESNETS, TREES]


def test_a_chunk_is_about_its_paper_or_concept_and_its_aliases():
    assert subject_names(ADAM) == ("Adam",)
    assert subject_names(VIT) == ("Vision Transformer", "ViT")
    assert subject_names(INCEPTION) == ("GoogLeNet", "Inception")
    assert subject_names(RESNETS) == ("Residual networks", "ResNets")
    assert subject_names(Chunk("faq-x#0", "faq-x", "text", "A question", "faq", "x", 2)) == ()
    assert sibling_names(CHUNKS) == {(2, "paper"): ["Adam", "ResNet", "GoogLeNet"], (3, "paper"): ["Vision Transformer"],
                                     (2, "concept"): ["Dropout", "Residual networks", "Decision trees"]}


def test_a_paper_named_once_is_swapped_for_another_paper_of_its_stage():
    siblings = sibling_names(CHUNKS)
    sentence = "Adam's key idea is to keep two running averages for every parameter."
    detail = subject_in(sentence, ADAM)
    assert detail == "Adam"
    picks = {replacement_for(detail, sentence, ADAM, siblings, seed) for seed in range(6)}
    assert picks == {"ResNet", "GoogLeNet"}  # never itself, never another stage's paper
    false = swapped(sentence, detail, "ResNet")
    assert false == "ResNet's key idea is to keep two running averages for every parameter."
    assert false_statement_problem(false, sentence, sentence) is None  # one detail changed, plainly false


def test_a_concept_swap_keeps_the_grammar_and_the_case():
    siblings = sibling_names(CHUNKS)
    # "Decision trees randomly switches off" would break the grammar: plural for singular is never picked
    assert {replacement_for("Dropout", DROPOUT.text, DROPOUT, siblings, s) for s in range(4)} == {None}
    mid = "Training with dropout switches off units."
    assert replacement_for("dropout", mid, DROPOUT, {(2, "concept"): ["Dropout", "Batch normalisation"]}, 0) \
        == "batch normalisation"  # lower case mid-sentence, like the name it replaces
    assert replacement_for("Decision trees", TREES.text, TREES, siblings, 0) == "Residual networks"


@pytest.mark.parametrize("chunk, sentence", [
    (ADAM, "In the Adam paper's experiments, Adam converged fast."),  # named twice
    (INCEPTION, INCEPTION.text),  # an alias beside it would name what it denies
    (RESNETS, "Residual networks (ResNets) add skip connections."),
])
def test_a_sentence_naming_its_subject_twice_or_beside_an_alias_gets_no_swap(chunk, sentence):
    assert subject_in(sentence, chunk) is None


def test_a_number_moves_to_one_its_source_does_not_hold():
    this_year = datetime.date.today().year
    years = {other_number("2014", "published in 2014 and 2013", s) for s in range(12)}
    assert years and all(abs(int(y) - 2014) <= 3 and y != "2013" for y in years)
    assert all(int(other_number(str(this_year), "", s)) < this_year for s in range(6))  # never in the future
    assert {other_number("80.5", "", s) for s in range(5)} == {"56.3", "104.7", "40.2", "120.8", "161.0"}
    assert all(float(other_number("80.5", "", s, percent=True)) <= 100 for s in range(5))
    assert other_number("3", "1 2 3 4 5 6", 0) is None  # every near number is in the source: no rule


def test_a_number_stated_twice_gets_no_rule_replacement():
    chunk = Chunk("faq-a#0", "faq-a", "About 20% in 2026.", "FAQ", "faq", "x", 4)
    assert replacement_for("20", "About 20% of 20 jobs.", chunk, {}, 0) is None
    assert replacement_for("20", "Training is about 20% of the job.", chunk, {}, 0) in {"14", "26", "10", "30", "40"}


def test_a_false_statement_swapped_by_rule_needs_no_model_call():
    """Its explanation is the source sentence: the model's explanations of such swaps were
    wrong in 4 of 5 candidates of the first build with them. A chunk with nothing to swap
    still goes to the model (for a true statement)."""
    asked = []

    class LLM:
        def json_many(self, messages, schema, **kw):
            asked.extend(m[-1]["content"] for m in messages)
            return [{"fact": "x", "changed": "randomly", "replacement": "never", "explanation": "e"}] * len(messages)

    class Prompts:
        def messages(self, name, **kw):
            return [{"role": "user", "content": kw["focus"]}]

    faq = Chunk("faq-d#0", "faq-d", "Dropout randomly switches off units during training steps.", "FAQ", "faq", "x", 2)
    tutor = type("T", (), {"llm": LLM(), "prompts": Prompts(), "index": type("I", (), {"chunks": CHUNKS})})()
    ruled, modelled = generate_many(tutor, [(ADAM, "tf", 0, False), (faq, "tf", 0, False)])
    correction = "Adam's key idea is to keep two running averages for every parameter."
    assert ruled.answer is False and ruled.correction == correction
    assert ruled.question in {correction.replace("Adam", other) for other in ("ResNet", "GoogLeNet")}
    assert ruled.explanation == f"The roadmap says: {correction}"
    assert asked == [faq.text] and modelled.explanation == "e"
