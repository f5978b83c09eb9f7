""""When do I learn X?" answered with the plan's weeks (tutor/concept_weeks.py): asked about
BERT and shown stage 3's plan items for weeks 21-22 and 23-24, the packaged model answered
"You learn about BERT in the second week of stage 3"."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.when_weeks import load_questions, spans_of
from tests.fixtures_tutor import chat_done, served_on_every_interface
from tutor.concept_weeks import as_titled
from tutor.roadmap import load_roadmap
from tutor.routing import title_parts
from tutor.spans import weeks_claimed
from tutor.text import plan_items

ROADMAP = load_roadmap(Path(__file__).resolve().parent.parent / "corpus" / "roadmap.yaml")


@pytest.mark.parametrize("sentence, claimed", [
    ("You learn about BERT in the second week of stage 3 (Advanced Architectures and NLP, weeks 17-24, 8 weeks) [2].",
     [(18, 18)]),  # the stage's whole span only names it; the counted week is the claim
    ("Dropout is covered in weeks 11-12 [1].", [(11, 12)]),
    ("It comes in the last two weeks of stage 2.", [(15, 16)]),
    ("Stage 3 runs weeks 17-24.", []),
    ("BERT is part of stage 3.", []),
    ("We learn Transformers in Weeks 19-20 and 21-22 of Stage 3 [1].", [(19, 20), (21, 22)]),
])
def test_the_weeks_a_sentence_places_something_in(sentence, claimed):
    assert weeks_claimed(sentence, ROADMAP) == claimed


@pytest.mark.parametrize("title, parts", [
    ("LSTM and GRU", ["LSTM", "GRU"]),  # the plan says "LSTM versus GRU"
    ("TensorFlow and Keras", ["TensorFlow"]),  # "TensorFlow/Keras"
    ("Data and model versioning", ["model versioning"]),  # not "Data"
    ("Distributed and multi-GPU training", ["multi-GPU training"]),  # not "Distributed"
    ("BERT", []),
    ("Diffusion models", ["Diffusion"]),  # the plan lists "(VAE, GAN, diffusion)"
    ("GPT-style language models", ["GPT"]),  # the plan lists "the BERT, GPT and T5 model families"
])
def test_a_concept_is_named_by_the_parts_of_its_title_that_are_names(title, parts):
    assert title_parts(title) == parts


def test_plan_items_are_read_with_their_spans():
    text = "- Weeks 21-22: The Hugging Face course.\n- Weeks 23-24: The stage 3 milestone.\nMore."
    assert [(u, a, b) for u, a, b, _ in plan_items(text)] == [("week", 21, 22), ("week", 23, 24)]


@pytest.mark.parametrize("words, title, written", [
    ("bert", "BERT", "BERT"), ("lstm and gru", "LSTM and GRU", "LSTM and GRU"),
    ("transfer learning", "Transfer learning", "transfer learning"),  # not a name's capital
    ("CNNs", "Convolutional neural networks", "CNNs"),
    ("the vision transformer", "Vision Transformer", "the Vision Transformer"),  # its article kept
    ("the attention", "Attention mechanism", "attention"),  # of "the attention paper"
])
def test_the_concept_is_written_as_the_question_words_it_or_as_its_name(words, title, written):
    assert as_titled(words, title) == written


@pytest.mark.parametrize("wrong", [
    "You learn about BERT in the second week of stage 3 [1].",
    # served so in session 33: the stage's whole span says nothing of when in it
    "You learn about BERT in the second week of stage 3 (Advanced Architectures and NLP, weeks 17-24, 8 weeks) [1].",
])
def test_a_wrong_week_gives_way_to_the_plans_weeks_which_open_the_answer(make_app, wrong):
    done = chat_done(make_app, "when do I learn about BERT?", f"{wrong} BERT is an encoder-only Transformer [2].")
    first = done["answer"].split("\n\n")[0]
    assert first.startswith("The roadmap's plan covers BERT in weeks 21-22 and 23-24 of stage 3 ["), done
    assert "second week" not in done["answer"]
    assert any("second week" in s for s in done["held_back"]), done
    cited = {c["n"]: c["chunk_id"] for c in done["citations"]}
    assert cited[int(first.split("[")[1][0])].startswith("stage-3#"), cited


def test_an_answer_without_the_weeks_gets_them_and_keeps_what_it_says(make_app):
    done = chat_done(make_app, "when do i learn LSTM and GRU?",
                     "LSTM and GRU cells add gates that decide what to keep [1].")
    assert done["answer"].startswith("The roadmap's plan covers LSTM and GRU in weeks 17-18 of stage 3 ["), done
    assert "add gates" in done["answer"], done


@pytest.mark.parametrize("question, draft", [
    ("when do I learn dropout?", "Dropout comes in weeks 11-12 of stage 2 [1]."),  # says them already
    # not a "when" question (and the definition stated, tutor/definition.py)
    ("what is BERT?", "BERT is an encoder-only Transformer pre-trained by predicting masked words, then fine-tuned "
                      "for tasks such as classification [1]."),
])
def test_nothing_is_added_where_the_weeks_are_stated_or_not_asked(make_app, question, draft):
    app, _, _ = make_app(lambda m: draft)
    done = served_on_every_interface(app, question)
    assert "The roadmap's plan covers" not in done["answer"], done


def test_the_probe_questions_weeks_are_the_plans():
    """Every hand-written span in eval/gold/when_questions.yaml is a span of the plan's items
    in the stage given, so the probe reads against the plan, not a typo."""
    items = {(s.id, b.weeks) for s in ROADMAP.stages for b in s.week_plan}
    questions = load_questions()
    assert len(questions) >= 30 and {q["split"] for q in questions} == {"dev", "test"}
    for q in questions:
        assert all((q["stage"], span) in items for span in spans_of(q)), q


def test_part_of_the_weeks_gives_way_to_all_of_them(make_app):
    done = chat_done(make_app, "when do i get to random forests",
                     "You get to Random Forests in Week 6 of Stage 1 [1].")
    assert done["answer"].startswith("The roadmap's plan covers Random Forests in weeks 5-6 of stage 1 ["), done
    assert done["held_back"] == ["You get to Random Forests in Week 6 of Stage 1."], done


def test_a_wider_span_is_not_the_weeks(make_app):
    """Served in session 33's probe: FastAPI is in weeks 25-27."""
    done = chat_done(make_app, "when do I learn FastAPI?", "You learn FastAPI in Weeks 25-30 of stage 4 [1].")
    assert done["answer"] == "The roadmap's plan covers FastAPI in weeks 25-27 of stage 4 [1].", done


