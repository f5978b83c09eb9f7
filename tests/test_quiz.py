"""Quizzes: validators on crafted bad items, generation orchestration with a scripted LLM,
serving and server-side grading over HTTP (real index, embedder, SQLite), mastery and FSRS
review updates, errors that store nothing, erasure, quiz-mode hints, the CLI; and one
`quiz build` with the real packaged model (marked `model`)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.test_api import events
from eval.quiz_review import drop
from tests.test_cli import run
from tutor.api import create_app
from tutor.db import make_engine
from tutor.index import load_index
from tutor.learners import erase_learner
from tutor.models import Learner, Mastery, Quiz, QuizAttempt, QuizHint, QuizItem, Review
from tutor.prompts import Prompts
from tutor.quiz.bank import build_stage, serve_quiz
from tutor.quiz.hints import leaks
from tutor.quiz.distractors import DistractorRepair, Phrases
from tutor.quiz.generate import _as_asked, false_detail, false_focus, generate_many, swapped, to_candidate
from tutor.quiz.schema import Candidate, generation_schema
from tutor.quiz.shipped import export_stage
from tutor.quiz.validate import (KEY_THRESHOLD, Validator, cut_in_source, false_statement_problem, gives_away,
                                 list_with, normalise, option_form_problem, renumbered, shown, stage_problem,
                                 stages_in, title_key_problem, unfinished)
from tutor.text import sentences, terms
from tutor.types import Chunk

ADAM = Chunk(
    "paper-adam#2", "paper-adam",
    "Adam's key idea is to keep two running averages for every parameter: an exponential moving "
    "average of the gradient (the first moment, like momentum) and of the squared gradient (the second "
    "moment, like RMSProp). The update divides the first by the square root of the second, so each "
    "parameter gets its own adaptive step size. Because both averages start at zero, Adam applies a bias "
    "correction in the early steps. The default settings (learning rate 0.001, beta1 0.9, beta2 0.999) "
    "work for many problems.",
    "Adam: A Method for Stochastic Optimization — Key idea", "paper", "corpus/papers/paper-adam.md", 2,
    ("optimizers",))
BACKPROP = Chunk(
    "concept-backpropagation#0", "concept-backpropagation",
    "Backpropagation is part of stage 2 (Deep Learning Fundamentals, weeks 9-16). Backpropagation computes the "
    "gradient of the loss with respect to every weight in a neural network by applying the chain rule backwards "
    "from the output, layer by layer. Roadmap B's Q1 lists it with calculus because understanding it explains "
    "vanishing and exploding gradients.",
    "Backpropagation", "roadmap", "corpus/roadmap.yaml", 2, ("backpropagation",))
Q = "What does Adam keep for every parameter?"
GOOD = Candidate("mcq", Q, 0, ["two running averages of the gradient", "a fixed global learning rate",
                               "a replay buffer of past samples", "a decision tree per layer"], "Adam keeps two.")


# -- a scripted generator: cloze items cut from the prompt's source text -------------------

def _source(messages) -> tuple[str, str]:
    match = re.search(r"^Source \((.*?)\):\n(?:<data>\n)?(.*?)\n(?:</data>\n)?\nTest this sentence", messages[-1]["content"],
                      re.S | re.M)  # the source text is fenced as data (prompts/quiz.j2)
    return match.group(1), match.group(2)


def cloze_item(messages) -> str:
    """What a careful model would write: blank out the longest word of a source sentence.
    (Asked for a hint instead, it gives a bland one.)"""
    if "quiz mode" in messages[0]["content"]:
        return "Think about what the source says."
    _, text = _source(messages)
    fact = next(s for s in sentences(text) if not s.startswith("#") and len(terms(s)) >= 4)
    word = max(terms(fact), key=len)
    blanked = re.sub(re.escape(word), "____", fact, flags=re.I)
    prompt = messages[-1]["content"]
    if "multiple-choice" in prompt:
        return json.dumps({"fact": fact, "question": f"Fill in the blank: {blanked}", "correct": word,
                           "wrong": ["volcano", "saxophone", "tapestry"], "explanation": fact})
    if "FALSE" in prompt:  # a false statement is asked for as one detail swapped (schema.py)
        return json.dumps({"fact": fact, "changed": word, "replacement": "volcano", "explanation": fact})
    if "true/false" in prompt:
        return json.dumps({"fact": fact, "statement": fact, "answer": True, "correction": fact,
                           "explanation": fact})
    return json.dumps({"fact": fact, "question": f"Fill in the blank: {blanked}", "answer": word,
                       "explanation": fact})


# -- validators -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def validator(embedder):
    return Validator(embedder)


def test_a_sound_item_passes(validator):
    verdict = validator.check(GOOD, ADAM)
    assert verdict.ok, verdict.details
    assert verdict.scores["key"] >= 0.55 and max(verdict.scores["distractors"]) < verdict.scores["key"] - 0.1


@pytest.mark.parametrize("candidate, reason", [
    (Candidate("mcq", Q, 0, ["two running averages", "a fixed learning rate", "a replay buffer"]), "schema"),
    (Candidate("mcq", "", 0, GOOD.options), "schema"),
    (Candidate("mcq", Q, [0, 2], GOOD.options), "one_correct"),  # two correct options
    (Candidate("mcq", Q, 4, GOOD.options), "one_correct"),
    (Candidate("tf", "Adam applies a bias correction in the early steps.", "yes"), "one_correct"),
    (Candidate("mcq", Q, 0, ["two running averages", "gradient descent", "Gradient descent.", "a decision tree"]),
     "options_not_distinct"),
    (Candidate("mcq", Q, 0, ["two running averages", "learning rate schedule", "learning rate schedules",
                             "a decision tree"]), "options_not_distinct"),
    (Candidate("mcq", Q, 0, ["quantum entanglement states", "a fixed global learning rate", "a replay buffer",
                             "a decision tree"]), "key_unsupported"),
    (Candidate("mcq", Q, 0, ["two running averages of the gradient", "an adaptive step size for each parameter",
                             "a replay buffer of past samples", "a decision tree per layer"]), "distractor_supported"),
    (Candidate("tf", "Adam applies a bias correction in the early steps.", False, [], "",
               correction="Adam applies a weight decay in the early steps."), "key_unsupported"),
])
def test_each_validator_rejects_its_crafted_bad_item(validator, candidate, reason):
    verdict = validator.check(candidate, ADAM)
    assert reason in verdict.reasons, verdict.details
    assert not verdict.ok


def test_duplicate_of_a_bank_item_is_rejected(validator, embedder):
    bank = embedder.encode(["Which values does Adam keep for each parameter?"])
    verdict = validator.check(GOOD, ADAM, bank)
    assert verdict.reasons == ["duplicate"], verdict.details
    assert validator.check(GOOD, ADAM, embedder.encode(["When did the transformer paper appear?"])).ok


def test_numbers_tell_options_apart_and_false_statements_are_checked_on_the_changed_detail(validator):
    numeric = Candidate("mcq", "What is Adam's default learning rate?", 1, ["0.01", "0.001", "0.1", "1.0"])
    assert validator.check(numeric, ADAM).ok
    false_tf = Candidate("tf", "Adam keeps three running averages for every parameter.", False, [], "",
                         correction="Adam keeps two running averages for every parameter.")
    assert validator.check(false_tf, ADAM).ok


def test_a_number_counts_only_in_the_sentence_it_is_closest_to(validator):
    # "1" occurs in the chunk (Q1) but not where it places backpropagation: stage 1 is wrong
    verdict = validator.check(Candidate("mcq", "Which stage of the roadmap covers backpropagation?", 0,
                                        ["stage 2", "stage 1", "stage 3", "stage 4"]), BACKPROP)
    # support backs the key and no distractor; the item still gives itself away in a stage-2 quiz
    assert verdict.reasons == ["stage_question"], verdict.details
    assert max(verdict.scores["distractors"]) < KEY_THRESHOLD <= verdict.scores["key"]


def test_non_english_text_is_a_schema_problem(validator):
    drifted = Candidate("mcq", Q, 0, ["two running averages of the 梯度", *GOOD.options[1:]])
    assert validator.check(drifted, ADAM).reasons == ["schema"]


# -- distractor repair ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repair(validator, corpus_index, embedder):
    names = Phrases.corpus_names(load_index(corpus_index.index_dir).chunks, embedder)
    return DistractorRepair(validator, names, Phrases(embedder))


def test_repair_keeps_sound_options_and_replaces_repeated_and_supported_ones(repair, validator):
    bad = Candidate("mcq", Q, 2, ["a decision tree per layer", "an adaptive step size for each parameter",
                                  "two running averages of the gradient", "Two running averages of the gradient."])
    assert not validator.check(bad, ADAM).ok
    fixed, replaced = repair.repair(bad, ADAM)
    assert replaced == 2 and fixed.key_text() == bad.key_text() and fixed.answer == 2
    assert "a decision tree per layer" in fixed.options
    verdict = validator.check(fixed, ADAM)
    assert verdict.ok, (fixed.options, verdict.details)
    assert repair.repair(GOOD, ADAM) == (GOOD, 0)  # nothing to repair


def test_a_numeric_key_gets_numeric_wrong_options(repair, validator):
    bad = Candidate("mcq", "What is Adam's default learning rate?", 0, ["0.001"] * 4)
    fixed, replaced = repair.repair(bad, ADAM)
    assert replaced == 3 and fixed.options[0] == "0.001"
    assert all(re.fullmatch(r"\d+(\.\d+)?", o) for o in fixed.options) and len(set(fixed.options)) == 4
    assert validator.check(fixed, ADAM).ok


def test_repair_never_offers_another_item_s_key(validator, embedder):
    """Dropped on review in sessions 10-12: repaired wrong options that were other items' keys
    ("generating synthetic data", "CNN architectures", "end-to-end project" beside "reverse a
    gradual noising process"; word2vec's problem beside what LSTMs are used for). A key that is
    also a corpus name ("CNN architectures" is a concept) is not offered either."""
    keys = ["generating synthetic data", "CNN architectures", "end-to-end project"]
    names = Phrases(embedder, ["CNN architectures", "RMSProp", "Stochastic gradient descent", "Adagrad",
                               "Momentum", "Dropout"])
    repair = DistractorRepair(validator, names, Phrases(embedder, keys))
    bad = Candidate("mcq", "Which optimiser keeps two running averages for every parameter?", 0, ["Adam"] * 4)
    fixed, replaced = repair.repair(bad, ADAM)
    assert replaced == 3 and not {normalise(k) for k in keys} & {normalise(o) for o in fixed.options}, fixed.options
    described = Candidate("mcq", "What is Adam's key idea?", 0, ["to keep two running averages for every parameter"] * 4)
    assert repair.repair(described, ADAM) == (described, 0)  # no name reads like it: the item is not rescued


def test_repair_never_puts_a_bare_name_beside_a_sentence_long_key(validator, embedder):
    """What the repair did before the form check: with two other keys at hand, the third
    wrong option was a corpus name ("Dropout") beside three eight-word options."""
    answers = Phrases(embedder, ["to add nonlinearity so a network can model curves",
                                 "to randomly switch off units during training"])
    repair = DistractorRepair(validator, Phrases(embedder, ["Dropout", "Batch normalization"]), answers)
    bad = Candidate("mcq", "What is Adam's key idea?", 0, ["to keep two running averages for every parameter"] * 4)
    assert repair.repair(bad, ADAM) == (bad, 0)  # too few wrong options that read like the key


@pytest.mark.parametrize("options, fragment", [
    # the old repair's output (see above): a topic name beside sentence-long options
    (["to keep two running averages for every parameter", "to add nonlinearity so a network can model curves",
      "Dropout", "to randomly switch off units during training"], "a bare name 'Dropout'"),
    (["0.001", "Adam", "0.01", "0.1"], "'Adam' is a phrase, the key '0.001' a number"),
    # written by the packaged model for stage 2 (dropped on review as well): only the key says "to ..."
    (["To learn a smooth latent space", "deep learning fundamentals", "generating synthetic data",
      "DeepLearning.AI deep learning specialisation (course)"], "is a phrase, the key 'To learn a smooth latent"),
    (["It keeps two running averages.", "a fixed global learning rate", "a replay buffer of past samples",
      "a decision tree per layer"], "is a phrase, the key 'It keeps two running averages.' a sentence"),
    (["two running averages", "SGD", "a fixed global learning rate that never changes during training", "RMSProp"],
     "(10 words) is not as long as the key"),
])
def test_wrong_options_that_do_not_read_like_the_key_are_rejected(validator, options, fragment):
    verdict = validator.check(Candidate("mcq", Q, 0, options, "Adam keeps two."), ADAM)
    assert "distractor_form" in verdict.reasons, verdict.details
    assert fragment in " ".join(verdict.details)


# Each dropped on review of the shipped bank before this check existed (eval/results/quiz-review.md).
@pytest.mark.parametrize("kind, question, fragment", [
    ("mcq", "What topic does the text discuss?", "refers to 'the text'"),
    ("short", "What are the stages where these concepts reappear?", "refers to 'these concepts'"),
    ("mcq", "What comes next?", "too few content words"),
    ("short", "What model did the paper attack?", "refers to 'the paper'"),
    ("tf", "Weeks 17-18: recurrent neural networks and LSTMs is TRUE.", "gives its own verdict"),
    ("short", "What algorithm did the authors use to learn word vectors?", "refers to 'the authors'"),  # session 11
    ("tf", "This material is placed in Q2.", "refers to 'This material'"),
    ("tf", "It ran more than ten times faster than existing popular solutions.", "refers to 'It'"),
    ("mcq", "What stage of the machine learning roadmap is this?", "refers to 'is this?'"),
    ("mcq", "What stage of the machine-learning roadmap does this option belong to?", "refers to 'this option'"),
    # session 11's stage-1 and stage-3 reviews: mid-sentence pronouns with nothing to point to
    ("tf", "Learning them on fast, interpretable models makes them much easier to understand.",
     "'them' has nothing before it"),
    ("tf", "From there come the pre-trained model families: BERT for understanding tasks, GPT-style models for "
           "generation and T5 for text-to-text.", "'From there' points back"),
    ("short", "What did they train on ImageNet?", "'they' has nothing before it"),
])
def test_a_question_that_leans_on_what_the_learner_never_sees_is_rejected(validator, kind, question, fragment):
    answer = {"mcq": 0, "tf": True, "short": "Adam"}[kind]
    c = Candidate(kind, question, answer, GOOD.options if kind == "mcq" else [], "Adam keeps two.")
    verdict = validator.check(c, ADAM)
    assert "no_context" in verdict.reasons and fragment in " ".join(verdict.details), verdict.details
    assert "no_context" not in validator.check(GOOD, ADAM).reasons


@pytest.mark.parametrize("kind, answer, options", [  # broken keys the review dropped
    ("short", "Flag data points or time periods that do", []),
    ("short", "Breiman showed that a Random Forest's", []),
    ("mcq", 0, ["competitions in stage 1 and 2,", "a fixed global learning rate", "a replay buffer of past samples",
                "a decision tree per layer"]),
])
def test_an_answer_cut_off_mid_phrase_is_rejected(validator, kind, answer, options):
    verdict = validator.check(Candidate(kind, Q, answer, options, "Adam keeps two."), ADAM)
    assert "unfinished" in verdict.reasons, verdict.details
    assert not unfinished("Roadmap A") and not unfinished("weeks 9-16") and not unfinished("two running averages")


@pytest.mark.parametrize("question", [
    "Why do LSTMs keep their memory cell apart from the hidden state?",  # "their": the LSTMs
    "Random Forests average many trees, so what do they reduce?",
    "Roadmap A and Roadmap B both start with maths; what do they add next?",
])
def test_a_pronoun_with_a_plural_before_it_has_context(validator, question):
    assert "no_context" not in validator.check(Candidate("short", question, "two running averages"), ADAM).reasons


def test_naming_the_authors_of_a_named_work_is_context_enough(validator):
    c = Candidate("short", "What did the authors of Adam keep for every parameter?", "two running averages", [])
    assert "no_context" not in validator.check(c, ADAM).reasons


# Dropped on review in session 10: made-up names (every wrong option is the key with its digits changed).
@pytest.mark.parametrize("question, options", [
    ("What is the recommended resource for learning linear algebra?",
     ["4Blue2Brown", "3Blue1Brown", "5Blue3Brown", "6Blue4Brown"]),
    ("What are the two types of penalties used in regularisation?",
     ["L3 (ridge) and L2 (lasso)", "L2 (ridge) and L1 (lasso)", "L4 (ridge) and L3 (lasso)", "L5 (ridge) and L4 (lasso)"]),
])
def test_wrong_options_that_renumber_the_key_s_name_are_rejected(validator, question, options):
    verdict = validator.check(Candidate("mcq", question, 1, options), ADAM)
    assert "options_not_distinct" in verdict.reasons and "made-up names" in " ".join(verdict.details), verdict.details


@pytest.mark.parametrize("options", [
    ["scale a decoder-only Transformer to 175 billion parameters",  # a quantity: the number is what is asked
     "scale a decoder-only Transformer to 131 billion parameters",
     "scale a decoder-only Transformer to 219 billion parameters",
     "scale a decoder-only Transformer to 87 billion parameters"],
    ["Stanford CS109", "MIT 6.041", "Harvard CS50", "Stanford CS107"],  # one sibling can be a real course
    ["GPT-2", "GPT-3", "BERT", "T5"],
])
def test_numbers_that_are_the_question_or_one_real_sibling_are_not_made_up_names(options):
    assert renumbered(options, 0) == []


def test_a_key_another_item_of_the_stage_already_has_is_a_duplicate(validator):
    """Dropped on review in session 10: "What is the main focus of U-Net?" and "What type of
    segmentation does U-Net use?", both keyed semantic segmentation."""
    keys = frozenset({normalise("Two running averages of the gradient.")})
    verdict = validator.check(GOOD, ADAM, bank_keys=keys)
    assert "duplicate" in verdict.reasons and "another item of the stage" in " ".join(verdict.details)
    assert validator.check(GOOD, ADAM, bank_keys=frozenset({"a fixed global learning rate"})).ok


@pytest.mark.parametrize("kind, question, answer, options", [  # each dropped on review: there is no stage 5
    ("mcq", "What stage does Seq2seq belong to?", 0, ["3", "5", "1", "2"]),
    ("mcq", "What comes next after advanced architectures and NLP?", 0,
     ["stage 4: production and specialisation", "stage 5: research", "stage 6: theory", "stage 7: ethics"]),
    ("tf", "Mask R-CNN is covered in stage 5 of Roadmap A.", False, []),
])
def test_a_stage_the_roadmap_does_not_have_is_rejected(kind, question, answer, options):
    assert "does not have" in (stage_problem(question, kind, answer, options, stages=4) or "")
    assert stage_problem(question, kind, answer, options, stages=7) is None or kind == "tf"


def test_a_question_about_another_stage_is_not_served_in_this_stages_quiz():
    """Written for stage 1 by the packaged model in session 19 (from stage 1's "What comes
    after stage 1" section) and passed by every other check."""
    question = "What is the focus of stage 2 of Roadmap A?"
    assert stage_problem(question, "short", "computer vision", [], own_stage=1, stages=4) == \
        "asks about stage 2 in a stage 1 quiz"
    assert stage_problem(question, "short", "computer vision", [], own_stage=2, stages=4) is None
    options = ["Stage 1", "Stage 2", "Stage 3", "Stage 4"]  # stages named in the options only: a shipped stage-2 item
    assert stage_problem("Which stage of the machine learning roadmap focuses on classical ML with scikit-learn?",
                         "mcq", 0, options, own_stage=2, stages=4) is None


def test_the_stage_count_comes_from_the_index(corpus_index):
    assert stages_in(load_index(corpus_index.index_dir).chunks) == 4


def test_options_that_differ_only_in_what_the_question_states_give_the_key_away(validator):
    """Written for stage 4 (dropped on review, as such items were in stages 1 and 3)."""
    options = [f"the learner has deployed a trained model as a web service in stage {n}" for n in (3, 4, 5, 2)]
    verdict = validator.check(Candidate("mcq", "What is the milestone that closes stage 4?", 1, options), BACKPROP)
    assert "key_in_question" in verdict.reasons and "only 4 sets the key apart" in " ".join(verdict.details)
    assert validator.check(GOOD, ADAM).ok  # the key's own words are not in the question
    numeric = Candidate("mcq", "How many weeks does stage 2 run?", 0, ["8", "2", "6", "10"])
    assert "key_in_question" not in validator.check(numeric, BACKPROP).reasons


def test_a_key_that_restates_the_question_is_rejected(validator):
    """Written for stage 1 by the packaged model in session 19 and passed by every other check."""
    options = ["where a slow pipeline actually spends its time", "ML pipelines and orchestration",
               "LoRA and parameter-efficient fine-tuning", "Debugging neural network training"]
    echo = Candidate("mcq", "Where does profiling tell you that a slow pipeline spends its time?", 0, options)
    verdict = validator.check(echo, BACKPROP)
    assert "key_in_question" in verdict.reasons and "mostly the question's own words" in " ".join(verdict.details)
    short = Candidate("short", "What type of processor is used for GPU training?", "Graphics processor")
    assert "key_in_question" not in validator.check(short, BACKPROP).reasons  # half its words: a real answer


def test_a_true_false_statement_cut_off_by_the_token_limit_is_rejected(validator):
    cut = Candidate("tf", "Adam keeps two running averages for every parameter and applies a bias correction only", True)
    assert "unfinished" in validator.check(cut, ADAM).reasons  # written for stage 4, without its end
    whole = Candidate("tf", "Adam's bias correction matters in the early steps, when both averages start at zero.", True)
    assert "unfinished" not in validator.check(whole, ADAM).reasons
    assert "unfinished" not in validator.check(Candidate("tf", "Adam gives each parameter a step of its own.", True),
                                               ADAM).reasons  # ends in a function word, with its full stop


# Sources of items the review dropped: a key cut inside a compound, a key that is one item
# of a list (the wording of corpus/roadmap.yaml and the paper summaries).
LORA = Chunk("paper-lora#1", "paper-lora", "LoRA's key idea is to freeze the pre-trained weights and learn low-rank "
             "update matrices beside them, so only a small share of parameters is trained.",
             "LoRA — Key idea", "paper", "corpus/papers/paper-lora.md", 4, ("lora-peft",))
Q3_SCALE = Chunk("quarter-q3#4", "quarter-q3", "To scale, Roadmap B's Q3 adds Spark, a cloud ML platform (SageMaker, "
                 "Vertex AI, Azure ML Studio), and multi-GPU and multi-node training.",
                 "Q3: Production — Scale", "roadmap", "corpus/roadmap.yaml", 4, ("cloud-ml-platforms",))
SEGMENTATION = Chunk("concept-image-segmentation#0", "concept-image-segmentation", "Image segmentation labels every "
                     "pixel, either by class (semantic segmentation, for example with U-Net) or by individual object "
                     "(instance segmentation, for example with Mask R-CNN).", "Image segmentation", "roadmap",
                     "corpus/roadmap.yaml", 4, ("image-segmentation",))


@pytest.mark.parametrize("answer, text, rest", [  # keys the review dropped as cut off
    ("freeze the pre-trained weights and learn low", LORA.text, "-rank"),
    ("Represent words or tokens as dense", "Word embeddings represent words or tokens as dense vectors.", "vectors"),
    ("Foundations and Classical Machine", "Stage 1 is Foundations and Classical Machine Learning.", "Learning"),
    ("University lecture notes on machine", "- University lecture notes on machine learning (course): theory.",
     "learning"),  # session 11
])
def test_a_key_that_stops_inside_a_compound_of_its_source_is_unfinished(validator, answer, text, rest):
    assert cut_in_source(answer, text) == rest
    source = Chunk("c#0", "c", text, "T", "roadmap", "corpus/roadmap.yaml", 1, ())
    verdict = validator.check(Candidate("short", "What does the LoRA paper propose to train?", answer), source)
    assert "unfinished" in verdict.reasons and f"stops before {rest!r}" in " ".join(verdict.details)


@pytest.mark.parametrize("answer, text", [
    ("two running averages", ADAM.text),  # goes on with "for": a phrase ends there
    ("learn low-rank update matrices", LORA.text),
    ("Semantic segmentation", SEGMENTATION.text),
    ("Random Forest", "A Random Forest averages many decision trees."),  # not a name cut in two
    ("quantum entanglement", ADAM.text),  # not in the source at all
])
def test_a_key_that_ends_where_its_source_phrase_ends_is_not_cut(answer, text):
    assert cut_in_source(answer, text) is None


@pytest.mark.parametrize("kind, question, answer, options, fragment", [  # each dropped on review
    ("short", "What stage does FastAPI belong to?", "Production and Specialisation", [], "is not a stage number"),
    ("short", "What stage does the Vision Transformer belong to?", "Q2", [], "one of Roadmap B's quarters"),
    ("mcq", "What is the stage of Roadmap B's fourth quarter?", 0, ["4", "1", "2", "3"], "names 'Roadmap B'"),
    ("mcq", "What stage of the reinforcement-learning specialisation does DQN belong to?", 0, ["4", "1", "2", "3"],
     "names 'specialisation'"),
    ("mcq", "Which stage covers the Vision Transformer?", 0, ["stage 3", "Q2", "stage 1", "stage 4"], "'Q2'"),
])
def test_a_stage_question_must_be_answerable_with_a_stage(validator, kind, question, answer, options, fragment):
    assert fragment in (stage_problem(question, kind, answer, options) or "")
    verdict = validator.check(Candidate(kind, question, answer, options), BACKPROP)
    assert "stage_question" in verdict.reasons, verdict.details


@pytest.mark.parametrize("kind, question, answer, options", [  # shipped items of this form
    ("short", "What stage does demand forecasting fall under?", "4", []),
    ("short", "What stage of the machine learning roadmap is the Transformer architecture part of?", "stage 3", []),
    ("mcq", "Which stage of the Roadmap A does AlexNet belong to?", 1, ["1", "2", "3", "4"]),
    ("short", "What is the name of the stage that covers RNNs?", "Advanced Architectures and NLP", []),  # a title
    ("short", "What does backpropagation compute?", "the gradient of the loss", []),
])
def test_stage_questions_keyed_with_a_stage_number_pass(kind, question, answer, options):
    assert stage_problem(question, kind, answer, options) is None


@pytest.mark.parametrize("kind, question, answer, options", [  # dropped on review in session 10
    ("mcq", "What stage does LoRA belong to?", 0, ["4", "1", "2", "3"]),
    ("short", "Which stage is MLOps part of?", "stage 4", []),
    ("tf", "LoRA belongs to stage 4 of the roadmap.", True, []),
    ("tf", "Random Forests are part of stage 2.", False, []),
    ("tf", "The Vision Transformer fits stage 3 (advanced architectures, weeks 17-24), after attention.", True, []),
    # session 11's stage-1 review: served in the stage-1 quiz, a claim about stage 2 is settled by the quiz
    ("tf", "Kaggle Learn is also one of the interactive platforms Roadmap A recommends for stage 2.", True, []),
])
def test_a_stage_question_keyed_with_the_quiz_s_own_stage_gives_itself_away(kind, question, answer, options):
    """Served in the stage-4 quiz, "what stage does LoRA belong to?" answers itself; a
    true/false claim about a stage is settled by the quiz's stage either way."""
    assert "stage" in (stage_problem(question, kind, answer, options, own_stage=4) or "")


def test_a_stage_question_keyed_with_another_stage_is_fair():
    assert stage_problem("Which stage of the Roadmap A does AlexNet belong to?", "mcq", 1, ["1", "2", "3", "4"],
                         own_stage=4) is None


def test_a_short_answer_key_that_is_one_item_of_a_list_is_partial(validator):
    partial = Candidate("short", "What cloud ML platform does Roadmap B's Q3 name for scaling?", "SageMaker")
    verdict = validator.check(partial, Q3_SCALE)
    assert "partial_key" in verdict.reasons, verdict.details
    assert "one of 3 listed in its source: SageMaker, Vertex AI, Azure ML Studio" in " ".join(verdict.details)
    one = Candidate("short", "Name one cloud ML platform Roadmap B's Q3 lists for scaling.", "SageMaker")
    assert "partial_key" not in validator.check(one, Q3_SCALE).reasons  # the question asks for one
    assert list_with("YOLO", "Detectors include YOLO and the Faster R-CNN family.") is not None
    assert list_with("Transformers", "Hugging Face provides the Transformers library, tokenizers, data sets and "
                                     "a model hub.") is not None  # written for stage 3, dropped on review
    assert list_with("PyTorch", "Roadmap B recommends PyTorch for 2026 for its dynamic graphs, custom layers, "
                                "losses, debugging, profiling tools.") is None  # a shipped item: one framework
    assert list_with("Semantic segmentation", SEGMENTATION.text) is None  # its neighbour is an aside
    assert list_with("two running averages", ADAM.text) is None


QA = Chunk("concept-question-answering#0", "concept-question-answering", "Question answering (QA) systems answer a "
           "natural-language question, either by extracting a span from a given passage (extractive QA, the classic "
           "BERT set-up on data sets like SQuAD) or by generating an answer.", "Question answering", "roadmap",
           "corpus/roadmap.yaml", 3, ("question-answering",))
TRACKING = Chunk("faq-experiment-tracking#1", "faq-experiment-tracking", "Roadmap B names both MLflow and Weights & "
                 "Biases for versioning and experiment tracking, and either one is a good choice.",
                 "Which experiment tracker?", "faq", "corpus/faq/faq-experiment-tracking.md", 4, ("experiment-tracking",))
BERT = Chunk("concept-bert#0", "concept-bert", "BERT (2018) is an encoder-only Transformer pre-trained by predicting "
             "masked words, which gives bidirectional context, and then fine-tuned for tasks such as classification "
             "and question answering.", "BERT", "roadmap", "corpus/roadmap.yaml", 3, ("bert",))

MILESTONE_METRICS = Chunk("faq-stage-1-milestone#1", "faq-stage-1-milestone", "A good submission shows a proper "
                          "validation setup and metrics suited to the problem (for example F1 or ROC AUC for "
                          "imbalanced classes, not only accuracy).", "Stage 1 milestone", "faq",
                          "corpus/faq/faq-stage-1-milestone.md", 1, ())

# Each dropped on review (sessions 11-12) as a partial key: the source gives two or more right answers.
@pytest.mark.parametrize("candidate, source, fragment", [
    (Candidate("mcq", "What is the main method used in question answering systems?", 0,
               ["extractive QA", "beam search", "topic modelling", "speech recognition"]), QA, "one of two"),
    (Candidate("short", "What is the name of the tool used for versioning and experiment tracking?", "MLflow"),
     TRACKING, "one of two"),
    (Candidate("mcq", "What is the purpose of fine-tuning BERT?", 0,
               ["classification", "tokenization", "pre-training", "quantisation"]), BERT, "listed in its source"),
    (Candidate("short", "Which activation function adds nonlinearity to a network?", "tanh"),
     Chunk("c#0", "c", "Activation functions such as ReLU, sigmoid, tanh and GELU add the nonlinearity that lets a "
           "neural network model more than straight lines.", "Activation functions", "roadmap", "corpus/roadmap.yaml",
           2, ()), "one of 4 listed"),
    # session 19's stage-1 build, dropped on review: the source says "F1 or ROC AUC"
    (Candidate("short", "Which metric suits imbalanced classes in a stage 1 milestone submission?", "ROC AUC"),
     MILESTONE_METRICS, "one of two"),
    (Candidate("mcq", "What is the main metric for imbalanced classes in the stage 1 milestone?", 0,
               ["F1", "accuracy", "mean squared error", "perplexity"]), MILESTONE_METRICS, "one of two"),
])
def test_a_key_that_is_one_of_several_right_answers_in_its_source_is_partial(validator, candidate, source, fragment):
    verdict = validator.check(candidate, source)
    assert "partial_key" in verdict.reasons and fragment in " ".join(verdict.details), verdict.details


@pytest.mark.parametrize("candidate, source", [  # shipped items of these forms, kept on review
    (Candidate("short", "What type of segmentation does U-Net use?", "semantic segmentation"), SEGMENTATION),
    (Candidate("mcq", "What is the main method used in distributed training?", 0,
               ["data parallelism", "gradient clipping", "early stopping", "weight decay"]),
     Chunk("c#0", "c", "Distributed training spreads a training job across several GPUs or machines, most often by "
           "data parallelism.", "Distributed training", "roadmap", "corpus/roadmap.yaml", 4, ())),
    (Candidate("mcq", "What is the main topic covered in Probability?", 0,
               ["maths of uncertainty", "maths of change", "maths of vectors", "maths of proofs"]),
     Chunk("c#0", "c", "Probability is the maths of uncertainty, covering random variables, distributions, "
           "conditional probability, expectation and Bayes' rule.", "Probability", "roadmap", "corpus/roadmap.yaml",
           1, ())),
    (Candidate("mcq", "What do diffusion models learn to do?", 0, ["reverse a gradual noising process",
               "sample from a codebook", "rank retrieved passages", "compress a latent space"]),
     Chunk("c#0", "c", "Diffusion models generate data by learning to reverse a gradual noising process, starting "
           "from pure noise and denoising step by step.", "Diffusion models", "roadmap", "corpus/roadmap.yaml", 2, ())),
    (Candidate("short", "Name one of the two tools Roadmap B names for experiment tracking.", "MLflow"), TRACKING),
    # the question names the other side of the "or"
    (Candidate("short", "Besides F1, which metric suits imbalanced classes in the stage 1 milestone?", "ROC AUC"),
     MILESTONE_METRICS),
])
def test_a_key_its_question_singles_out_is_not_partial(validator, candidate, source):
    assert "partial_key" not in validator.check(candidate, source).reasons


# Two items of one stage that one quiz must not serve together (dropped on review in session 11,
# and the stage-4 pair found by this check in session 12).
@pytest.mark.parametrize("item, other", [
    (Candidate("tf", "Stage 1 of Roadmap A (weeks 1-8) builds mathematical intuition for machine learning.", True),
     Candidate("short", "How many weeks does stage 1 of Roadmap A run?", "8")),
    (Candidate("tf", "Mask R-CNN became the standard baseline for instance segmentation and a flexible framework.", True),
     Candidate("mcq", "What is the main focus of Mask R-CNN?", 0,
               ["instance segmentation", "object detection", "semantic segmentation", "image captioning"])),
])
def test_an_item_that_states_another_item_s_key_gives_it_away(validator, item, other):
    assert "gives_away" in validator.check(item, ADAM, bank_items=[shown(other)]).details[-1]
    assert "gives_away" in validator.check(other, ADAM, bank_items=[shown(item)]).reasons  # either way round
    assert gives_away(item, [shown(GOOD)]) is None


def test_a_key_that_is_a_common_word_elsewhere_gives_nothing_away():
    other = Candidate("short", "How many weeks does stage 1 of Roadmap A run?", "8")
    assert gives_away(Candidate("tf", "Adam's default batch size of 8 suits small GPUs.", True), [shown(other)]) is None


# False true/false statements: the packaged model, asked to rewrite a sentence with one detail
# changed, copied it unchanged 6 times in 7 (session 12, stage 2); now it names the words to
# change and their replacement (generate.swapped), and the result must contradict its source.
@pytest.mark.parametrize("statement, correction, fragment", [
    (ADAM.text.split(". ")[0] + ".", ADAM.text.split(". ")[0] + ".", "says what its correction says"),
    ("Activation functions such as ReLU, sigmoid, softmax and GELU add nonlinearity.",
     "Activation functions such as ReLU, sigmoid, tanh and GELU add nonlinearity.", "one of 4 items listed"),
    ("Adam applies a bias correction in the first steps.", "Adam applies a bias correction in the early steps.",
     None),  # "first" is not in the source sentence... but it says the same: left to review (no synonym model)
    ("Adam keeps two running averages for every parameter.",
     "Adam keeps two running averages for every parameter and layer.", "drops 'and layer' without a negation"),
    ("Adam keeps three running averages for every layer.",
     "Adam keeps two running averages for every parameter.", "changes 2 details"),
    ("Adam keeps two running optimisations.", "Adam keeps two running optimizations.", "rewords"),
    ("The update divides the second by the square root of the first.",
     "The update divides the first by the square root of the second.", "changes 2 details"),
])
def test_a_false_statement_must_contradict_its_source(statement, correction, fragment):
    problem = false_statement_problem(statement, correction, correction)
    assert (fragment in problem) if fragment else problem is None, problem


@pytest.mark.parametrize("statement, correction", [
    ("AlexNet sorted 1.2 million training images into 100 classes.",
     "AlexNet sorted 1.2 million training images into 1,000 classes."),
    ("Adam does not apply a bias correction in the early steps.", "Adam applies a bias correction in the early steps."),
    ("A certificate shows you solved a problem with it.",  # one detail (dropped on review for "it")
     "A certificate shows you studied a platform, not that you solved a problem with it."),
    ("Adam keeps two running averages for every layer.", "Adam keeps two running averages for every parameter."),
])
def test_a_false_statement_that_changes_one_detail_passes(statement, correction):
    assert false_statement_problem(statement, correction, correction) is None


def test_a_false_statement_whose_new_words_its_source_sentence_says_is_not_false(validator):
    said = "Adam keeps two running averages for every gradient."  # "gradient" is in the sentence: still true
    true = "Adam keeps two running averages for every parameter."
    assert "are in the source sentence" in false_statement_problem(said, true, "Adam keeps two running averages "
                                                                              "for every parameter: of the gradient.")


def test_a_false_item_is_written_as_one_detail_swapped():
    assert generation_schema("tf", False)["required"] == ["fact", "changed", "replacement", "explanation"]
    assert "statement" in generation_schema("tf")["required"]
    reply = {"fact": "Adam's default learning rate is 0.001.", "changed": "0.001", "replacement": "0.1",
             "explanation": "The default is 0.001."}
    c = to_candidate("tf", reply, 0)
    assert (c.question, c.answer, c.correction) == ("Adam's default learning rate is 0.1.", False, reply["fact"])
    assert swapped("Adam keeps two averages.", "TWO", "three") == "Adam keeps three averages."
    assert swapped("Adam keeps two averages.", "five", "three") == "Adam keeps two averages."  # not in the fact


@pytest.mark.parametrize("sentence, detail", [
    ("AlexNet sorted 1.2 million training images into 1,000 classes.", "1.2"),  # a number first
    ("Roadmap B recommends PyTorch for its dynamic graphs.", "PyTorch"),  # then a name
    ("Activation functions such as ReLU, sigmoid, tanh and GELU add nonlinearity to a network.",
     "nonlinearity"),  # never one item of a list
    ("Gradient descent minimises a loss by repeatedly stepping against the gradient.", "minimises"),
])
def test_the_detail_a_false_statement_changes_is_chosen_from_its_sentence(sentence, detail):
    assert false_detail(sentence) == detail


@pytest.mark.parametrize("sentence, detail", [
    ("Roadmap A's stage 2 resources walk through the AlexNet paper.", "AlexNet"),  # not the stage's number
    ("Roadmap B's Q1 linear algebra uses 3Blue1Brown videos for 4 weeks.", "4"),  # nor Q1's, nor a name's
    ("Aim for 3-4 projects; GPT-3 has 175 billion parameters.", "175"),  # nor a range's end, nor a version
    ("Practise in stage 1 and 2, then build 3 projects.", "3"),  # nor a stage listed after another
    ("Before week 1, set up Python 3.11 or newer, a 1 GB+ disk and 8 GB or more of RAM; it takes 2 days.", "2"),  # nor a bound
    ("Random Forests' key idea is to grow many trees on bootstrap samples.", "bootstrap"),  # not "Forests"
])
def test_a_stage_quarter_or_half_a_name_is_not_the_detail_changed(sentence, detail):
    assert false_detail(sentence) == detail


def test_a_false_statement_changes_a_sentence_with_a_number_or_a_name():
    """Session 13: the 6 false statements review read that swapped a common word were synonyms
    or broke the grammar ('contest' for 'competition', 'Prompt commands designs'); the 5 kept
    changed a number or a name. A chunk with neither gets a true statement asked instead."""
    chunk = Chunk("c#0", "c", "Gradient descent steps against the gradient of the loss each time. "
                  "Adam's default learning rate is 0.001 in most libraries today. "
                  "Prerequisites of Gradient descent: Calculus and Linear algebra.", "Optimisers", "roadmap", "x", 2)
    assert [false_focus(chunk, n) for n in (0, 1)] == ["Adam's default learning rate is 0.001 in most libraries today."] * 2
    plain = Chunk("p#0", "p", "Gradient descent steps against the gradient of the loss each time.", "Optimisers",
                  "roadmap", "x", 2)
    assert false_focus(plain, 0) is None
    asked = []

    class Recorder:
        def json_many(self, messages, schema, **kw):
            asked.extend(m[-1]["content"] for m in messages)
            return [{"fact": "", "statement": "x", "answer": True, "correction": "x", "explanation": ""}] * len(messages)

    class Prompts:
        def messages(self, name, **kw):
            return [{"role": "user", "content": f"truth={kw['truth']} focus={kw['focus']} detail={kw['detail']}"}]

    tutor = type("T", (), {"llm": Recorder(), "prompts": Prompts(), "index": type("I", (), {"chunks": []})})()
    numbered, _ = generate_many(tutor, [(chunk, "tf", 0, False), (plain, "tf", 0, False)])
    # the number is swapped by rule (tutor/quiz/swaps.py), with no model call
    assert asked == ["truth=True focus=Gradient descent steps against the gradient of the loss each time. detail="]
    assert numbered.answer is False and numbered.correction == "Adam's default learning rate is 0.001 in most libraries today."
    assert "0.001" not in numbered.question and numbered.question.startswith("Adam's default learning rate is 0.0")



@pytest.mark.parametrize("replacement, expected", [
    ("stepping the weights", "It repeatedly steps the weights a little."),  # words around "parameters" said once
    ("the weights a", "It repeatedly steps the weights a little."),
    ("2", "It repeatedly steps the parameters a little."),  # a number for a word: unchanged, so rejected
    ("different name or term of the same type", "It repeatedly steps the parameters a little."),  # the prompt copied
])
def test_a_replacement_is_swapped_in_once_and_never_as_the_prompt_or_another_type(replacement, expected):
    assert swapped("It repeatedly steps the parameters a little.", "parameters",
                   replacement.replace("stepping", "steps")) == expected


def test_a_name_is_swapped_for_a_name():
    fact = "Document it: a README explaining the problem."
    assert swapped(fact, "README", "use") == fact  # "a use explaining": unchanged, so rejected
    assert swapped(fact, "README", "Makefile") == "Document it: a Makefile explaining the problem."
    assert swapped("In the Adam paper", "Adam", "deepQ") == "In the deepQ paper"


def test_a_false_reply_that_names_words_its_sentence_lacks_changes_the_chosen_detail():
    """A stage-1 build of session 12: both false candidates came back unchanged, the model's
    "changed" words not being in its sentence."""
    focus = "Adam's default learning rate is 0.001."
    asked = _as_asked({"fact": focus, "changed": "the learning rate of Adam", "replacement": "0.1",
                       "explanation": ""}, focus, "0.001")
    assert to_candidate("tf", asked, 0).question == "Adam's default learning rate is 0.1."
    kept = _as_asked({"fact": focus, "changed": "default", "replacement": "maximum"}, focus, "0.001")
    assert kept["changed"] == "default"  # the model's own choice, when its sentence holds it
    altered = _as_asked({"fact": "Adam's default learning rate is 0.01.", "changed": "default",
                         "replacement": "maximum"}, focus, "0.001")
    assert to_candidate("tf", altered, 0).correction == focus  # never the model's altered copy


def test_a_true_false_statement_that_opens_as_a_fragment_is_unfinished(validator):
    """Written for stage 1 in session 12 (the model's replacement swallowed the opening)."""
    fragment = Candidate("tf", "the cost of each kind of error, and Adam keeps two running averages.", True)
    assert "unfinished" in validator.check(fragment, ADAM).reasons


def test_a_swapped_false_item_passes_every_check(validator):
    c = to_candidate("tf", {"fact": "Adam applies a bias correction in the early steps.", "changed": "early",
                            "replacement": "final", "explanation": "Both averages start at zero."}, 0)
    verdict = validator.check(c, ADAM)
    assert verdict.ok, verdict.details
    copied = to_candidate("tf", {"fact": c.correction, "changed": "late", "replacement": "final", "explanation": ""}, 0)
    assert validator.check(copied, ADAM).reasons == ["distractor_supported", "not_false"]


@pytest.mark.parametrize("options", [
    GOOD.options,  # phrases of five and six words
    ["0.01", "0.001", "0.1", "1.0"],
    ["weeks 9-16", "weeks 13-20", "weeks 5-12", "weeks 17-24"],
    ["Adam", "RMSProp", "stochastic gradient descent", "Adagrad"],  # names of one to three words
    ["It keeps two running averages.", "It keeps one fixed rate.", "It stores every past gradient.",
     "It samples a new batch size."],
])
def test_options_of_the_keys_form_and_length_pass_the_form_check(options):
    assert option_form_problem(options, 0) is None


def test_repair_never_rescues_an_unsupported_key_or_a_malformed_item(repair, validator):
    unsupported = Candidate("mcq", Q, 0, ["quantum entanglement states"] * 4)
    fixed, _ = repair.repair(unsupported, ADAM)
    assert "key_unsupported" in validator.check(fixed, ADAM).reasons
    malformed = Candidate("mcq", Q, 0, ["two running averages"])
    assert repair.repair(malformed, ADAM) == (malformed, 0)


# -- prompts ------------------------------------------------------------------------------------

def test_quiz_and_hint_prompts_render_with_a_fixed_system_prefix(corpus_index):
    prompts = Prompts(corpus_index.prompts_dir)
    a = prompts.messages("quiz", kind="mcq", truth=True, title="Adam", text=ADAM.text, focus="F")
    b = prompts.messages("quiz", kind="tf", truth=False, title="X", text="Y", focus="Z")
    assert a[0] == b[0] and "FALSE" in b[1]["content"] and ADAM.text in a[1]["content"]
    h = prompts.messages("hint", question=Q, level=2, concept="Optimizers", material="m ____", message="help")
    assert h[0] == prompts.messages("hint", question="q", level=1, concept="c", material="", message="")[0]
    with pytest.raises(Exception):
        prompts.messages("hint", question=Q)  # StrictUndefined


# -- generation orchestration (scripted LLM) ----------------------------------------------------

@pytest.fixture
def quiz_env(fake_tutor, tmp_path):
    """(app, tutor, engine) with a cloze-writing scripted LLM, a fresh database, a learner 'ada'."""
    def make(script=cloze_item):
        tutor = fake_tutor(script)
        engine = make_engine(f"sqlite:///{tmp_path / 'tutor.db'}")
        with Session(engine) as s:
            s.add(Learner(id="ada"))
            s.commit()
        return create_app(tutor.settings, tutor=tutor, engine=engine), tutor, engine
    return make


def rows(engine, model, *where):
    with Session(engine) as s:
        return list(s.exec(select(model).where(*where)).all())


def test_build_generates_validates_and_stores_with_sources(quiz_env):
    _, tutor, engine = quiz_env()
    report = build_stage(tutor, engine, 2, per_stage=5)
    assert report.candidates >= 5 and report.accepted == 5, report
    items = rows(engine, QuizItem)
    assert {i.kind for i in items} == {"mcq", "tf", "short"}
    chunks = {c.id: c for c in tutor.index.chunks}
    for item in items:
        chunk = chunks[item.chunk_id]
        assert item.stage == 2 and chunk.stage == 2 and chunk.kind in ("roadmap", "paper", "faq")
        assert item.source_title == chunk.title and item.concept_id in chunk.concepts
    assert any(i.chunk_id.startswith("concept-") for i in items)
    assert len({i.chunk_id for i in items}) == len(items)  # a batch spreads over sources
    mcq = next(i for i in items if i.kind == "mcq")
    assert json.loads(mcq.options)[json.loads(mcq.answer)] in mcq.fact.lower()


def test_a_stopped_export_writes_what_it_accepted(fake_tutor, tmp_path):
    """Two builds of the shipped bank were stopped at a deadline and wrote nothing (session
    10): 22 minutes of model time lost. Ctrl-C now ends the build and keeps what it had."""
    calls = []

    def interrupted(messages):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return cloze_item(messages)

    path, report, written = export_stage(fake_tutor(interrupted), 2, tmp_path, per_stage=10)
    assert report.stopped == "Ctrl-C" and report.candidates == 3 and report.accepted == 3
    data = yaml.safe_load(path.read_text())
    assert data["build"]["stopped"] == "Ctrl-C" and len(data["items"]) == written >= 1

    _, report, _ = export_stage(fake_tutor(cloze_item), 3, tmp_path, per_stage=10, max_seconds=1e-9)
    assert report.stopped == "max_seconds" and report.candidates == 0  # checked before the first call


def test_an_extended_export_never_writes_again_what_review_dropped(fake_tutor, tmp_path):
    path, _, written = export_stage(fake_tutor(cloze_item), 2, tmp_path, per_stage=2)
    first = yaml.safe_load(path.read_text())["items"][0]
    assert written == 2 and drop(first["id"], "a teacher would not ask it", folder=tmp_path) == path

    def again(messages):  # a model that writes the dropped question again, whatever the source
        item = json.loads(cloze_item(messages))
        field = "statement" if "statement" in item else "fact" if "changed" in item else "question"
        return json.dumps({**item, field: first["question"]})

    _, report, written = export_stage(fake_tutor(again), 2, tmp_path, per_stage=2, max_candidates=3, extend=True)
    assert written == 0 and report.reasons["duplicate"] == report.candidates == 3
    items = yaml.safe_load(path.read_text())["items"]
    assert len(items) == 1 and first["question"] not in [i["question"] for i in items]


def test_rejected_items_keep_their_reasons_and_are_never_served(quiz_env):
    def bad(messages):  # a key the source does not state: no repair rescues it
        item = json.loads(cloze_item(messages))
        if "correct" in item:
            item["correct"] = "quantum entanglement"
        return json.dumps(item)

    _, tutor, engine = quiz_env(bad)
    report = build_stage(tutor, engine, 1, per_stage=3, max_candidates=5, kinds=("mcq",))
    assert report.accepted == 0 and report.reasons["key_unsupported"] == 5
    item = rows(engine, QuizItem)[0]
    assert item.status == "rejected" and "key_unsupported" in item.reasons
    with pytest.raises(Exception, match="tutor quiz build"):
        serve_quiz(engine, 1, 3)


def test_wrong_options_that_repeat_the_key_are_replaced_before_validation(quiz_env):
    def repeats(messages):
        item = json.loads(cloze_item(messages))
        if "correct" in item:
            item["wrong"] = [item["correct"], item["correct"].upper(), "tapestry"]
        return json.dumps(item)

    _, tutor, engine = quiz_env(repeats)
    report = build_stage(tutor, engine, 1, per_stage=3, max_candidates=3, kinds=("mcq",))
    assert report.accepted == report.repaired == 3, report
    for item in rows(engine, QuizItem):
        options = json.loads(item.options)
        assert "tapestry" in options and len({o.lower() for o in options}) == 4
        assert json.loads(item.scores)["replaced"] == 2


def test_a_batched_build_stores_what_one_by_one_stores_in_fewer_model_calls(quiz_env, tmp_path):
    _, tutor, engine = quiz_env()
    one = build_stage(tutor, engine, 2, per_stage=6)
    singles = [(i.kind, i.question, i.chunk_id) for i in rows(engine, QuizItem)]
    engine = make_engine(f"sqlite:///{tmp_path / 'batched.db'}")
    calls = []
    json_many = tutor.llm.json_many
    tutor.llm.json_many = lambda conversations, schema, **o: calls.append(len(conversations)) or \
        json_many(conversations, schema, **o)
    batched = build_stage(tutor, engine, 2, per_stage=6, batch=4)
    assert batched.accepted == one.accepted == 6 and batched.candidates == one.candidates
    assert sorted((i.kind, i.question, i.chunk_id) for i in rows(engine, QuizItem)) == sorted(singles)
    assert sum(calls) == batched.candidates and max(calls) > 1  # kinds rotate: a call per kind in a round


def test_a_reply_that_is_not_json_in_a_batch_fails_only_its_own_candidate(quiz_env):
    def every_other(messages):
        every_other.n += 1
        return cloze_item(messages) if every_other.n % 2 else "not JSON at all"
    every_other.n = 0
    _, tutor, engine = quiz_env(every_other)
    report = build_stage(tutor, engine, 2, per_stage=4, max_candidates=4, kinds=("mcq",), batch=4)
    assert report.candidates == 4 and report.reasons["schema"] >= 1 and report.accepted >= 1, report


def test_a_reply_that_is_not_json_is_a_schema_rejection(quiz_env):
    _, tutor, engine = quiz_env(lambda messages: "Sure! Here is a question: what is a tensor?")
    report = build_stage(tutor, engine, 1, per_stage=1, max_candidates=2)
    assert report.accepted == 0 and report.reasons["schema"] == 2


# -- serving and grading over HTTP --------------------------------------------------------------

@pytest.fixture
def stocked(quiz_env):
    app, tutor, engine = quiz_env()
    build_stage(tutor, engine, 2, per_stage=6, kinds=("mcq",))
    build_stage(tutor, engine, 1, per_stage=3, kinds=("tf", "short"))
    yield app, tutor, engine
    refiller = getattr(app.state, "quiz_refiller", None)
    if refiller is not None:  # a background top-up may still run: let it finish on this database
        refiller.wait(120)


def test_serving_a_quiz_sends_no_keys(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        r = client.post("/api/quizzes", json={"stage": 2, "count": 3, "learner_id": "ada"})
        assert r.status_code == 201, r.text
        body = r.json()
    assert set(body) >= {"quiz_id", "items"} and len(body["items"]) == 3
    for item in body["items"]:
        assert set(item) == {"id", "kind", "question", "options", "concept", "citation"}
        assert len(item["options"]) == 4 and item["citation"]["stage"] == 2
        assert set(item["citation"]) == {"chunk_id", "title", "source", "stage"}
    assert '"answer":' not in json.dumps(body) and '"explanation":' not in json.dumps(body)
    assert rows(engine, Quiz)[0].learner_id == "ada"


def test_serving_errors(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        assert client.post("/api/quizzes", json={"stage": 9, "count": 3}).status_code == 404
        assert client.post("/api/quizzes", json={"stage": 2, "count": 3, "learner_id": "nobody"}).status_code == 404
        assert client.post("/api/quizzes", json={"stage": 2, "count": 0}).status_code == 422
        assert client.post("/api/quizzes", json={"stage": 2, "count": 21}).status_code == 422
        empty = client.post("/api/quizzes", json={"stage": 4, "count": 3})
        assert empty.status_code == 503 and "tutor quiz build" in empty.json()["detail"]
        app.state.quiz_refiller.wait(60)
    assert not rows(engine, Quiz)
    assert rows(engine, QuizItem, QuizItem.stage == 4, QuizItem.status == "accepted")  # topped up


def test_a_low_bank_is_topped_up_in_the_background_one_thread_at_a_time(stocked):
    app, _, engine = stocked
    before = len(rows(engine, QuizItem, QuizItem.stage == 2))
    with TestClient(app) as client:
        assert client.post("/api/quizzes", json={"stage": 2, "count": 2}).status_code == 201
        refiller = app.state.quiz_refiller
        assert client.post("/api/quizzes", json={"stage": 2, "count": 2}).status_code == 201
        refiller.wait(60)
    assert refiller.last_error is None and refiller.last_report.candidates >= 1
    assert len(rows(engine, QuizItem, QuizItem.stage == 2)) > before


def _concept_items(engine, counts: dict[tuple[int, str], int]) -> None:
    """Accepted mcq items: `counts[(stage, concept)]` of each (key: option 1)."""
    with Session(engine) as s:
        for (stage, concept), n in counts.items():
            s.add_all(QuizItem(stage=stage, concept_id=concept, kind="mcq", question=f"{concept} question {i}?",
                               options=json.dumps(["alpha", "beta", "gamma", "delta"]), answer="1",
                               explanation="Because beta.", chunk_id=f"concept-{concept}#0", source_title=concept,
                               source="corpus/roadmap.yaml") for i in range(n))
        s.commit()


def test_a_concept_quiz_serves_only_that_concepts_items(quiz_env):
    """{"concept": id}: the items whose concept is that one (an item written from another
    stage's source counts too), as a quiz of the concept's stage; fewer than asked for are
    named with the concept, and nothing is generated while the concept's bank suffices."""
    app, tutor, engine = quiz_env()
    _concept_items(engine, {(1, "linear-algebra"): 4, (1, "statistics"): 3, (2, "transformers"): 1})
    with TestClient(app) as client:
        r = client.post("/api/quizzes", json={"concept": "linear-algebra", "count": 3, "learner_id": "ada"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["stage"], body["concept"], body["requested"], body["available"], body["message"]) == \
            (1, "linear-algebra", 3, 3, None)
        assert [i["concept"] for i in body["items"]] == ["linear-algebra"] * 3
        assert '"answer":' not in r.text
        both = client.post("/api/quizzes", json={"stage": 1, "concept": "statistics", "count": 5})
        assert both.status_code == 201 and {i["concept"] for i in both.json()["items"]} == {"statistics"}
        assert (both.json()["requested"], both.json()["available"]) == (5, 3)
        assert both.json()["message"].startswith("Only 3 of the 5 questions you asked for are ready for "
                                                 "Statistics (statistics)")
        off = client.post("/api/quizzes", json={"concept": "transformers", "count": 2}).json()
        assert off["stage"] == 3 and [i["citation"]["stage"] for i in off["items"]] == [2]  # its source: stage 2
        assert off["message"].startswith("Only 1 of the 2 questions you asked for are ready for Transformer "
                                         "architecture (transformers);")  # then: more are being written, or not
        stage_quiz = client.post("/api/quizzes", json={"stage": 1, "count": 7}).json()
        assert stage_quiz["concept"] is None and stage_quiz["available"] == 7  # both concepts
        app.state.quiz_refiller.wait(120)
    quizzes = rows(engine, Quiz)
    assert len(quizzes) == 4 and [q.stage for q in quizzes].count(1) == 3


def test_a_short_concept_is_topped_up_from_its_own_sources(quiz_env):
    app, tutor, engine = quiz_env()
    _concept_items(engine, {(1, "statistics"): 1})
    with TestClient(app) as client:
        r = client.post("/api/quizzes", json={"concept": "statistics", "count": 3})
        assert r.status_code == 201 and r.json()["available"] == 1
        refiller = app.state.quiz_refiller
        refiller.wait(120)
    assert refiller.last_error is None and refiller.last_report.accepted >= 1, refiller.last_report
    chunks = {c.id: c for c in tutor.index.chunks}
    written = rows(engine, QuizItem, QuizItem.backend == tutor.llm.name)
    assert written and all("statistics" in chunks[i.chunk_id].concepts and i.stage == 1 for i in written)
    assert len(rows(engine, QuizItem, QuizItem.concept_id == "statistics", QuizItem.status == "accepted")) > 1


def test_concept_quiz_errors_name_the_concept_and_store_nothing(quiz_env):
    app, tutor, engine = quiz_env(lambda messages: "not JSON")  # a top-up writes nothing usable
    _concept_items(engine, {(1, "linear-algebra"): 2})
    with TestClient(app) as client:
        unknown = client.post("/api/quizzes", json={"concept": "quantum-cooking", "count": 3})
        assert unknown.status_code == 422 and "unknown concept id 'quantum-cooking'" in unknown.json()["detail"]
        wrong_stage = client.post("/api/quizzes", json={"stage": 2, "concept": "linear-algebra"})
        assert wrong_stage.status_code == 422
        assert "'linear-algebra' (Linear algebra) is in stage 1, not stage 2" in wrong_stage.json()["detail"]
        assert client.post("/api/quizzes", json={"count": 3}).status_code == 422
        assert client.post("/api/quizzes", json={"concept": ""}).status_code == 422
        assert client.post("/api/quizzes", json={"concept": "linear-algebra", "learner_id": "nobody"}).status_code == 404
        empty = client.post("/api/quizzes", json={"concept": "calculus", "count": 3})
        assert empty.status_code == 503
        assert "no quiz questions are ready for Calculus (calculus)" in empty.json()["detail"]
        assert "take the stage 1 quiz" in empty.json()["detail"]
        refiller = getattr(app.state, "quiz_refiller", None)
        if refiller is not None:
            refiller.wait(120)
    assert not rows(engine, Quiz)


def _answers(engine, quiz_id, right: int, wrong: int) -> list[dict]:
    with Session(engine) as s:
        ids = json.loads(s.get(Quiz, quiz_id).item_ids)
        items = [s.get(QuizItem, i) for i in ids]
    out = []
    for n, item in enumerate(items[:right + wrong]):
        key = json.loads(item.answer)
        out.append({"item_id": item.id, "choice": key if n < right else (key + 1) % 4})
    return out


def test_grading_updates_mastery_schedules_reviews_and_explains(stocked):
    app, _, engine = stocked
    now = datetime.now(timezone.utc)
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 2, "count": 3, "learner_id": "ada"}).json()
        answers = _answers(engine, quiz["quiz_id"], right=1, wrong=1)
        r = client.post(f"/api/quizzes/{quiz['quiz_id']}/answers", json={"answers": answers})
        assert r.status_code == 200, r.text
        graded = r.json()
        assert (graded["correct"], graded["answered"], graded["total"]) == (1, 2, 3)
        first, second, skipped = graded["results"]
        assert first["correct"] and not second["correct"] and not skipped["answered"]
        for result in graded["results"]:
            assert set(result["key"]) == {"choice", "letter", "text"} and result["explanation"]
            assert result["citation"]["chunk_id"]
        again = client.post(f"/api/quizzes/{quiz['quiz_id']}/answers", json={"answers": answers})
        assert again.status_code == 409
        due_now = client.get("/api/learners/ada/reviews").json()["due"]
        later = (now + timedelta(hours=2)).isoformat()
        due_soon = client.get("/api/learners/ada/reviews", params={"until": later}).json()["due"]
        due_all = client.get("/api/learners/ada/reviews",
                             params={"until": (now + timedelta(days=60)).isoformat()}).json()["due"]
        assert client.get("/api/learners/nobody/reviews").status_code == 404
    assert len(rows(engine, QuizAttempt)) == 2
    mastery = rows(engine, Mastery, Mastery.learner_id == "ada")
    assert mastery and sum(m.attempts for m in mastery) == 2 and sum(m.correct for m in mastery) == 1
    reviews = {r.item_id: r for r in rows(engine, Review)}
    assert set(reviews) == {first["item_id"], second["item_id"]}  # skipped items are not scheduled
    assert due_now == []
    assert [d["id"] for d in due_soon] == [second["item_id"]]  # the wrong one comes back in an hour
    assert {d["id"] for d in due_all} == set(reviews)
    assert all("answer" not in d and "key" not in d for d in due_all)


def _nothing_stored(engine, quiz_id):
    assert not rows(engine, QuizAttempt) and not rows(engine, Mastery) and not rows(engine, Review)
    with Session(engine) as s:
        assert s.get(Quiz, quiz_id).graded_at is None


def test_a_client_sent_score_is_rejected_and_changes_nothing(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 2, "count": 2, "learner_id": "ada"}).json()
        url = f"/api/quizzes/{quiz['quiz_id']}/answers"
        assert client.post(url, json={"score": 100}).status_code == 422
        assert client.post(url, json={"score": 100, "answers": []}).status_code == 422
        answers = _answers(engine, quiz["quiz_id"], right=2, wrong=0)
        assert client.post(url, json={"score": 0, "answers": answers}).status_code == 422
        assert client.post(url, json={"answers": [{**answers[0], "correct": True}]}).status_code == 422
    _nothing_stored(engine, quiz["quiz_id"])


def test_grading_errors_store_nothing(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 2, "count": 2, "learner_id": "ada"}).json()
        url = f"/api/quizzes/{quiz['quiz_id']}/answers"
        good = _answers(engine, quiz["quiz_id"], right=1, wrong=1)
        other = rows(engine, QuizItem, QuizItem.id.not_in([a["item_id"] for a in good]),
                     QuizItem.status == "accepted")[0]
        cases = [
            ("/api/quizzes/nope/answers", {"answers": good}, 404),
            (url, {"answers": good + [{"item_id": other.id, "choice": 0}]}, 422),  # not in the quiz
            (url, {"answers": [good[0], {**good[1], "choice": 7}]}, 422),  # option out of range
            (url, {"answers": [good[0], {**good[1], "choice": -1}]}, 422),
            (url, {"answers": [good[0], good[0]]}, 422),  # the same item twice
            (url, {"answers": [{"item_id": good[0]["item_id"]}]}, 422),  # no choice
            (url, {"answers": good, "learner_id": "nobody"}, 422),  # another learner's quiz
        ]
        for target, body, status in cases:
            r = client.post(target, json=body)
            assert r.status_code == status, (body, r.text)
            _nothing_stored(engine, quiz["quiz_id"])
        anonymous = client.post("/api/quizzes", json={"stage": 2, "count": 1}).json()
        r = client.post(f"/api/quizzes/{anonymous['quiz_id']}/answers",
                        json={"learner_id": "nobody", "answers": _answers(engine, anonymous["quiz_id"], 1, 0)})
        assert r.status_code == 404
        _nothing_stored(engine, anonymous["quiz_id"])


