"""Claims in the source's words that say its opposite (tutor/contradiction.py), and the
support scorer holding them back where it served them before."""

from __future__ import annotations

import pytest

from tutor.contradiction import contradiction
from tutor.sentence_vectors import SentenceVectors
from tutor.support import SupportScorer, missing_names
from tutor.types import Chunk

DROPOUT = ("Dropout is a regularisation technique that randomly switches off a fraction of a neural network's "
           "units during each training step, so the network cannot rely on any single unit. At inference time "
           "dropout is turned off. It reduces overfitting, especially in large fully connected layers.")
ACTOR_CRITIC = ("Actor-critic methods combine a policy network (the actor) with a value network (the critic) that "
                "judges the actor's choices, reducing the variance of policy gradients.")
RAG = ("RAG grounds answers in private or recent data without retraining the model, and makes them citable.")
GAN = ("Earlier approaches needed intractable probability calculations or Markov chain sampling, which made them "
       "slow and hard to scale, even though discriminative deep networks were already working well.")
T5 = "Scaling up to 11 billion parameters, T5 reached state-of-the-art results on GLUE and SQuAD."
TRANSFORMER = ("RNNs and LSTMs process tokens one after another, which prevents parallel training within a "
               "sequence and makes long-range dependencies hard to learn.")
RESEARCH = ("Novelty means knowing the literature well enough to see what has not been done; following NeurIPS, "
            "ICML and arXiv digests keeps you current.")


@pytest.mark.parametrize("claim, source, kind", [
    ("Dropout stays switched on at inference time.", DROPOUT, "antonym"),  # "on" where it says "off"
    ("Actor-critic methods increase the variance of policy gradients.", ACTOR_CRITIC, "antonym"),
    ("The GAN paper showed that discriminative networks did not work well.", GAN, "negation added"),
    ("RAG grounds answers in private data by retraining the model on it.", RAG, "negation dropped"),
    ("Scaling up to 11 million parameters, T5 reached state-of-the-art results on GLUE.", T5, "scale"),
])
def test_a_copy_turned_round_is_a_contradiction(claim, source, kind):
    assert contradiction(claim, [source]).startswith(kind)


STAGE_1 = ("The emphasis is practical implementation and honest evaluation, covering regression, logistic "
           "regression, decision trees, Random Forests, gradient boosting, SVMs, clustering and PCA.")
REGRESSION = "- Weeks 3-4: Supervised learning basics, namely linear and logistic regression and regularisation."


def test_a_negation_in_the_statement_that_takes_up_the_aligned_one_counts():
    """Served in session 36 for "when did the resnet paper come out and what problem did it
    solve?"; aligned with the degradation sentence, the "This was not overfitting" after it
    went unread."""
    resnet = ("ResNet addressed the degradation problem: when plain CNNs were made deeper, training error got "
              "worse, not better. This was not overfitting; very deep plain networks were simply hard to optimise.")
    assert contradiction("It solved the problem of overfitting when plain CNNs were made deeper.",
                         [resnet]).startswith("negation dropped")
    assert contradiction("It solved the degradation problem: deeper plain CNNs got worse training error.", [resnet]) == ""


@pytest.mark.parametrize("claim, kind", [
    # served in full run 24 (a-stage-15); aligned whole with the regression item, its "not" went unseen
    ("The roadmap does not go as far as gradient boosting, but it does include regression algorithms such as "
     "linear and logistic regression.", "negation added"),
    ("Stage 1 covers linear and logistic regression; it does not cover gradient boosting.", "negation added"),
])
def test_a_clause_turned_on_another_is_read_on_its_own(claim, kind):
    assert contradiction(claim, [STAGE_1, REGRESSION]).startswith(kind)
    # both clauses as the sources say them
    assert contradiction("Stage 1 covers linear and logistic regression, but it also covers gradient boosting.",
                         [STAGE_1, REGRESSION]) == ""


