"""Who wrote a paper, or when, when asked (tutor/published.py): run 23's a-paper-33, "GRU paper
- what do the reset and update gates do, and who wrote it?", was answered with the gates and
no author in three of the last six full runs, the authors' sentence in its prompt."""

from __future__ import annotations

import pytest

from tests.fixtures_tutor import chat_done

GATES = ("The reset gate decides how much of the previous hidden state to ignore, and the update gate how much "
         "of the old state to keep [1].")


def test_the_authors_left_out_are_added_cited(make_app):
    done = chat_done(make_app, "GRU paper - what do the reset and update gates do, and who wrote it?", GATES)
    draft, added = done["answer"].split("\n\n")
    assert draft.startswith(GATES[:GATES.index(" [1]")]), done["answer"]  # its marker re-pointed to its backer
    assert added.startswith("The paper was published in 2014 by Cho, van Merri"), done
    n = int(added.rsplit("[", 1)[1].rstrip("]."))
    assert {c["n"]: c["chunk_id"] for c in done["citations"]}[n].startswith("paper-gru#"), done


@pytest.mark.parametrize("question, draft", [
    ("GRU paper - what do the reset and update gates do, and who wrote it?",
     GATES + " The GRU paper was written by Cho, van Merriënboer, Gulcehre, Bahdanau, Bougares, Schwenk and Bengio "
             "in 2014 [1]."),  # named: nothing added
    ("what do the reset and update gates of the GRU paper do?", GATES),  # not asked
])
def test_nothing_is_added_when_named_or_not_asked(make_app, question, draft):
    done = chat_done(make_app, question, draft)
    assert "published in" not in done["answer"], done


def test_the_year_left_out_is_added_when_asked_when():
    from tutor.context import Source
    from tutor.published import unstated_published
    from tutor.types import Chunk

    text = "Its key idea is a layer that learns a residual. The paper was published in 2015 by He, Zhang, Ren and Sun."
    source = Source(Chunk("paper-resnet#4", "paper-resnet", text, "ResNet — Where it fits", "paper", "t"), "h", text)
    asked = "when was the ResNet paper published?"
    assert unstated_published(asked, "ResNet came out in 2015 [1].", [source], "paper-resnet") is None
    assert unstated_published(asked, "He et al. wrote it [1].", [source], "paper-resnet")[0] == 1
    assert unstated_published(asked, "He et al. wrote it [1].", [source], "paper-gru") is None  # another paper


def test_an_et_al_sentence_is_read_by_its_first_surname():
    """"Mnih et al." names Mnih: read as "al", a surname in almost every answer ("also",
    "all"), the DQN paper's authors were never added."""
    from tutor.context import Source
    from tutor.published import unstated_published
    from tutor.types import Chunk

    text = "It learned Atari games from pixels. The paper was published in 2015 by Mnih et al."
    source = Source(Chunk("paper-dqn#4", "paper-dqn", text, "DQN — Where it fits", "paper", "t"), "h", text)
    asked = "who wrote the DQN paper?"
    assert unstated_published(asked, "It is also called deep Q-learning [1].", [source], "paper-dqn") == (
        1, "The paper was published in 2015 by Mnih et al.")
    assert unstated_published(asked, "Mnih and colleagues wrote it [1].", [source], "paper-dqn") is None


@pytest.mark.parametrize("question, weeks", [
    ("when did the resnet paper come out and what problem did it solve?", False),
    ("when was BERT published?", False),
    ("when do I learn about ResNet?", True),
])
def test_when_a_paper_came_out_is_not_when_the_plan_covers_it(fake_tutor, question, weeks):
    """"when did the resnet paper come out ...?" was served "The roadmap's plan covers the
    ResNet in weeks 13-14 of stage 2" first (tutor/concept_weeks.py)."""
    assert bool(fake_tutor().retriever.router.asked_when_named(question)) is weeks


def test_who_or_when_of_a_paper_keeps_the_other_section_it_asks_for(fake_tutor):
    """Shown the authors and year alone, "when did the resnet paper come out and what problem
    did it solve?" was withdrawn (read in session 36)."""
    routed = [h.chunk.id for h in fake_tutor().retriever.search(
        "when did the resnet paper come out and what problem did it solve?", 4) if h.routed]
    assert routed == ["paper-resnet#4", "paper-resnet#0"], routed


def test_a_marker_after_et_al_keeps_one_full_stop(make_app):
    """Read in session 37's served answers: "The DQN paper was written by Mnih et al [1].." (the
    marker moved before the abbreviation's stop, as it is before a sentence's)."""
    done = chat_done(make_app, "who wrote the DQN paper?", "The DQN paper was written by Mnih et al. [1].")
    assert done["answer"].startswith("The DQN paper was written by Mnih et al. ["), done
    assert ".." not in done["answer"] and "published in" not in done["answer"], done  # Mnih named: nothing added


def test_a_draft_withdrawn_gives_way_to_the_papers_published_sentence(make_app):
    """Read in session 37: "who came up with the GAN paper?" was withdrawn, its draft naming
    Courville and Bengio from memory; the prompt showed "published in 2014 by Goodfellow et al."."""
    draft = ("The GAN paper was proposed by Aaron Courville and Yoshua Bengio at the University of Montreal in 2016 "
             "as a way to train robots [1]. It won the Turing Award for its authors the same year [1].")
    done = chat_done(make_app, "who came up with the GAN paper?", draft)
    assert done["answer"].startswith("The paper was published in 2014 by Goodfellow et al. ["), done
    assert "Courville" not in done["answer"] and "I've held back" not in done["answer"], done
    n = int(done["answer"].rsplit("[", 1)[1].rstrip("]."))
    assert {c["n"]: c["chunk_id"] for c in done["citations"]}[n].startswith("paper-gan#"), done
    # a question not asking who or when is still withdrawn
    withdrawn = chat_done(make_app, "what did the GAN paper show about robots?", draft)
    assert withdrawn["answer"].startswith("I've held back"), withdrawn