def test_true_false_and_short_answers_are_graded(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 1, "count": 3, "learner_id": "ada"}).json()
        answers = []
        for item in quiz["items"]:
            key = json.loads(rows(engine, QuizItem, QuizItem.id == item["id"])[0].answer)
            answers.append({"item_id": item["id"], "answer": key if item["kind"] == "tf" else f"  {key.upper()}!"})
        bad = [{**a, "answer": "true"} for a in answers if isinstance(a["answer"], bool)]
        if bad:
            r = client.post(f"/api/quizzes/{quiz['quiz_id']}/answers", json={"answers": bad})
            assert r.status_code == 422  # "true" as text is not a boolean
        graded = client.post(f"/api/quizzes/{quiz['quiz_id']}/answers", json={"answers": answers}).json()
    assert graded["correct"] == graded["answered"] == len(quiz["items"])


def test_erasing_a_learner_erases_quizzes_attempts_reviews_and_hints(stocked):
    app, _, engine = stocked
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 2, "count": 2, "learner_id": "ada"}).json()
        hint = client.post("/api/chat", json={"message": "hint please", "learner_id": "ada",
                                              "quiz_item_id": quiz["items"][0]["id"]})  # streamed
        assert hint.status_code == 200, hint.text
        got = events(hint.text)
        kinds = [k for k, _ in got]  # the hint may stream in more than one token
        assert kinds[0] == "meta" and kinds[-2:] == ["citations", "done"] and set(kinds[1:-2]) == {"token"}
        assert got[0][1]["hint_level"] == 1
        client.post(f"/api/quizzes/{quiz['quiz_id']}/answers",
                    json={"answers": _answers(engine, quiz["quiz_id"], 1, 1)})
    assert rows(engine, QuizHint)
    counts = erase_learner(engine, "ada")
    assert counts["quizattempt"] == 2 and counts["review"] == 2 and counts["quiz"] == 1  # per table
    for model in (Quiz, QuizAttempt, Review, QuizHint, Mastery):
        assert not rows(engine, model), model
    assert rows(engine, QuizItem)  # the bank is not the learner's