@pytest.mark.parametrize("claim, source", [
    ("At inference time dropout is turned off.", DROPOUT),
    ("Dropout reduces overfitting in large fully connected layers.", DROPOUT),
    ("Actor-critic methods reduce the variance of policy gradients.", ACTOR_CRITIC),
    ("RAG grounds answers in private data without retraining the model.", RAG),
    ("T5 scaled up to 11 billion parameters.", T5),
    # a denial said with a verb ("prevents") may be paraphrased with "cannot"
    ("Because RNNs read tokens one at a time, training cannot be parallelised within a sequence.", TRANSFORMER),
    # a negation's words end at its clause: "not been done; following NeurIPS" denies no following
    ("Following NeurIPS, ICML and arXiv digests keeps you current with the literature.", RESEARCH),
    # nothing aligned: the claim shares too little with the source to be read against it
    ("Kaggle competitions are never required.", DROPOUT),
])
def test_a_faithful_claim_is_no_contradiction(claim, source):
    assert contradiction(claim, [source]) == ""


def test_a_comparison_and_a_scale_between_two_ends_are_no_contradiction():
    """Served and true, flagged by a first lexicon (runs 11, 12 and 14): the other end of a
    scale the source names ("too simple" for bias, "too complex" for variance), and a
    comparison said from the other side."""
    bias = ("The bias-variance trade-off: a model that is too simple underfits (high bias), and one that "
            "fits noise overfits (high variance). Comparing training and validation error shows which.")
    assert contradiction("When a model is too complex (high variance), it overfits the data.", [bias]) == ""
    gru = "The GRU is a simpler cell with fewer parameters, and the LSTM has a separate memory cell."
    assert contradiction("The LSTM has more parameters than the GRU and a separate memory cell.", [gru]) == ""
    assert contradiction("The GRU has more parameters and a separate memory cell.", [gru]).startswith("antonym")
    # an order, too: the concept page says what to learn after, the answer what comes before
    # (the packaged model's draft for "What comes before the attention mechanism?", withdrawn)
    seq2seq = ("Sequence-to-sequence models map an input sequence to an output sequence. Concepts to learn "
               "after sequence-to-sequence models: Attention mechanism.")
    assert contradiction("You should learn about sequence-to-sequence models before the attention mechanism.",
                         [seq2seq]) == ""


def test_a_question_of_the_source_is_no_statement_to_contradict():
    """An FAQ chunk opens with its question, and the question's words aligned the claim with
    it: "you don't need a degree" read as a negation added to "Do I need a degree ...?". A
    negation the question itself holds ("avoid burnout") is no negation added either."""
    degree = ('FAQ "Do I need a degree to get a machine learning job?", Where a degree can help\n'
              "Do I need a degree to get a machine learning job? \u2014 Where a degree can help Some roles and "
              "employers do expect formal education, especially research positions. For engineering roles, "
              "visible proof of work is the strongest evidence you can offer without one.")
    assert contradiction("Yes, you don't need a degree for engineering roles.", [degree]) == ""
    burnout = ('FAQ "How do I stay consistent and avoid burnout over a year of study?", Pace yourself\n'
               "Plan rest weeks between stages. Keep a steady weekly budget of study over the year.")
    assert contradiction("To stay consistent for a year without burning out, keep a steady weekly budget.",
                         [burnout]) == ""
    assert contradiction("Do not keep a steady weekly budget of study.", [burnout]) == "negation added"


def test_a_word_said_elsewhere_in_the_sources_is_no_antonym():
    """"more" is said by another sentence of the sources: the claim may have it from there."""
    sources = ["Boosting fits trees one after another, each correcting the errors of the last.",
               "Boosting usually needs more tuning than a Random Forest."]
    assert contradiction("Boosting needs more tuning and fits trees one after another.", sources) == ""


def test_a_one_letter_name_must_be_a_word_of_the_source():
    """"option D" was held by "deep" (a name matched as a prefix): run the check on a letter."""
    source = "The computer vision specialisation is option B of Roadmap B's Q4 and builds on deep learning."
    assert missing_names("The computer vision specialisation is option D of Roadmap B's Q4.", source) == ["d"]
    assert missing_names("The computer vision specialisation is option B of Roadmap B's Q4.", source) == []


@pytest.fixture(scope="module")
def scorer(embedder):
    return SupportScorer(embedder, SentenceVectors(embedder))