def test_weeks_stated_beside_others_give_way_too(make_app):
    """Served in session 33's second read: weeks 21-22 hold the Vision Transformer, not the
    Transformer architecture."""
    done = chat_done(make_app, "when do we learn transformers?",
                     "We learn Transformers in Weeks 19-20 and 21-22 of Stage 3 [1].")
    assert done["answer"] == "The roadmap's plan covers transformers in weeks 19-20 of stage 3 [1].", done


def test_a_sentence_with_one_of_the_spans_stays_beside_the_whole(make_app):
    done = chat_done(make_app, "when do I learn about BERT?",
                     "BERT comes with the Hugging Face course in weeks 21-22 [1].")
    assert done["answer"].split("\n\n") == ["The roadmap's plan covers BERT in weeks 21-22 and 23-24 of stage 3 [1].",
                                             "BERT comes with the Hugging Face course in weeks 21-22 [1]."], done


def test_the_weeks_said_another_way_are_stated(make_app):
    done = chat_done(make_app, "When will I study PCA?", "PCA is studied in weeks 7 and 8 of stage 1 [1].")
    assert done["answer"] == "PCA is studied in weeks 7 and 8 of stage 1 [1].", done


def test_a_draft_the_sources_do_not_back_gives_way_to_the_plans_weeks(make_app):
    """Served withdrawn in session 33's probe: "which weeks cover gradient boosting?"."""
    done = chat_done(make_app, "which weeks cover gradient boosting?",
                     "Gradient boosting is covered in the third month of the Kaggle track [1]. "
                     "It was invented by Leo Breiman at Stanford in 1987 [1].")
    assert done["answer"] == "The roadmap's plan covers gradient boosting in weeks 5-6 of stage 1 [1].", done
    assert not done["withdrawn"] and len(done["held_back"]) == 2, done


def test_a_sentence_placing_two_asked_concepts_wrong_is_held_back_once(make_app):
    done = chat_done(make_app, "when do I learn kubernetes and docker?",
                     "You learn Kubernetes and Docker in weeks 31-33 [1].")
    assert done["answer"].split("\n\n")[:2] == ["The roadmap's plan covers kubernetes in weeks 28-30 of stage 4 [1].",
                                                 "The roadmap's plan covers docker in weeks 25-27 of stage 4 [1]."], done
    assert done["held_back"] == ["You learn Kubernetes and Docker in weeks 31-33."], done


def test_concepts_in_the_same_weeks_share_one_sentence(make_app):
    done = chat_done(make_app, "which weeks cover clustering and PCA?", "They come late in stage 1 [1].")
    assert done["answer"].startswith("The roadmap's plan covers clustering and PCA in weeks 7-8 of stage 1 ["), done
    assert done["answer"].count("The roadmap's plan covers") == 1, done


def test_gpt_is_named_by_its_acronym(make_app):
    """Served in session 33's last read: "when do i learn about GPT" was shown the FAQs on
    where to start and the calculus page, and answered with calculus."""
    done = chat_done(make_app, "when do i learn about GPT", "Calculus is part of stage 1 [1].")
    assert done["answer"].startswith("The roadmap's plan covers GPT in weeks 21-22 of stage 3 ["), done


def test_at_what_point_asks_when(make_app):
    done = chat_done(make_app, "at what point do we cover dropout?", "Dropout is a regularisation technique [1].")
    assert done["answer"].startswith("The roadmap's plan covers dropout in weeks 11-12 of stage 2 ["), done


def test_a_name_with_hyphens_is_named_with_spaces_too(make_app):
    done = chat_done(make_app, "when do I get to sequence to sequence models",
                     "You get to them in stage 3 [1].")
    assert "in weeks 17-18 of stage 3" in done["answer"], done


@pytest.mark.parametrize("question, said", [
    ("when do i learn batch normalization?", "batch normalization"),  # "Batch normalisation"
    ("when do we get to k nearest neighbors?", "k nearest neighbors"),  # "k-nearest neighbours"
])
def test_a_concept_is_named_in_its_american_spelling_too(make_app, question, said):
    done = chat_done(make_app, question, "You learn it in stage 2 [1].")
    assert done["answer"].startswith(f"The roadmap's plan covers {said} in weeks "), done


def test_when_asked_in_a_second_part_is_asked_too(make_app):
    """Read in a served answer: "what is batch normalization and when do I learn it?" was
    shown the concept and paper pages only and answered "in the second stage", no weeks."""
    from tutor.routing import _ASKS_WHEN

    done = chat_done(make_app, "what is batch normalization and when do I learn it?",
                     "Batch normalisation normalises a layer's activations [1].")
    assert done["answer"].startswith("The roadmap's plan covers batch normalization in weeks 11-12 of stage 2 ["), done
    assert not _ASKS_WHEN.search("why reuse the tokenizer when fine-tuning?")