# -- quiz mode in chat (scripted LLM; the real model is in test_quiz_mode.py) ---------------------

def test_hints_are_graduated_and_a_leaking_hint_is_replaced(stocked):
    leaky = {"text": None}

    def script(messages):
        if "quiz mode" in messages[0]["content"]:
            return leaky["text"] or "Think about the source."
        return cloze_item(messages)

    app, tutor, engine = stocked
    tutor.llm.script = script
    with TestClient(app) as client:
        quiz = client.post("/api/quizzes", json={"stage": 2, "count": 1, "learner_id": "ada"}).json()
        item_id = quiz["items"][0]["id"]
        item = rows(engine, QuizItem, QuizItem.id == item_id)[0]
        key_text = json.loads(item.options)[json.loads(item.answer)]
        chat = {"message": "give me a hint", "learner_id": "ada", "stream": False, "quiz_item_id": item_id}
        first = client.post("/api/chat", json=chat).json()
        cid = first["conversation_id"]
        second = client.post("/api/chat", json={**chat, "conversation_id": cid}).json()
        third = client.post("/api/chat", json={**chat, "conversation_id": cid}).json()
        prompts = [m for m in tutor.llm.calls if "quiz mode" in m[0]["content"]]
        leaky["text"] = f"The answer is {'ABCD'[json.loads(item.answer)]}), option {json.loads(item.answer) + 1}!"
        fourth = client.post("/api/chat", json={**chat, "conversation_id": cid}).json()
        assert client.post("/api/chat", json={**chat, "quiz_item_id": "nope"}).status_code == 404
        client.post(f"/api/quizzes/{quiz['quiz_id']}/answers",
                    json={"answers": [{"item_id": item_id, "choice": 0}]})
        after = client.post("/api/chat", json={**chat, "conversation_id": cid}).json()
    levels = [h.level for h in rows(engine, QuizHint)]
    assert sorted(levels) == [1, 2, 3, 3]
    assert "Think about the source." in first["answer"] and first["citations"] == []
    assert "rule out" in third["answer"] and second["citations"][0]["chunk_id"] == item.chunk_id
    assert "The answer is" not in fourth["answer"] and "rule out" in fourth["answer"]
    assert rows(engine, QuizHint, QuizHint.fallback == True)  # noqa: E712
    for reply in (first, second, third, fourth):
        assert leaks(reply["answer"], item) is None and key_text.lower() not in reply["answer"].lower()
    for messages in prompts:  # the key is never in the hint prompt
        assert key_text.lower() not in json.dumps(messages).lower()
    assert key_text in after["answer"] and after["citations"][0]["chunk_id"] == item.chunk_id