def test_the_scorer_holds_back_a_contradiction_it_served(scorer):
    """Both sentences share the source's words and meaning to the embedder: the copy turned
    round scored 0.84 before, and is now halved below the threshold."""
    chunk = Chunk("concept-dropout#0", "concept-dropout", DROPOUT, "Dropout", "concept", "t")
    [right] = scorer.score_sentences("At inference time dropout is turned off [1].", [chunk])
    [wrong] = scorer.score_sentences("Dropout stays switched on at inference time [1].", [chunk])
    assert right.supported and not wrong.supported, (right, wrong)
    assert wrong.score < right.score / 1.5


STAGE_2_PLAN = """- Weeks 9-10: Neural network basics: perceptrons, backpropagation and activation functions.
- Weeks 11-12: Training practice: weight initialisation, batch normalisation and dropout.
- Weeks 13-14: Convolutional neural networks for images, with PyTorch.
- Weeks 15-16: Transfer learning and the stage 2 milestone, a CIFAR-10 classifier."""
INDUSTRY = ("Roadmap B's industry track is a twelve-month plan. It goes from one framework (months 1-2) to two "
            "production projects (3-4), cloud and scale (5-6), and open source, networking and interviews (7-12).")


@pytest.mark.parametrize("claim, source", [
    ("Weeks 13-14 cover training practice: weight initialisation, batch normalisation and dropout.", STAGE_2_PLAN),
    ("In weeks 15 and 16 you learn backpropagation and activation functions.", STAGE_2_PLAN),
    ("Stage 2's week 9 is about convolutional neural networks for images with PyTorch.", STAGE_2_PLAN),
])
def test_a_span_said_with_another_spans_content_is_a_contradiction(claim, source):
    """Every number of these is in the plan, so the number check passes them."""
    assert contradiction(claim, [source]).startswith("span: weeks")


@pytest.mark.parametrize("claim, source", [
    ("Weeks 11-12 cover weight initialisation, batch normalisation and dropout.", STAGE_2_PLAN),
    ("Stage 2 runs weeks 9-16 and covers convolutional neural networks, transfer learning and dropout.",
     f"Stage 2 (Deep Learning Fundamentals, weeks 9-16, 8 weeks): week-by-week plan\n{STAGE_2_PLAN}"),
    # several spans are read together: which words go with which is not guessed
    ("Weeks 9-10 cover backpropagation, and weeks 13-14 convolutional neural networks.", STAGE_2_PLAN),
    # a line that names its unit once and goes on in bare ranges
    ("In months 3-4 of the industry track, you will build two production projects.", INDUSTRY),
    # no line of the sources puts a span to it
    ("Dropout is covered in week 12.", DROPOUT),
])
def test_a_span_said_with_its_own_content_is_none(claim, source):
    assert contradiction(claim, [source]) == ""


def test_the_scorer_holds_back_a_moved_span_with_every_number_right(scorer):
    chunk = Chunk("stage-2#1", "stage-2", STAGE_2_PLAN, "Stage 2: plan", "stage", "t")
    [right] = scorer.score_sentences("Weeks 11-12 cover weight initialisation, batch normalisation and dropout [1].", [chunk])
    [wrong] = scorer.score_sentences("Weeks 13-14 cover weight initialisation, batch normalisation and dropout [1].", [chunk])
    assert right.supported and not wrong.supported, (right, wrong)


def test_the_stages_heading_does_not_place_what_its_plan_puts_elsewhere():
    """Run 20's a-week-16, served: the heading's span (weeks 17-24) meets weeks 23-24 and
    shares the stage's title words, but the plan's own line for those weeks says otherwise."""
    plan = ("Stage 3 (Advanced Architectures and NLP, weeks 17-24, 8 weeks): week-by-week plan\n"
            "- Weeks 21-22 (2 weeks): The Hugging Face course and model hub, covering tokenization and the BERT, "
            "GPT and T5 model families.\n"
            "- Weeks 23-24 (2 weeks): The stage 3 milestone, fine-tuning BERT on a custom text classification task.")
    claim = ("In the week-by-week plan for Stage 3 (Advanced Architectures and NLP), weeks 23-24 focus on the "
             "Hugging Face course and model hub.")
    assert contradiction(claim, [plan]).startswith("span: weeks 23-24")
    assert contradiction(claim.replace("23-24", "21-22"), [plan]) == ""


