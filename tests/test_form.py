"""Answers that read like a tutor wrote them: tutor/form.py names and repairs what cutting
unsupported sentences leaves behind (the forms learners met in full eval runs)."""

from __future__ import annotations

import pytest

from tutor.form import named_again, problems, tidy, untied
from tutor.text import sentences, strip_markers

BROKEN = {
    "numbering gap": "The steps:\n3. Train a model [1].\n5. Evaluate it [1].\n6. Ship it [2].",
    "question pasted in": "- [3] How many hours a week should I study machine learning? Practice debugging daily [3].",
    "heading over nothing": "Stage 1 lasts 8 weeks [1].\n\nResources:",
    "unfinished": "Stage 1 lasts 8 weeks [1]. Its milestone is to build and evaluate",
    "empty bullet": "Stage 1 lasts 8 weeks [1].\n- [2]\n- Kaggle Learn [2]",
    "two headings": "**Milestone**\n\n**Resources**\nKaggle Learn is a platform [1].",
    "fence echoed": "Freelancing is one of Roadmap B's three tracks [1]. <data></data>",
    # run 12 (session 22): the research track's month plan was served with this last line
    "sources line": "- Months 1-3: Mathematics [1].\n- Months 4-8: Implement recent papers [1].\nSources: [1]",
    # run 17 (session 28): the token cap cut the last item of a numbered list mid-sentence
    "list item cut": "1. Impact: ML work only has impact if others trust it [1].\n2. Research: Writing is how work is"
                     " judged [1]. This is why writing is more important",
}


@pytest.mark.parametrize("name", BROKEN)
def test_each_broken_form_is_named_and_repaired(name):
    text = BROKEN[name]
    assert problems(text), name
    repaired = tidy(text)
    assert repaired and not problems(repaired), (name, repaired)


def test_repairs_keep_the_words_and_renumber():
    assert tidy(BROKEN["numbering gap"]) == "The steps:\n1. Train a model [1].\n2. Evaluate it [1].\n3. Ship it [2]."
    assert tidy(BROKEN["question pasted in"]) == "Practice debugging daily [3]."
    assert tidy(BROKEN["fence echoed"]) == "Freelancing is one of Roadmap B's three tracks [1]."
    assert tidy(BROKEN["unfinished"]) == "Stage 1 lasts 8 weeks [1]."
    assert tidy(BROKEN["sources line"]) == BROKEN["sources line"].rsplit("\n", 1)[0]
    assert tidy(BROKEN["list item cut"]) == BROKEN["list item cut"].rsplit(" This", 1)[0]


@pytest.mark.parametrize("text", [
    "Stage 2 runs weeks 9-16 [1].",
    "Stage 1 covers:\n1. Regression [1].\n2. Trees [1].",
    "Resources:\n- Kaggle Learn [1]\n- Hands-On Machine Learning [2]",
    "It ends with a list [1]:\n\n- item one [1]",
    "Resources:\n1. Kaggle Learn: free courses [1]\n2. Hands-On Machine Learning, 3rd edition [2]",
])
def test_good_answers_pass_unchanged(text):
    assert problems(text) == [] and tidy(text) == text


def test_echoed_fence_tags_are_gone_before_the_check_so_the_served_sentence_is_the_checked_one(fake_tutor):
    """Seen with the packaged model: "...at first. <data></data>[2]" was served as "...at
    first.[2]" while held_back listed it as cut (tidy changed it after its check)."""
    draft = "Freelancing is one of Roadmap B's three tracks [1]. <data></data>[1]"
    answer = fake_tutor(lambda m: draft).ask("Can I work as a freelance machine learning engineer?")
    assert "data>" not in answer.answer and answer.held_back == ()
    assert [s.sentence for s in answer.sentences] == ["Freelancing is one of Roadmap B's three tracks."]


def test_a_cut_answer_is_served_tidy(fake_tutor):
    """The support check cuts the unsupported item; what is served has no gap in its numbers."""
    draft = ("Stage 2 covers deep learning fundamentals with PyTorch [1].\n"
             "1. Graduates of stage 2 receive a gold medal from the Pope in week 97 [1].\n"
             "2. Stage 2 covers deep learning fundamentals [1].\n"
             "3. Stage 2 covers deep learning fundamentals with PyTorch [1].\nWhat does stage 2 cover?")
    answer = fake_tutor(lambda m: draft).ask("What does stage 2 cover?")
    assert not answer.refused and not problems(answer.answer), answer.answer
    assert "1. Stage 2 covers deep learning fundamentals [1].\n2. Stage 2" in answer.answer
    assert "What does stage 2 cover?" in answer.held_back


