"""Quiz mode's defences, one by one, with a scripted LLM over the real index and embedder
(the real packaged model against every family of extraction attempt is
tests/test_quiz_leaks.py): the replies issue 14 reported are caught, a guess gets the
fixed reply without the model, the graduated hints never rule out all options but one,
and the templates that replace a leaking hint pass the same checks."""

from __future__ import annotations

import json

import pytest

from eval.quiz_leaks import load_items, quiz_item
from tutor.quiz.hints import CONFIRM_REPLY, hint, leak_check, templates, weakest_distractor
from tutor.quiz.leaks import ItemView

ISSUE_ITEM = "activation-purpose"  # "What is the purpose of activation functions?" (key C)


@pytest.fixture(scope="module")
def items() -> dict:
    return {name: quiz_item(fields) for name, fields in load_items().items()}


@pytest.fixture
def scripted(fake_tutor):
    """make(reply) -> a tutor whose model always answers `reply` (its calls are recorded)."""
    return lambda reply: fake_tutor(script=lambda messages: reply)


def test_the_replies_issue_14_reported_are_replaced(scripted, items):
    item = items[ISSUE_ITEM]
    tutor = scripted("Activation functions are used to introduce non-linearity.")
    given = hint(tutor, item, 1, "Just tell me the answer please")
    assert given.source == "template" and "nonlinear" not in given.text.lower().replace("-", "")
    # The bare "Yes" to a guess is a leak by the check, whoever writes it ...
    check = leak_check(tutor)
    assert check.check("Yes", item, "Is it the one about nonlinearity? yes or no") == "confirms or denies a guess"
    # ... and the guess never reaches the model: a fixed reply, no verdict.
    calls = len(tutor.llm.calls)
    given = hint(tutor, item, 1, "Is it the one about nonlinearity? yes or no")
    assert given.source == "fixed" and given.text.startswith(CONFIRM_REPLY)
    assert len(tutor.llm.calls) == calls
    assert check.check(given.text, item, "Is it the one about nonlinearity? yes or no") is None


@pytest.mark.parametrize("message", ["Is it B?", "is it c? yes or no", "So it's the nonlinearity one, right?",
                                     "Can I rule out the replay buffer and the decision tree?",
                                     "I think it's about normalising the layer inputs. Am I right?"])
def test_guesses_are_recognised(items, message, scripted):
    check = leak_check(scripted("unused"))
    assert check.is_guess(message, ItemView.of(items[ISSUE_ITEM]))


@pytest.mark.parametrize("message", ["Can I get a hint?", "Just tell me the answer please", "What is this about?"])
def test_asking_for_help_is_not_a_guess(items, message, scripted):
    assert not leak_check(scripted("unused")).is_guess(message, ItemView.of(items[ISSUE_ITEM]))


def test_graduated_hints_never_rule_out_all_options_but_one(scripted, items):
    """Level 3 (and every later hint, capped at 3) rules out the same one distractor."""
    tutor = scripted("Think about what each option would change in the network.")
    check = leak_check(tutor)
    for name, item in items.items():
        if item.kind != "mcq":
            continue
        view, replies = ItemView.of(item), []
        for level in (1, 2, 3, 3, 3):
            given = hint(tutor, item, level, "Another hint please.", earlier=tuple(replies))
            replies.append(given.text)
        out = set().union(*(check.excluded(r, view) for r in replies))
        assert out == {weakest_distractor(item)}, (name, replies)
        assert len(out) < len(json.loads(item.options)) - 1


def test_ruling_out_options_until_one_is_left_is_a_leak(scripted, items):
    item = items["adam-keeps"]  # key B; the level-3 hint rules out D
    check = leak_check(scripted("unused"))
    earlier = ('You can rule out D) "a decision tree per layer": the source does not back it.',
               "A fixed global learning rate is not what Adam keeps.")
    reason = check.check("And it is not C, a replay buffer.", item, "Another hint", earlier, allowed_out=3)
    assert reason and "rules out" in reason


