"""A question that offers alternatives is not answered "yes" or "no".

"Does stage 2 use pytorch or tensorflow?" is worded as a yes/no question, and the packaged
model answered "Yes, stage 2 uses TensorFlow [1]." though its source says stage 2 covers
TensorFlow together with PyTorch: the "Yes" answers nothing and the rest names one of the
two. Asking the model "Which one, or both?" fixed none of ten such questions (session 21).
So the answer is repaired the way cut lists are: the sentence that opens with "Yes" or "No"
is held back, and the first sentence the prompt showed that names both alternatives is
added from the source, cited and checked like any other (answer.py `_completed`).

A pick is checked too: "Is dropout in stage 1 or stage 2?" was served "Dropout is in stage
1 [1]." beside a source saying "Dropout is part of stage 2", and the support check passed
it (its source names stage 1 elsewhere). Where every shown sentence that names one
alternative and all else the question asks about names the same one, a draft sentence
that picks the other, or restates the question's "A or B", gives way to that sentence.

A plain yes/no question an FAQ asks gets the FAQ's verdict: "Do I need a degree to get an ML
job?" was served "Yes, you need a degree to get an ML job." beside a short answer opening
"Neither roadmap makes a degree a requirement", and the support check passed it (the words
are the source's). A "Yes" or "No" whose sense is the opposite of the short answer's first
sentence gives way to that sentence (`flipped_verdict`).

A "Yes" whose own sentence says no is dropped: "do I need a GPU for stage 2?" was served "Yes,
you do not need a powerful GPU for stage 2 [1]." (session 37); the rest of the sentence is
the answer (`plain_verdicts`).
"""

from __future__ import annotations

import re

from tutor.context import Source
from tutor.text import (NEGATION, STOPWORDS, names, number_forms, numbers_in, sentences, singular, stem,
                        strip_markers, terms)

# "Is stage 1 eight or twelve weeks long?", "Does stage 2 use pytorch or tensorflow?"
_YES_NO_QUESTION = re.compile(r"^\s*(?:is|are|does|do|did|was|were|can|should|will|has|have)\b", re.I)
_OR = re.compile(r"\s+or\s+", re.I)
_TOKEN = re.compile(r"[\w+#.-]+")
_VERDICT = re.compile(r"^\s*(?:yes|no)\b", re.I)


def alternatives(question: str) -> tuple[str, str] | None:
    """What a yes/no-worded question offers as alternatives: two words ("pytorch",
    "tensorflow"), or two phrases of two words that share one ("stage 1", "stage 2"; "research
    track", "industry track"); None for any other question, or words that name nothing ("Is
    there a quiz or not?", "does dropout stay on or off": "on" is in "rely on" too)."""
    if not _YES_NO_QUESTION.search(question) or not (found := _OR.search(question)):
        return None
    left = [w.strip(".").lower() for w in _TOKEN.findall(question[:found.start()])]
    right = [w.strip(".").lower() for w in _TOKEN.findall(question[found.end():])]
    while right and right[0] in ("the", "a", "an"):
        right = right[1:]
    if not left or not right:
        return None
    # two-word phrases when exactly one word is shared in place: "stage 1 or stage 2"
    if len(left) >= 2 and len(right) >= 2 and (left[-2] == right[0]) != (left[-1] == right[1]):
        pair = (" ".join(left[-2:]), " ".join(right[:2]))
        differ = [w for w in (*left[-2:], *right[:2]) if w not in (set(left[-2:]) & set(right[:2]))]
    else:
        pair = differ = (left[-1], right[0])
    return None if any(w in STOPWORDS or not w for w in differ) else pair


def is_verdict(sentence: str) -> bool:
    """Whether a sentence opens with "Yes" or "No"."""
    return bool(_VERDICT.match(strip_markers(sentence)))


def names_both(text: str, pair: tuple[str, str]) -> bool:
    return all(_named(text, word) for word in pair)


def naming_both(sources: list[Source], question: str, pair: tuple[str, str]) -> tuple[int, str] | None:
    """(source number, sentence): the first sentence the prompt showed that names both
    alternatives and what else the question names by number or name ("stage 2", "Roadmap
    B"): "Is stage 3 about NLP or computer vision?" must not get Roadmap B's sentence on Q3
    and Q4, which names NLP and computer vision too. None when no shown sentence does."""
    rest = _outside(question, pair)
    needed = [*numbers_in(rest), *names(rest)]
    for n, source in enumerate(sources, 1):
        for sentence in sentences(source.text):
            if names_both(sentence, pair) and all(_named(sentence, word) for word in needed):
                return n, sentence
    return None


def picked(sentence: str, pair: tuple[str, str]) -> str | None:
    """The one alternative a sentence names, or prefers to the other ("puts Kubernetes under
    nice-to-have rather than essential"); None when it names neither or both alike."""
    named = [a for a in pair if _named(sentence, a)]
    if len(named) == 1:
        return named[0]
    return next((a for a, b in (pair, pair[::-1]) if re.search(
        rf"{_pattern(a)}\s*,?\s+(?:rather than|instead of|not)\s+(?:the\s+|an?\s+)?{_pattern(b)}", sentence, re.I)), None)