@pytest.mark.parametrize("text", [
    'Read the FAQ "I finished Transformers and NLP (stage 3).  ", which names stage 4 [1].',  # run 14, m-02
    'The FAQ says "finish the stage 3 milestone [1].',
])
def test_a_cut_quotation_is_named(text):
    assert any(p.startswith("quotation cut") for p in problems(text)), problems(text)


def test_a_quoted_faq_title_is_served_whole(fake_tutor):
    """Run 14's m-02: the model quoted an FAQ's title with a space before the closing mark;
    the question inside was dropped as a question, and what stood around it was served as
    two fragments ('FAQ "I finished ... (stage 3).  ", which states ...')."""
    draft = ('The FAQ "I finished Transformers and NLP (stage 3). What comes next? ", which says that after '
             'advanced architectures and NLP comes stage 4 of Roadmap A [1].')
    answer = fake_tutor(lambda m: draft).ask("Which stage follows Transformers and NLP?")
    assert not answer.refused and not problems(answer.answer), answer.answer
    assert '(stage 3). What comes next?", which says' in answer.answer, answer.answer
    assert [s.sentence for s in answer.sentences] == [strip_markers(answer.answer)]


def test_an_opening_tie_word_is_named():
    assert any(p.startswith("opens tied to nothing") for p in problems("However, boosting mainly reduces bias [1]."))
    assert problems("Bagging reduces variance [1]. However, boosting mainly reduces bias [1].") == []
    # run 16's week-3 answer went on "Specifically, you should be learning about ..."
    assert untied("Specifically, you should be learning about cross-validation.") == \
        "You should be learning about cross-validation."


def test_a_sentence_after_a_cut_one_loses_its_tie_word(fake_tutor):
    """Session 24: "explain the bias variance tradeoff" was served a "However, ..." whose
    lead-in the support check had held back."""
    draft = ("The bias-variance trade-off explains model error as a balance between bias and variance [1]. "
             "Graduates of stage 2 receive a gold medal from the Pope in week 97 [1]. "
             "However, ensembles such as Random Forests reduce variance, while boosting mainly reduces bias [1].")
    answer = fake_tutor(lambda m: draft).ask("explain the bias variance tradeoff")
    assert not answer.refused and "Pope" not in answer.answer, answer.answer
    assert "[1]. Ensembles such as Random Forests reduce variance" in answer.answer, answer.answer
    assert "However" not in answer.answer and not problems(answer.answer)
    # what is served is what was checked, and the untied sentence keeps its citation
    assert [s.sentence for s in answer.sentences] == [strip_markers(s) for s in sentences(answer.answer)]
    assert [c.chunk_id for c in answer.citations] == ["concept-bias-variance#0"]


@pytest.mark.parametrize("draft, cut, named", [
    # the verdict named what "It" took up
    ("Yes, the math in stage 1 is hard. It covers algebra and calculus [1].", "Yes, the math in stage 1 is hard.",
     "The math in stage 1 covers algebra and calculus [1]."),
    # run 17's a-stage-14 was served "It is a critical component of ..." after its lead-in went
    ("Kubernetes is essential for orchestration. It's a nice-to-have tool [1].",
     "Kubernetes is essential for orchestration.", "Kubernetes is a nice-to-have tool [1]."),
    ("RNNs and LSTMs are still worth learning. They come before Transformers [2].",
     "RNNs and LSTMs are still worth learning.", "RNNs and LSTMs come before Transformers [2]."),
    ("Stage 1 is hard.\n- It covers algebra [1].", "Stage 1 is hard.", "- Stage 1 covers algebra [1]."),
])
def test_a_pronoun_whose_sentence_was_cut_gets_its_name(draft, cut, named):
    text, changed = named_again(draft, {cut})
    assert text == draft.replace(draft[len(cut):].strip(), named) and list(changed.values()) == [strip_markers(named)]