STAGE_1_PLAN = ("- Weeks 5-6 (2 weeks): Decision trees, Random Forests, gradient boosting, SVMs, kNN and naive Bayes, "
                "together with data preprocessing and feature engineering.\n"
                "- Weeks 7-8 (2 weeks): Unsupervised learning (clustering, PCA) and the stage 1 milestone, a "
                "Kaggle-style project.")


@pytest.mark.parametrize("claim, moved", [
    # the packaged model's answer to "what's right after weeks 5-6?", shown both lines
    ("After weeks 5-6, you should learn about decision trees, Random Forests, gradient boosting, SVMs and kNN.", True),
    ("After weeks 5-6, you move on to unsupervised learning: clustering and PCA, and the stage 1 milestone.", False),
    ("Before weeks 7-8, you study decision trees, Random Forests and gradient boosting.", False),
    ("After week 8, you study decision trees and Random Forests.", False),  # the sources state no weeks after 8
])
def test_weeks_named_to_point_beside_them_place_a_claim_in_the_weeks_beside(claim, moved):
    assert bool(contradiction(claim, [STAGE_1_PLAN])) is moved


@pytest.mark.parametrize("sentence, supported", [
    # run 20's a-week-17, withdrawn at 0.34: the plan says "kNN"
    ("In Weeks 5-6, you learn K-Nearest Neighbors (KNN) and Naive Bayes [1].", True),
    # the weeks it points from are the question's; the weeks beside them are the plan's
    ("Before week 9, you review weeks 7 and 8: clustering, principal component analysis (PCA) and the stage 1 "
     "milestone [1].", True),
    ("In Weeks 5-6, you learn convolutional neural networks (CNN) and naive Bayes [1].", False),  # no CNN there
])
def test_an_acronym_spelled_out_is_held_by_the_acronym(scorer, sentence, supported):
    chunk = Chunk("stage-1#1", "stage-1", STAGE_1_PLAN, "Stage 1: plan", "stage", "t")
    [scored] = scorer.score_sentences(sentence, [chunk])
    assert scored.supported is supported, scored


def test_the_words_of_an_acronym_are_held_only_with_it_spelled_out_and_in_the_source():
    assert missing_names("It is called Proximal Policy Optimization (PPO).", "ppo clips the ratio") == []
    assert set(missing_names("It is called Proximal Policy Optimization.", "ppo clips the ratio")) == {
        "proximal", "policy", "optimization"}
    assert set(missing_names("It is called Proximal Policy Optimization (PPO).", "trpo clips the ratio")) >= {
        "proximal", "policy", "optimization"}
    # glossed after the acronym, as the packaged model writes it (m-19's hedge, held back at first)
    source = "build projects in simulated environments with well-known algorithms (dqn, ppo)"
    assert missing_names("Use DQN (Deep Q-Network) or PPO (Proximal Policy Optimization) first.", source) == []
    assert set(missing_names("Use A2C (Advantage Actor Critic) first.", source)) >= {"advantage", "actor", "critic"}


@pytest.mark.parametrize("claim, moved", [
    ("In Weeks 5-6 and Weeks 7-8, you learn K-Nearest Neighbors (KNN) and Naive Bayes.", True),  # run 21's a-week-17
    ("In weeks 5-6 and 7-8, you learn kNN and naive Bayes.", True),
    ("In weeks 5 and 6, you learn kNN and naive Bayes.", False),  # one span, said twice
    ("Weeks 5-6 cover decision trees and kNN, and weeks 7-8 clustering and PCA.", False),  # each with its own
])
def test_spans_joined_by_and_say_the_same_of_each(claim, moved):
    assert bool(contradiction(claim, [STAGE_1_PLAN])) is moved


@pytest.mark.parametrize("claim, wrong", [
    ("Linear regression is covered in Stage 1, which is the second stage of the roadmap.", True),
    ("The Random Forest algorithm is covered in Roadmap A, which is the first stage of the roadmap.", True),
    ("Transfer learning comes in stage 2 (weeks 9-16), which is the second stage.", False),
    ("Stage 4 is the fourth stage and the last.", False),
    ("The first stage covers classical machine learning.", False),
])
def test_a_stage_called_by_another_s_ordinal_is_a_contradiction(claim, wrong):
    """Read in served answers and passed by the scorer, every word in the sources: "Stage 1,
    which is the second stage", "Roadmap A, which is the first stage"."""
    source = "Stage 1 (Foundations and Classical Machine Learning, weeks 1-8) runs 8 weeks."
    assert contradiction(claim, [source]).startswith("stage ordinal") == wrong


