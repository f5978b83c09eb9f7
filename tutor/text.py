"""Small text functions shared by BM25, sentence selection and support scoring."""

from __future__ import annotations

import re

NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a number as stated: "16", "0.001"
_WORD = re.compile(r"[a-z0-9]+(?:[.+#-][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9*-])|\n+")
STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does did for from had has have how i if
    in into is it its just me my no not of on or our so than that the their them then there
    these they this to too up us was we were what when where which while who why will with
    would you your yours about after again all also am any because before being both each few
    further here more most much only other over own same should some such very s t don
    should now d ll m o re ve y""".split()
)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _forms(word: str) -> list[str]:
    """A token and what a learner may type instead: a range "5-6" also as "5" and "6"
    ("weeks 5 and 6")."""
    if "-" in word and all(p.isdigit() for p in word.split("-")):
        return [word, *word.split("-")]
    return [word]


def terms(text: str) -> list[str]:
    """Content words: lower-cased tokens without stopwords (BM25 and term checks)."""
    return [f for w in words(text) if w not in STOPWORDS for f in _forms(w)]


def sentences(text: str) -> list[str]:
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if p and any(ch.isalnum() for ch in p)]