def correction(text: str, sources: list[Source], question: str, pair: tuple[str, str]
               ) -> tuple[tuple[str, ...], tuple[int, str]] | None:
    """(the draft's sentences that give way, (source number, the sentence in their place)):
    when every shown sentence that names exactly one alternative and every other content
    word of the question (by stem) names the same one, the draft's sentences that pick the
    other one (and hold those words too) or restate "A or B" give way to the first of them.
    None when the sources pick both, or none, or the draft agrees with them."""
    asked = _stems(_outside(question, pair))
    found = [(n, sentence, choice) for n, source in enumerate(sources, 1) for sentence in sentences(source.text)
             if (choice := picked(sentence, pair)) and asked <= _stems(sentence)]
    if len({choice for *_, choice in found}) != 1:
        return None
    right = found[0][2]
    wrong = tuple(s for s in map(strip_markers, sentences(text)) if _restated(s, pair) or (
        picked(s, pair) not in (None, right) and asked <= _stems(s)))
    return (wrong, found[0][:2]) if wrong else None


# "Do I need a degree to get an ML job?" holds 4 of its 5 content words in the title "Do I
# need a degree to get a machine learning job?" ("ML" is not "machine learning")
FAQ_TITLE_SHARE = 0.75


def flipped_verdict(text: str, sources: list[Source], question: str
                    ) -> tuple[tuple[str, ...], tuple[int, str]] | None:
    """(the draft's verdicts that give way, (source number, the sentence in their place)) for
    a yes/no question with no negation in it, whose content words are (nearly all) in the
    title of a shown FAQ: the draft's "Yes" or "No" sentences that say the opposite of the
    first sentence of that FAQ's short answer, when that sentence gives a verdict (opens with
    "Yes", or with "No" or holds a negation; "Cloud ML certifications are listed as resources
    ..." gives none). A verdict whose own words negate ("Yes, you don't need one"), or one to
    a question with an "or" in it ("Do I need a powerful GPU, or can I use cloud GPUs?"), is
    left alone: its sense is not plain. None when nothing is flipped."""
    if not _YES_NO_QUESTION.search(question) or NEGATION.search(question) or _OR.search(question):
        return None
    asked = _stems(question)
    for n, source in enumerate(sources, 1):
        title, _, section = source.chunk.title.partition(" — ")
        if source.chunk.kind != "faq" or section != "Short answer" or NEGATION.search(title) \
                or len(asked & _stems(title)) < FAQ_TITLE_SHARE * len(asked):
            continue
        first = next(iter(sentences(source.text)), "")
        if (says_no := _says_no(first)) is None:
            return None
        flipped = tuple(s for s in map(strip_markers, sentences(text)) if _VERDICT.match(s)
                        and not NEGATION.search(_VERDICT.sub("", s, count=1)) and _says_no(s) != says_no)
        return (flipped, (n, first)) if flipped else None
    return None


_YES_COMMA = re.compile(r"yes,\s+(?=\w)", re.I)


def plain_verdicts(text: str, question: str) -> str:
    """`text` with the "Yes, " taken off each sentence whose own words then negate, when it
    answers a yes/no question with no negation in it: "Yes, you do not need a powerful GPU"
    reads "You do not need a powerful GPU"."""
    if not _YES_NO_QUESTION.search(question) or NEGATION.search(question):
        return text
    for sentence in sentences(text):
        if (yes := _YES_COMMA.match(sentence)) and NEGATION.search(rest := sentence[yes.end():]):
            text = text.replace(sentence, rest[0].upper() + rest[1:], 1)
    return text


def _says_no(sentence: str) -> bool | None:
    """A sentence's verdict: True for "No ..." or a negation, False for "Yes ...", None for none."""
    if NEGATION.search(sentence):
        return True
    verdict = _VERDICT.match(sentence)
    return None if not verdict else verdict.group(0).strip().lower() == "no"


def _stems(text: str) -> set[str]:
    """Content words by stem, a plural as its singular ("fits ML engineer" holds "fit")."""
    return {stem(singular(t)) for t in terms(text)}


def _restated(sentence: str, pair: tuple[str, str]) -> bool:
    """Whether a sentence restates the question's alternatives: "The research track or the
    industry track fits an ML engineer."."""
    a, b = (_pattern(w) for w in pair)
    return bool(re.search(rf"{a}\s+or\s+(?:the\s+|an?\s+)?{b}", sentence, re.I))


def _outside(question: str, pair: tuple[str, str]) -> str:
    """The question without its alternatives and the "or" between them."""
    for word in (*pair, "or"):
        question = re.sub(_pattern(word), " ", question, count=1, flags=re.I)
    return question


def _pattern(word: str) -> str:
    """A word or phrase, each number in any spelling ("stage 1": "stage one" too)."""
    parts = ("(?:" + "|".join(re.escape(f) for f in number_forms(t)) + ")" for t in word.split())
    return r"(?<![\w-])" + r"\s+".join(parts) + r"(?![\w-])"


def _named(text: str, word: str) -> bool:
    return bool(re.search(_pattern(word), text, re.I))