@pytest.mark.parametrize("draft, cut", [
    # which of the two "It" took up, the stage or linear algebra, is not said
    ("Stage 1 covers linear algebra. It takes 8 weeks [1].", "Stage 1 covers linear algebra."),
    # "This" and "These" take up what was said
    ("The math is hard. This means you should practise [1].", "The math is hard."),
    # any verb in -s after "This" (session 30 served "This reduces the variance ..." dangling)
    ("Bagging averages many trees. This reduces the variance [1].", "Bagging averages many trees."),
    ("Stage 1 covers algebra and calculus. These are fundamental [1].", "Stage 1 covers algebra and calculus."),
    ("Dropout is a technique. They are used in stage 2 [1].", "Dropout is a technique."),  # not the one it names
])
def test_a_pronoun_nothing_names_unambiguously_goes_with_its_sentence(draft, cut):
    text, changed = named_again(draft, {cut})
    assert text == draft and list(changed.values()) == [""]


@pytest.mark.parametrize("draft, cut", [
    ("Stage 1 runs 8 weeks [1]. It is hard. It covers algebra [1].", "It is hard."),  # still takes up stage 1
    ("RNNs are old. It is important to learn them [1].", "RNNs are old."),  # "it" holds no place
    ("The math is hard. This stage covers algebra [1].", "The math is hard."),  # names its noun
    ("The math is hard. This process takes weeks [1].", "The math is hard."),  # a noun in -ss
    ("Models overfit. This bias matters [1].", "Models overfit."),  # a noun in -as
    ("Stage 1 is hard. Its milestone is a Kaggle project [1].", "Stage 1 is hard."),
])
def test_a_sentence_that_still_reads_is_left_alone(draft, cut):
    assert named_again(draft, {cut}) == (draft, {})


def test_a_demonstrative_the_question_does_not_name_goes_with_its_sentence():
    """Run 19 (session 31) served "This extra step turns the stage 2 milestone into a first
    portfolio piece." alone, the sentence naming the step (a REST API) held back."""
    question = "how do I turn my stage 2 classifier into something worth putting in a portfolio?"
    draft = "Serve it as a REST API. This extra step turns the stage 2 milestone into a first portfolio piece [2]."
    assert named_again(draft, {"Serve it as a REST API."}, question)[1] == {
        "This extra step turns the stage 2 milestone into a first portfolio piece.": ""}
    # its verb is not what it points with: "This course covers ..." was served after the
    # sentence naming the course was cut, to a question asking which weeks cover attention
    draft = "The Hugging Face course is next. This course covers tokenization [1]."
    assert named_again(draft, {"The Hugging Face course is next."}, "what is attention and which weeks cover it?")[1] \
        == {"This course covers tokenization.": ""}
    # the question names the stage the demonstrative points with: it still reads
    draft = "The math is hard. This stage covers algebra [1]."
    assert named_again(draft, {"The math is hard."}, "is the math in stage 1 hard?") == (draft, {})


def test_a_sentence_after_a_cut_one_is_served_naming_what_it_is_about(fake_tutor):
    """"is the math in stage 1 hard?" was served "It covers a range of topics ..." after "Yes,
    the math in stage 1 is hard." was held back. What is served is what was checked: the
    sentence is scored again as named."""
    draft = ("Yes, the math in stage 1 is hard. It covers foundations and classical machine learning in weeks 1-8. "
             "Stage 1 runs 8 weeks.")
    answer = fake_tutor(lambda m: draft).ask("is the math in stage 1 hard?")
    assert answer.held_back == ("Yes, the math in stage 1 is hard.",) and not answer.withdrawn, answer.answer
    assert answer.answer.startswith("The math in stage 1 covers foundations and classical machine learning in "
                                    "weeks 1-8 [")
    assert [s.sentence for s in answer.sentences] == [strip_markers(s) for s in sentences(answer.answer)]
    # a bare pronoun sentence that claims nothing is not scored, so it stays (and the naming ends)
    answer = fake_tutor(lambda m: "Yes, the math in stage 1 is hard. This is it. Stage 1 runs 8 weeks.").ask(
        "is the math in stage 1 hard?")
    assert answer.held_back == ("Yes, the math in stage 1 is hard.",), answer.answer
    # the packaged model's draft (session 30) is withdrawn: kept as written and as scored
    draft = ("Yes, the math in stage 1 is hard. It covers a range of topics including algebra, calculus, and linear "
             "algebra, which are fundamental for understanding machine learning algorithms. The course is structured "
             "to provide a solid foundation in these areas, preparing learners for more advanced topics in machine "
             "learning.")
    answer = fake_tutor(lambda m: draft).ask("is the math in stage 1 hard?")
    assert answer.withdrawn == draft and answer.sentences[1].sentence.startswith("It covers a range"), answer.answer
