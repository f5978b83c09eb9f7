"""The trained grounding check (tutor/grounding.py): the shipped file, its training script,
and how it compares with the support scorer on the hand labels (never trained on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eval.grounding_check import grounding_check, label_scores, load_split_labels, with_splits
from tutor.grounding import FEATURES, MODEL_FILE, GroundingChecker, GroundingModel, anchors, binding, names
from tutor.sentence_vectors import SentenceVectors
from tutor.support import SUPPORT_THRESHOLD, SupportScorer
from tutor.text import strip_markers
from tutor.types import Chunk

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checker(embedder):
    return GroundingChecker(embedder, SentenceVectors(embedder))


@pytest.fixture(scope="module")
def scorer(embedder):
    return SupportScorer(embedder, SentenceVectors(embedder))


@pytest.fixture(scope="module")
def check(embedder):
    return grounding_check(embedder, load_split_labels())


def test_the_shipped_model_loads_and_says_how_it_was_made():
    model = GroundingModel.load()
    data = json.loads(MODEL_FILE.read_text())
    assert set(model.use) <= set(FEATURES) and len(model.weights) == len(model.use)
    assert 0.0 < model.threshold < 1.0
    for key in ("generator_version", "seed", "date", "claims", "claims_true", "claims_false", "threshold_from"):
        assert key in data, key
    assert data["claims_true"] + data["claims_false"] == data["claims"] > 1000


def test_the_checker_scores_an_answer_like_the_scorer(checker):
    stage2 = Chunk("stage-2#0", "stage-2", "Stage 2 (Deep Learning Fundamentals, weeks 9-16) runs 8 weeks. "
                   "It teaches neural networks in PyTorch and TensorFlow.", "Stage 2", "roadmap", "test")
    other = Chunk("faq-x#0", "faq-x", "Kaggle Learn is an interactive platform for stage 1.", "", "faq", "test")
    scored = checker.score_sentences("Stage 2 runs weeks 9-16 and teaches neural networks in PyTorch [1]. "
                                     "It is taught in JAX and runs 20 weeks [1].", [stage2, other])
    assert len(scored) == 2 and all(0.0 <= s.score <= 1.0 for s in scored)
    assert scored[0].supported and scored[0].chunk_id == "stage-2#0"
    assert not scored[1].supported and scored[1].score < scored[0].score
    assert checker.score_sentences("2.", [stage2]) == []  # nothing claimed, nothing scored


def test_fact_helpers():
    assert {("stage", "3"), ("week", "17-24"), ("q", "2"), ("option", "b")} <= \
        anchors("Stage 3 (weeks 17-24) matches Q2 and option B of the third stage")
    assert {"pytorch", "bert"} <= names("Learners use PyTorch and BERT.")
    source = [{"months", "4-8", "4", "8", "implement", "recent", "papers"},
              {"months", "9-12", "9", "12", "run", "your", "own", "experiments", "and", "write", "papers"}]
    moved = binding("In months 4-8 you run your own experiments and write papers.", source)
    right = binding("In months 9-12 you run your own experiments and write papers.", source)
    assert right[0] > moved[0]


def test_training_on_a_small_seeded_sample_reproduces_the_same_file(embedder, tmp_path):
    from eval.train_grounding import train

    data = yaml.safe_load((REPO / "eval" / "gold" / "support_labels.yaml").read_text())
    small = {"passages": [p for p in data["passages"] if p["split"] == "dev"][:3]
             + [p for p in data["passages"] if p["split"] == "test"][:3]}
    labels = tmp_path / "labels.yaml"
    labels.write_text(yaml.safe_dump(small))
    runs = [train(embedder, corpus_dir=REPO / "corpus", labels_path=labels, seed=7, limit=25, date="2026-11-30")[0]
            for _ in range(2)]
    one, two = (m.to_json() for m in runs)
    assert one == two  # seeded and deterministic
    assert set(one) == set(json.loads(MODEL_FILE.read_text()))  # the same kind of file as the shipped one
    assert one["seed"] == 7 and one["claims"] >= 40 and one["made_by"].endswith("--limit 25")
    out = tmp_path / "g.json"
    out.write_text(json.dumps(one))
    assert GroundingModel.load(out).use == runs[0].use


def test_the_check_that_serves_is_the_better_one_on_the_dev_split(check):
    """Computed here, on the labels' dev split (where both thresholds were set). The trained
    check beat the scorer on dev until session 30 (0.829 against 0.792) and lost on test
    (0.743 against 0.818); since the scorer holds back copies turned round
    (tutor/contradiction.py) it is the better of the two on dev as well, so it alone serves.
    If the trained check comes out ahead again, this fails and says to reconsider."""
    ours = check["checker"]["balanced_accuracy"]["dev"]
    assert check["scorer"]["balanced_accuracy"]["dev"] >= ours
    assert check["counts"]["dev"]["supported"] > 50 and check["counts"]["dev"]["unsupported"] > 50
    assert check["counts"]["test"]["supported"] > 50 and check["counts"]["test"]["unsupported"] > 50


def test_the_runner_labels_get_their_split_from_the_file():
    labels = [{k: v for k, v in lab.items() if k != "split"} for lab in load_split_labels()]
    assert [lab["split"] for lab in with_splits(labels)] == [lab["split"] for lab in load_split_labels()]


@pytest.mark.parametrize("sentence", [
    "In months 5-6 of the industry track you build two production projects.",  # months 3-4
    "The freelance track spends months 1-2 setting up service offerings on Fiverr or Upwork.",  # months 3-4
])
def test_word_sharing_wrong_claims_are_rejected_where_the_scorer_accepts_them(sentence, checker, scorer):
    labels = [lab for lab in load_split_labels() if lab["sentence"] == sentence]
    assert len(labels) == 1 and not labels[0]["supported"]
    [theirs] = label_scores(scorer, labels)
    [ours] = label_scores(checker, labels)
    assert theirs >= SUPPORT_THRESHOLD  # the scorer serves it: its words and numbers are in the passage
    assert ours < checker.threshold


@pytest.mark.parametrize("sentence", [
    "You need calculus and prior ML experience before week 1 of Roadmap A.",  # "You do not need"
    "In the original GAN paper, the generator is trained with Markov chain sampling.",  # "no Markov chains"
])
def test_a_dropped_negation_is_rejected_by_both(sentence, checker, scorer):
    """The scorer served these until session 30; it now reads the negation they drop
    (tutor/contradiction.py), as the trained check did."""
    labels = [lab for lab in load_split_labels() if lab["sentence"] == sentence]
    assert len(labels) == 1 and not labels[0]["supported"]
    [theirs] = label_scores(scorer, labels)
    [ours] = label_scores(checker, labels)
    assert theirs < SUPPORT_THRESHOLD and ours < checker.threshold


def test_the_scorer_reads_numbers_written_as_words(scorer):
    """"AlexNet was trained on a single GPU" was served (session 21) where the source says "a
    split across two GPUs": the scorer's number check saw digits only. On the labels this
    fixed five wrong counts ("one of the six career paths", "four common mistakes") and broke
    none (balanced accuracy dev 0.747 -> 0.753, test 0.766 -> 0.795)."""
    from tutor.text import numbers_in

    assert numbers_in("two GPUs, 8 weeks and a single model") == ["8", "2", "1"]
    assert numbers_in("one of the first papers", claim=True) == []  # "one" in a claim is rarely a count
    alexnet = Chunk("paper-alexnet#1", "paper-alexnet", "AlexNet is a deep convolutional network (five "
                    "convolutional and three fully connected layers) trained on raw pixels, with a split "
                    "across two GPUs and dropout.", "Paper AlexNet, key idea", "paper", "test")

    def served(sentence):
        return scorer.score_sentences(sentence, [alexnet])[0].supported

    assert not served("AlexNet was trained on a single GPU [1].")
    assert not served("AlexNet has four convolutional layers [1].")
    assert served("AlexNet was split across two GPUs [1].") and served("AlexNet was split across 2 GPUs [1].")
    assert served("AlexNet is one of the first deep convolutional networks trained on raw pixels [1].")


def test_a_sentence_without_a_marker_is_credited_to_the_source_that_holds_it(scorer):
    """"who came up with dropout" was served "Dropout was introduced by Srivastava, ... in
    2014." with no marker, and the scorer credited the source most like it, the concept page,
    which names no author; the learner's citation now leads to the paper's summary."""
    concept = Chunk("concept-dropout#0", "concept-dropout", "Dropout is a regularisation technique that "
                    "randomly switches off a fraction of a neural network's units during each training step. "
                    "It reduces overfitting, especially in large fully connected layers.", "Dropout", "concept", "t")
    paper = Chunk("paper-dropout#4", "paper-dropout", "It builds on the stage 1 ideas of regularization and "
                  "the bias-variance trade-off. The paper was published in 2014 by Srivastava, Hinton, "
                  "Krizhevsky, Sutskever and Salakhutdinov.", "Paper Dropout: where it fits", "paper", "t")
    said = "Dropout was introduced by Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov in 2014."
    [scored] = scorer.score_sentences(said, [concept, paper])
    assert scored.supported and scored.chunk_id == "paper-dropout#4", scored
    [scored] = scorer.score_sentences("Dropout randomly switches off units during training.", [concept, paper])
    assert scored.chunk_id == "concept-dropout#0", scored


def test_the_scorer_rejects_a_name_its_source_does_not_hold(scorer):
    """The support scorer passed sentences with the source's words and one name it never
    holds: "Stage 2 of Roadmap A teaches neural networks in JAX", "Stage 1 centres on
    PyTorch", "The Random Forests paper was written by Breiman" (hand labels, all false). A
    name now counts like a number; on the labels: dev 0.753 -> 0.786, test 0.795 -> 0.818."""
    from tutor.support import missing_names

    stage2 = Chunk("stage-2#0", "stage-2", "Stage 2 of Roadmap A teaches neural networks in PyTorch and "
                   "TensorFlow, and RNNs and LSTM versus GRU in natural language processing.",
                   "Stage 2 (Deep Learning Fundamentals, weeks 9-16)", "roadmap", "t")
    assert missing_names("Stage 2 of Roadmap A teaches neural networks in JAX.", stage2.embed_text) == ["jax"]
    # plurals, acronyms of the source's words, and a label's opening word are no names to find
    assert missing_names("It covers LSTMs and NLP in PyTorch.", stage2.embed_text) == []
    assert missing_names("- **Weeks 9-16**: Learn PyTorch.", stage2.embed_text) == []
    [jax] = scorer.score_sentences("Stage 2 of Roadmap A teaches neural networks in JAX [1].", [stage2])
    [torch] = scorer.score_sentences("Stage 2 of Roadmap A teaches neural networks in PyTorch [1].", [stage2])
    assert torch.supported and not jax.supported, (torch, jax)
    # what the prompt's heading line calls a source is shown too: 'FAQ "How many hours ..."'
    faq = Chunk("faq-hours#0", "faq-hours", "Both roadmaps assume 15-20 hours a week.",
                "How many hours a week should I study?", "faq", "t")
    [said] = scorer.score_sentences("According to the FAQ, you should study 15-20 hours per week [1].", [faq])
    assert said.supported, said


def test_a_side_clause_must_be_said_of_the_word_it_follows(scorer):
    """Run 25's m-22 served "Months 1-3 of this track go to mathematics, which is a
    prerequisite for the research track" (0.7): the statistics page says "prerequisite" and
    "research track", of statistics. A side clause a statement says of its word stays."""
    from tutor.support import side_clause_unstated

    track = Chunk("faq-research-track#0", "faq-research-track",
                  "Roadmap B's research track spends months 1-3 on maths, months 4-8 implementing recent papers, "
                  "and months 9-12 on your own experiments and papers.", "Research track", "faq", "t")
    statistics = Chunk("concept-statistics#0", "concept-statistics",
                       "Introductory statistics (mean, variance, distributions) is a Roadmap A prerequisite, and "
                       "Roadmap B's research track lists statistics as a key emphasis.", "Statistics", "concept", "t")
    wrong = "Months 1-3 of this track go to mathematics, which is a prerequisite for the research track [1]."
    [bad] = scorer.score_sentences(wrong, [track, statistics])
    [good] = scorer.score_sentences("Months 1-3 of the research track go to maths [1].", [track, statistics])
    assert good.supported and not bad.supported, (good, bad)
    assert side_clause_unstated(strip_markers(wrong), [track.text, statistics.text])
    assert not side_clause_unstated("You learn statistics, which is a Roadmap A prerequisite.", [statistics.text])
    assert not side_clause_unstated("Every pre-trained Transformer comes with its own tokenizer, which must be reused.",
                                    ["Every pre-trained Transformer comes with its own tokenizer, which must be "
                                     "reused exactly when fine-tuning."])


def test_a_sentence_its_side_clause_cost_is_served_without_it(make_app):
    """Run 26 held back m-22's whole "Months 1-3 of this track go to mathematics, which is a
    prerequisite for the research track." and lost its two facts; the sentence without the
    clause is checked again and served, the sentence as written listed as held back."""
    from tests.fixtures_tutor import chat_done

    draft = ("Roadmap B's research track spends months 1-3 on maths [1]. Months 1-3 of this track go to "
             "mathematics, which is a prerequisite for the research track [1].")
    done = chat_done(make_app, "what do the first three months of the research track look like?", draft)
    assert "Months 1-3 of this track go to mathematics [" in done["answer"], done
    assert "prerequisite" not in done["answer"], done
    assert any("which is a prerequisite" in s for s in done["held_back"]), done


def test_a_condition_must_be_stated_by_the_sources_not_asked(scorer):
    """Run 16 served "If you are comfortable finding clients and managing your own income,
    research suits people who love maths and writing" (scored 0.97): the FAQ asks the first
    half as a question about freelance and states the second about research. A condition a
    statement of the sources holds, with what follows from it, stays supported."""
    from tutor.support import condition_unstated

    tracks = Chunk("faq-which-track#2", "faq-which-track",
                   "Do you enjoy shipping reliable systems, or asking open questions with uncertain answers? "
                   "Are you comfortable finding clients and managing your own income? Research suits people "
                   "who love maths and writing, and leads towards entry-level AI researcher roles. Freelance "
                   "suits people with a clear niche and business skills.",
                   "Should I follow the industry, research or freelance track?", "faq", "t")
    joined = ("If you are comfortable finding clients and managing your own income, research suits people "
              "who love maths and writing, and leads towards entry-level AI researcher roles [1].")
    [bad] = scorer.score_sentences(joined, [tracks])
    [good] = scorer.score_sentences("Research suits people who love maths and writing [1].", [tracks])
    assert good.supported and not bad.supported, (good, bad)
    assert condition_unstated(strip_markers(joined), [tracks.embed_text])
    # the same words as a statement, and a condition stated with its consequence, hold
    freelance = Chunk("faq-freelance-track#1", "faq-freelance-track",
                      "Freelancing suits people comfortable with sales and uncertain income. If you want "
                      "mentorship and structured growth, the industry track may suit you better at first.",
                      "Is the freelance track right for me?", "faq", "t")
    [kept] = scorer.score_sentences("If you want mentorship and structured growth, the industry track may suit "
                                    "you better at first [1].", [freelance])
    assert kept.supported, kept
    assert not condition_unstated("When fine-tuning, reuse the model's own tokenizer.",
                                  ["Every pre-trained Transformer comes with its own tokenizer, which must be "
                                   "reused exactly when fine-tuning."])