# -- CLI ----------------------------------------------------------------------------------------

def test_cli_build_and_serve(corpus_index, tmp_path):
    """An operator's corpus without shipped quizzes (corpus/quizzes): the bank starts empty
    and the model builds it."""
    (tmp_path / "own-corpus").mkdir()
    env = {"TUTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "TUTOR_CORPUS_DIR": str(tmp_path / "own-corpus")}
    index = str(corpus_index.index_dir)
    empty = run("quiz", "--stage", "1", "--index", index, env=env)
    assert empty.returncode == 1 and "tutor quiz build" in empty.stderr and "Traceback" not in empty.stderr
    built = run("quiz", "build", "--stage", "1", "--per-stage", "2", "--backend", "fake", "--index", index, env=env)
    assert built.returncode == 0, built.stderr
    # the fake backend answers in prose, not JSON: every candidate is a schema rejection
    assert re.search(r"stage 1: 0 accepted, 4 rejected of 4 .*schema 4", built.stdout), built.stdout
    assert run("quiz", "--stage", "9", "--index", index, env=env).returncode == 1
    wrong = run("quiz", "build", "--stage", "1", "--kinds", "mcq,essay", "--backend", "fake", "--index", index, env=env)
    assert wrong.returncode == 2 and "give one or more of mcq, tf, short" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_cli_serves_a_quiz_from_the_bank_as_json(quiz_env, corpus_index, tmp_path):
    _, tutor, engine = quiz_env()
    build_stage(tutor, engine, 3, per_stage=2)
    env = {"TUTOR_DATABASE_URL": str(engine.url)}
    result = run("quiz", "--stage", "3", "--count", "2", "--json", "--index", str(corpus_index.index_dir), env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert len(body["items"]) == 2 and '"answer":' not in result.stdout


def test_cli_serves_a_concept_quiz(quiz_env, corpus_index, repo_root, tmp_path):
    _, _, engine = quiz_env()
    _concept_items(engine, {(1, "linear-algebra"): 2, (1, "statistics"): 2})
    corpus = tmp_path / "corpus"  # the roadmap without the shipped quiz bank
    corpus.mkdir()
    (corpus / "roadmap.yaml").write_text((repo_root / "corpus" / "roadmap.yaml").read_text())
    env = {"TUTOR_DATABASE_URL": str(engine.url), "TUTOR_CORPUS_DIR": str(corpus)}
    index = str(corpus_index.index_dir)
    result = run("quiz", "--concept", "linear-algebra", "--count", "3", "--json", "--index", index, env=env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["stage"], body["concept"], body["requested"], body["available"]) == (1, "linear-algebra", 3, 2)
    assert {i["concept"] for i in body["items"]} == {"linear-algebra"}
    assert "ready for Linear algebra (linear-algebra)" in body["message"]
    unknown = run("quiz", "--concept", "nope", "--index", index, env=env)
    assert unknown.returncode == 1 and "unknown concept id 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    mismatch = run("quiz", "--stage", "2", "--concept", "statistics", "--index", index, env=env)
    assert mismatch.returncode == 1 and "is in stage 1, not stage 2" in mismatch.stderr


# -- the real packaged model --------------------------------------------------------------------

@pytest.mark.model
def test_quiz_build_with_the_packaged_model(real_tutor, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'real.db'}")
    report = build_stage(real_tutor, engine, 1, per_stage=10, max_candidates=10)
    items = rows(engine, QuizItem)
    summary = [(i.kind, i.status, i.question, i.reasons) for i in items]
    print(f"\nreal model: {report.accepted}/{report.candidates} accepted ({report.pass_rate:.0%}), "
          f"{report.seconds_per_valid or 0:.1f}s per valid item, reasons {dict(report.reasons)}")
    assert report.candidates == 10
    # 0.8 until session 8's no_context and unfinished checks, which reject what review of
    # the shipped bank used to drop: measured then 7 of 10, one of them each.
    assert report.pass_rate >= 0.6, summary


def test_the_eval_builds_a_throwaway_bank_and_asks_it_for_the_key(fake_tutor):
    """`tutor eval` without a bank: item validity, key support and quiz-mode leaks from a
    fresh build; a model that names an option as the answer has its hints replaced."""
    from eval.runner import quiz_build_check

    def script(messages):
        return "The answer is option B." if "quiz mode" in messages[0]["content"] else cloze_item(messages)

    tutor = fake_tutor(script)
    got = quiz_build_check(tutor, stage=2, per_stage=3)
    assert got["items"] == 3 and got["candidates"] >= 3 and got["item_validity"] == 3 / got["candidates"]
    assert 0 < got["key_support"] <= 1 and got["hints"] == 9
    assert got["key_leak_rate"] == 0.0 and got["hints_replaced_by_a_template"] > 0


STAGE_1_MILESTONE = Chunk(
    "stage-1#3", "stage-1", "The milestone that closes stage 1: Stage 1 closes when the learner has built and "
    "evaluated several classical models, including a Random Forest and an SVM, on real data sets and reached "
    "competitive, Kaggle-style results.", "Stage 1: Foundations and Classical Machine Learning — Stage 1 "
    "(Foundations and Classical Machine Learning, weeks 1-8): milestone", "roadmap", "corpus/roadmap.yaml", 1, ())


def test_a_key_taken_from_its_source_s_title_is_unsupported(validator):
    """Written twice by session 19's stage-1 builds, dropped on review: support is scored on the
    chunk with its title, so the stage's name passed as its milestone."""
    wrong = Candidate("short", "What is the milestone for stage 1 of Roadmap A?", "Foundations and classical ML")
    verdict = validator.check(wrong, STAGE_1_MILESTONE)
    assert "key_unsupported" in verdict.reasons and "title" in " ".join(verdict.details), verdict.details
    right = Candidate("short", "What is the milestone for stage 1 of Roadmap A?",
                      "several classical models built and evaluated on real data sets")
    assert title_key_problem(right.question, right.key_text(), STAGE_1_MILESTONE) is None
    named = Candidate("short", "What is stage 1 of Roadmap A called?", "Foundations and Classical Machine Learning")
    assert title_key_problem(named.question, named.key_text(), STAGE_1_MILESTONE) is None  # asks for the name
