"""A "Yes" or "No" to a question that offers alternatives (tutor/alternatives.py): "Does stage
2 use pytorch or tensorflow?" was served "Yes, stage 2 uses TensorFlow [1]." though stage 2
teaches both."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.fixtures_tutor import chat_done, sse_events
from tutor.alternatives import alternatives, is_verdict, names_both, plain_verdicts


@pytest.mark.parametrize("question, pair", [
    ("Does stage 2 use pytorch or tensorflow?", ("pytorch", "tensorflow")),
    ("Is stage 1 eight or twelve weeks long?", ("eight", "twelve")),
    ("Should I learn PyTorch or TensorFlow first?", ("pytorch", "tensorflow")),
    ("Is MLflow hosted or self-hosted?", ("hosted", "self-hosted")),
    ("Which should I learn, PyTorch or TensorFlow?", None),  # not worded yes/no: the model picks
    ("Is there a quiz or not?", None),  # "not" names nothing
    ("Does dropout stay on or off at inference?", None),  # "on" is in "rely on" too
    ("What is the difference between L1 or L2?", None),
    ("Is dropout in stage 1 or stage 2?", ("stage 1", "stage 2")),  # phrases that share a word
    ("Does the research track or the industry track fit an ML engineer?", ("research track", "industry track")),
    ("Is stage 3 about NLP or computer vision?", ("nlp", "computer")),
])
def test_the_alternatives_a_yes_no_question_offers(question, pair):
    assert alternatives(question) == pair


def test_verdicts_and_naming_both():
    assert is_verdict("Yes, stage 2 uses TensorFlow [1].") and is_verdict("No. It is 8 weeks.")
    assert not is_verdict("Yesterday's models ...") and not is_verdict("Stage 2 uses both.")
    assert names_both("Stage 1 takes eight weeks and stage 4 takes 12.", ("eight", "twelve"))  # digits count
    assert not names_both("TensorFlow-Keras is stage 2's framework.", ("tensorflow", "keras"))


def test_the_verdict_gives_way_to_the_source_sentence_naming_both(make_app):
    question = "Does stage 2 use pytorch or tensorflow?"
    app, _, _ = make_app(lambda m: "Yes, stage 2 uses TensorFlow [1].")
    with TestClient(app) as client:
        done = sse_events(client.post("/api/chat", json={"message": question}).text)[-1][1]
        stream = client.post("/v1/chat/completions", json={
            "stream": True, "messages": [{"role": "user", "content": question}]}).text
    assert not done["answer"].startswith("Yes"), done["answer"]
    assert "TensorFlow together with PyTorch" in done["answer"], done["answer"]
    assert done["held_back"] == ["Yes, stage 2 uses TensorFlow."]
    assert done["citations"] and done["citations"][0]["chunk_id"].startswith("concept-tensorflow")
    # streamed /v1 cannot take back its deltas: the added sentence and the note come last
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                   for line in stream.splitlines() if line.startswith("data: {"))
    assert text.index("TensorFlow together with PyTorch") < text.index("Left out of the checked answer")


def test_a_right_pick_is_left_as_it_is(make_app):
    """Answered without a verdict, nothing is added: "Is stage 1 eight or twelve weeks
    long?" answered "eight weeks" got the sentence on every stage's length beside it."""
    app, _, _ = make_app(lambda m: "Stage 1 is eight weeks long [1].")
    with TestClient(app) as client:
        done = sse_events(client.post("/api/chat", json={"message": "Is stage 1 eight or twelve weeks long?"}).text)[-1][1]
    assert "twelve" not in done["answer"] and not done["held_back"], done


def test_the_sentence_added_names_what_else_the_question_names(make_app):
    """"Is stage 3 about NLP or computer vision?" got Roadmap B's sentence on Q3 and Q4 (it
    names NLP and computer vision, not stage 3) in place of a right "Yes, stage 3 focuses
    on NLP" (session 23's reading)."""
    app, _, _ = make_app(lambda m: "Yes, stage 3 focuses on NLP [1].")
    with TestClient(app) as client:
        done = sse_events(client.post("/api/chat", json={"message": "Is stage 3 about NLP or computer vision?"}).text)[-1][1]
    assert "Q4" not in done["answer"], done["answer"]
    for sentence in done["answer"].split("\n\n")[1:]:
        assert "3" in sentence, done["answer"]


def test_a_pick_the_sources_contradict_gives_way_to_theirs(make_app):
    """The packaged model answered "Is dropout in stage 1 or stage 2?" with "Dropout is in
    stage 1 [1]." beside "Dropout is part of stage 2 (...)", and the support check passed it
    (session 24's reading; so were backpropagation and the research track)."""
    done = chat_done(make_app, "Is dropout in stage 1 or stage 2?", "Dropout is in stage 1 [1].")
    assert done["answer"].startswith("Dropout is part of stage 2"), done["answer"]
    assert done["held_back"] == ["Dropout is in stage 1."]
    assert [c["chunk_id"] for c in done["citations"]] == ["concept-dropout#0"]


