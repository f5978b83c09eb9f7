"""A question that offers alternatives is not answered "yes" or "no".

"Does stage 2 use pytorch or tensorflow?" is worded as a yes/no question, and the packaged
model answered "Yes, stage 2 uses TensorFlow [1]." though its source says stage 2 covers
TensorFlow together with PyTorch: the "Yes" answers nothing and the rest names one of the
two. Asking the model "Which one, or both?" fixed none of ten such questions (session 21).
So the answer is repaired the way cut lists are: the sentence that opens with "Yes" or "No"
is held back, and the first sentence the prompt showed that names both alternatives is
added from the source, cited and checked like any other (answer.py `_completed`).
"""

from __future__ import annotations

import re

from tutor.context import Source
from tutor.text import STOPWORDS, names, number_forms, numbers_in, sentences, strip_markers

# "Is stage 1 eight or twelve weeks long?", "Does stage 2 use pytorch or tensorflow?"
_YES_NO_QUESTION = re.compile(r"^\s*(?:is|are|does|do|did|was|were|can|should|will|has|have)\b", re.I)
_OFFERED = re.compile(r"\b([\w+#.-]+?)\s+or\s+([\w+#.-]+)", re.I)
_VERDICT = re.compile(r"^\s*(?:yes|no)\b", re.I)


def alternatives(question: str) -> tuple[str, str] | None:
    """The two words a yes/no-worded question offers as alternatives ("pytorch",
    "tensorflow"); None for any other question, or words that name nothing ("Is there a
    quiz or not?", "does dropout stay on or off": "on" is in "rely on" too)."""
    if not _YES_NO_QUESTION.search(question) or not (found := _OFFERED.search(question)):
        return None
    pair = tuple(w.strip(".").lower() for w in found.groups())
    return None if any(w in STOPWORDS or not w for w in pair) else pair


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
    rest = _OFFERED.sub(" ", question)
    needed = [*numbers_in(rest), *names(rest)]
    for n, source in enumerate(sources, 1):
        for sentence in sentences(source.text):
            if names_both(sentence, pair) and all(_named(sentence, word) for word in needed):
                return n, sentence
    return None


def _named(text: str, word: str) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text, re.I) for f in number_forms(word))