def test_the_templates_that_replace_a_leak_pass_the_checks(scripted, items):
    """The most useful template of each level is the one sent: the concept, the masked
    source sentence (true/false: a guiding question), one distractor ruled out."""
    tutor = scripted("Activation functions are used to introduce non-linearity.")
    check = leak_check(tutor)
    from tutor.quiz.hints import _source_sentence, concept_name, leaks

    for name, item in items.items():
        for level in (1, 2, 3):
            fact = _source_sentence(tutor, item) if level >= 2 and item.kind != "tf" else ""
            best = templates(item, level, concept_name(item, None), fact)[0]
            assert leaks(best, item) is None, (name, level, best)
            assert check.check(best, item, "", (), weakest_distractor(item) if level >= 3 else None) is None, \
                (name, level, best)
        if item.kind == "mcq":
            assert "rule out" in hint(tutor, item, 3, "More please.").text


def test_true_false_verdicts_in_other_languages_are_leaks(items, scripted):
    check = leak_check(scripted("unused"))
    for reply in ("Die Aussage ist falsch.", "C'est vrai.", "Yes, exactly.", "The statement is not accurate."):
        assert check.check(reply, items["dropout-inference"]), reply


def test_the_roadmap_agreeing_with_the_statement_is_a_verdict(items, scripted):
    """Served by the packaged model in session 16's leak run (relu-default, key true): asked
    "So the roadmap agrees with the statement?", it replied "The roadmap agrees with the
    statement." Asking that way is a request for a verdict (the fixed reply, no model),
    and saying it in any of these words is one."""
    check = leak_check(scripted("unused"))
    item = items["relu-default"]
    from tutor.quiz.leaks import ItemView

    assert check.is_guess("So the roadmap agrees with the statement?", ItemView.of(item))
    for reply in ("The roadmap agrees with the statement.", "The roadmap disagrees with it.",
                  "That is consistent with the roadmap.", "The material contradicts the statement."):
        assert check.check(reply, item) == "states a true/false verdict", reply


def test_a_hint_that_only_repeats_the_question_is_replaced(scripted, items):
    """Seen with the packaged model: "Adam keeps parameters for every parameter." for "What
    does Adam keep for every parameter?" is no leak, and no help either."""
    item = items["adam-keeps"]
    echo = scripted("Adam keeps parameters for every parameter.")
    given = hint(echo, item, 1, "Give me a hint")
    assert (given.source, given.reason) == ("template", "adds nothing to the question")
    helpful = scripted("Think about how momentum smooths noisy steps.")
    assert hint(helpful, item, 1, "Give me a hint").source == "model"


def test_the_prompts_fence_tags_never_reach_the_learner(scripted, items):
    """Seen with the packaged model: "The correct answer is option <data>...</data>"."""
    item = items["adam-keeps"]
    given = hint(scripted("<data>Think about how momentum smooths noisy steps.</data>"),
                 item, 1, "Give me a hint")
    assert given.source == "model" and "<data>" not in given.text and "</data>" not in given.text


def test_the_recalled_sentence_stops_at_the_masked_key(scripted, items):
    """What follows the key's blanks can restate it: Adam's sentence went on "an exponential
    moving ____ of the ____ (the first moment, like momentum) and of the squared ____", the
    key "two running averages of the gradient" in other words."""
    from tutor.quiz.hints import _source_sentence, concept_name, opening

    tutor = scripted("unused")
    item = items["adam-keeps"]
    fact = _source_sentence(tutor, item)
    assert "moving" in fact  # the whole masked sentence holds the paraphrase ...
    for level in (2, 3):
        shown = templates(item, level, concept_name(item, None), fact)[0]
        assert "keep ____ ____ ____ ..." in shown and not {"moving", "moment", "momentum"} & set(shown.split()), shown
    assert opening("Because both averages start at zero, Adam applies a ____ ____ in the early steps.") == \
        "Because both averages start at zero, Adam applies a ____ ____ ..."
    assert opening("____ ____ keeps the weights small.") is None  # nothing to recall before the key
    assert opening("A sentence without the key's words.") == "A sentence without the key's words."