def test_a_restated_either_or_gives_way_to_the_sources_pick(make_app):
    done = chat_done(make_app, "Does the research track or the industry track fit an ML engineer?",
                   "The research track or the industry track fits an ML engineer.")
    assert "industry track" in done["answer"] and "research track" not in done["answer"], done["answer"]
    assert "fits ML engineer" in done["answer"] and done["citations"], done


def test_a_pick_the_sources_agree_with_is_kept_with_its_other_sentences(make_app):
    draft = "Dropout is in stage 2 [1]. It builds on the stage 1 ideas of regularization [2]."
    done = chat_done(make_app, "Is dropout in stage 1 or stage 2?", draft)
    assert done["answer"] == draft and not done["held_back"], done



def test_a_source_that_prefers_one_alternative_picks_it(make_app):
    """"Is Kubernetes essential or nice-to-have?" was served "Kubernetes is essential ..."
    beside "its tool list puts Kubernetes under nice-to-have rather than essential"."""
    done = chat_done(make_app, "Is Kubernetes essential or nice-to-have?",
                   "Kubernetes is essential for orchestrating containers across a cluster [1].")
    assert "nice-to-have rather than essential" in done["answer"], done["answer"]
    assert done["held_back"] == ["Kubernetes is essential for orchestrating containers across a cluster."]


def test_a_verdict_opposite_to_the_faqs_short_answer_gives_way_to_it(make_app):
    """Served by the packaged model in session 28: "Yes, you need a degree to get an ML job."
    beside the short answer "Neither roadmap makes a degree a requirement", and the support
    check passed it (the words are the source's)."""
    done = chat_done(make_app, "Do I need a degree to get an ML job?",
                   "Yes, you need a degree to get an ML job [1]. Some roles and employers do expect formal "
                   "education, especially research positions [2].")
    # in the place of the verdict it replaces, first
    assert done["answer"].startswith("Neither roadmap makes a degree a requirement"), done["answer"]
    assert "\n\nSome roles and employers" in done["answer"], done["answer"]
    assert done["held_back"] == ["Yes, you need a degree to get an ML job."]
    assert any(c["chunk_id"].startswith("faq-do-i-need-a-degree") for c in done["citations"])


@pytest.mark.parametrize("question, draft", [
    # the FAQ's verdict, in the draft's words
    ("Do I need a degree to get an ML job?", "No, neither roadmap makes a degree a requirement [1]."),
    ("Should I do Kaggle competitions?", "Yes, Kaggle is useful, especially in stage 1 [1]."),
    # an either-or question: left to the other checks (a "Yes" whose sentence says no loses
    # its "Yes": test_a_yes_whose_sentence_says_no_is_served_without_it)
    ("Can I get an ML job without a degree?", "Yes, visible proof of work is the strongest evidence [1]."),
])
def test_a_verdict_the_faq_agrees_with_or_that_is_not_plain_is_kept(make_app, question, draft):
    from tutor.text import strip_markers

    done = chat_done(make_app, question, draft)
    assert strip_markers(done["answer"]) == strip_markers(draft) and not done["held_back"], done


@pytest.mark.parametrize("question, draft, served", [
    ("do I need a GPU for stage 2?", "Yes, you do not need a powerful GPU for stage 2 [1]. Cloud GPUs help [1].",
     "You do not need a powerful GPU for stage 2 [1]. Cloud GPUs help [1]."),
    ("do I need a GPU for stage 2?", "Yes, you need one for stage 2 [1].", "Yes, you need one for stage 2 [1]."),
    ("Don't I need a GPU for stage 2?", "Yes, you do not need one [1].", "Yes, you do not need one [1]."),
    ("what do I need for stage 2?", "Yes, you do not need a GPU [1].", "Yes, you do not need a GPU [1]."),
])
def test_a_yes_whose_sentence_says_no_is_dropped(question, draft, served):
    """Read among session 37's twenty served answers: "do I need a GPU for stage 2?" got "Yes,
    you do not need a powerful GPU for stage 2 [1]." Only a plain yes/no question's, and only
    a "Yes" its own sentence then negates."""
    assert plain_verdicts(draft, question) == served


@pytest.mark.parametrize("question, draft", [
    ("do I need a GPU for stage 2?", "Yes, you do not need a powerful GPU for stage 1 [1]."),
    # flipped_verdict leaves it be (its sense is not plain), and so its words are served plain
    ("Do I need a degree to get an ML job?", "Yes, you don't need a degree for engineering roles [1]."),
])
def test_a_yes_whose_sentence_says_no_is_served_without_it(make_app, question, draft):
    from tutor.text import strip_markers

    done = chat_done(make_app, question, draft)
    rest = strip_markers(draft)[len("Yes, "):]
    assert strip_markers(done["answer"]) == rest[0].upper() + rest[1:] and not done["held_back"], done