GPU_FAQ = ("You do not need to buy a powerful GPU to follow the roadmap. Stage 1 runs on any laptop CPU, and for "
           "deep learning from stage 2 on, Roadmap A lists cloud GPUs as a resource.")


@pytest.mark.parametrize("claim, swapped", [
    ("Stage 2 runs on any laptop CPU.", True),
    ("You don't need a GPU: stage 3 runs on any laptop CPU.", True),
    ("Stage 1 runs on any laptop CPU.", False),
    ("For deep learning from stage 2 on, Roadmap A lists cloud GPUs as a resource.", False),
    ("You do not need a powerful GPU for stage 2.", False),
    ("Stage 1 runs on a laptop CPU, and stage 2 uses cloud GPUs for deep learning.", False),
    # two stages in one clause: which words go with which is not guessed
    ("Stage 1 runs on a laptop CPU before stage 2.", False),
    ("Stage 1 and stage 2 both run on a laptop CPU.", True),
])
def test_a_stage_said_with_what_the_source_says_of_another_is_a_contradiction(claim, swapped):
    """Served in session 37 to "do I need a GPU for stage 2?" and passed by the scorer:
    "stage 2" is in the FAQ's sentence, so the number check holds it."""
    assert contradiction(claim, [GPU_FAQ]).startswith("stage: ") == swapped


def test_the_scorer_holds_back_a_stage_swapped_clause(scorer):
    chunk = Chunk("faq-hardware#0", "faq-hardware", GPU_FAQ, "FAQ: hardware", "faq", "t")
    [right] = scorer.score_sentences("Stage 1 runs on any laptop CPU [1].", [chunk])
    [wrong] = scorer.score_sentences("Stage 2 runs on any laptop CPU [1].", [chunk])
    assert right.supported and not wrong.supported, (right, wrong)


KAGGLE_SKIPS = ('FAQ "Should I do Kaggle competitions?", What Kaggle does not teach (stage 1)\n'
                "A competition hands you a clean problem definition and stops at predictions. It skips data "
                "collection, deployment, monitoring and talking to stakeholders, which Roadmap B notes make up most "
                "of the job (training is about 20%).")
KAGGLE_TEACHES = ("Kaggle competitions (stage 1)\nKaggle competitions are public modelling challenges on real data "
                  "sets with leaderboards. Competitions teach validation discipline, feature engineering and learning "
                  "from others' shared notebooks.")


def test_what_a_source_says_is_skipped_is_what_it_does_not_teach():
    """Run 25's a-faq-43 ("what does kaggle NOT teach you?"), withdrawn: its true sentence was
    read as a negation added to "It skips ...", and its wrong one passed, "skip" being a word
    of the sources, though only of the sentence on another subject."""
    right = ("Kaggle competitions do not teach you data collection, deployment, monitoring, or talking to "
             "stakeholders, which are most of the job (training is about 20%).")
    wrong = "They skip validation discipline, feature engineering, and learning from others' shared notebooks."
    assert contradiction(right, [KAGGLE_SKIPS, KAGGLE_TEACHES]) == ""
    assert contradiction(wrong, [KAGGLE_SKIPS, KAGGLE_TEACHES]) == "antonym: skip / teach"
    assert contradiction("Kaggle skips data collection and deployment.", [KAGGLE_SKIPS, KAGGLE_TEACHES]) == ""


def test_the_scorer_serves_what_is_skipped_and_holds_back_what_is_taught(scorer):
    chunks = [Chunk("faq-kaggle#2", "faq-kaggle", KAGGLE_SKIPS, "FAQ: Kaggle", "faq", "t"),
              Chunk("concept-kaggle-competitions#0", "concept-kaggle-competitions", KAGGLE_TEACHES, "Kaggle",
                    "concept", "t")]
    [right] = scorer.score_sentences(
        "Kaggle competitions do not teach you data collection, deployment or monitoring [1].", chunks)
    [wrong] = scorer.score_sentences("They skip validation discipline and feature engineering [2].", chunks)
    assert right.supported and not wrong.supported, (right, wrong)
