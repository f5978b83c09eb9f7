"""What the model fills in for each kind of item (JSON Schema, enforced by llama.cpp's
grammar) and the stored item shape the validators and grading read.

The model writes the key before the distractors and never picks an index: a 1.5B model
tracks "the right one is option 3" badly, so it writes `correct` and three `wrong`
options, and we shuffle them into four options with a seeded position (generate.py).
Every kind starts with `fact`, the source sentence the item tests: writing it first keeps
the question anchored to the source.

    mcq    {fact, question, correct, wrong: [3], explanation} -> options (4) + answer index
    tf     true:  {fact, statement, answer: true, correction, explanation}  (correction: the
                  statement itself)
           false: {fact, changed, replacement, explanation} -> the statement is the fact with
                  `changed` (words copied from it) replaced by `replacement`, the correction
                  is the fact, the answer false. Asked to rewrite a sentence with one detail
                  changed, the 1.5B model copied it unchanged (6 of 7 stage-2 tries in session 12,
                  each rightly rejected as backed by its source). generate.false_detail picks
                  the words to change and the prompt names them: the model only writes the
                  replacement (when it named the words itself, 7 of 10 were not in the sentence).
    short  {fact, question, answer (1-5 words), explanation}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("mcq", "tf", "short")
MCQ_OPTIONS = 4
LETTERS = "ABCD"

_TEXT = {"type": "string", "minLength": 3, "maxLength": 240}
# Options are a phrase, not a copied sentence; the cap is loose because the grammar cuts a
# longer reply mid-word (at 60 characters, 2 of 12 keys in one run were cut off).
_SHORT_TEXT = {"type": "string", "minLength": 1, "maxLength": 100}
_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


def _object(properties: dict) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


GENERATION_SCHEMAS = {
    "mcq": _object({"fact": _TEXT, "question": _TEXT, "correct": _SHORT_TEXT,
                    "wrong": {"type": "array", "items": _SHORT_TEXT,
                              "minItems": MCQ_OPTIONS - 1, "maxItems": MCQ_OPTIONS - 1},
                    "explanation": _TEXT}),
    "tf": _object({"fact": _TEXT, "statement": _TEXT, "answer": {"type": "boolean"},
                   "correction": _TEXT, "explanation": _TEXT}),
    "tf-false": _object({"fact": _TEXT, "changed": {"type": "string", "minLength": 1, "maxLength": 40},
                         "replacement": {"type": "string", "minLength": 1, "maxLength": 40},
                         "explanation": _TEXT}),
    "short": _object({"fact": _TEXT, "question": _TEXT,
                      "answer": {"type": "string", "minLength": 1, "maxLength": 40},
                      "explanation": _TEXT}),
}


def generation_schema(kind: str, truth: bool = True) -> dict:
    """The reply schema for `kind`; a false true/false item (`truth` False) has its own."""
    return GENERATION_SCHEMAS["tf-false" if kind == "tf" and not truth else kind]


@dataclass
class Candidate:
    """An item before validation, in the stored shape. `answer` is the key: an option
    index (mcq), a bool (tf) or a short text (short). `correction` is the true version of
    a false tf statement (what the key's support is checked with)."""

    kind: str
    question: str
    answer: object
    options: list = field(default_factory=list)
    explanation: str = ""
    fact: str = ""
    correction: str = ""

    def key_text(self) -> str:
        """The key as words: the correct option, the true statement, or the short answer."""
        if self.kind == "mcq":
            return str(self.options[self.answer])
        if self.kind == "tf":
            return self.question if self.answer is True else self.correction
        return str(self.answer)

    def key_statement(self) -> str:
        """What the item says is true: a true/false item's true statement, else the question
        with its key."""
        key = self.key_text()
        return key if self.kind == "tf" else f"{self.question} {key}"


def schema_problems(c: Candidate) -> list[str]:
    """Structural problems (wrong types, empty text, wrong option count); empty when sound.
    The key's own shape (one correct answer) is checked separately (validate.one_correct)."""
    problems = []
    if c.kind not in KINDS:
        return [f"unknown kind {c.kind!r}"]
    if not isinstance(c.question, str) or len(c.question.strip()) < 8:
        problems.append("question missing or shorter than 8 characters")
    if not isinstance(c.explanation, str):
        problems.append("explanation is not text")
    if c.kind == "mcq":
        if not isinstance(c.options, list) or len(c.options) != MCQ_OPTIONS:
            problems.append(f"mcq needs exactly {MCQ_OPTIONS} options")
        elif not all(isinstance(o, str) and o.strip() for o in c.options):
            problems.append("every option must be non-empty text")
    elif c.options:
        problems.append(f"{c.kind} items have no options")
    texts = [c.question, c.explanation, c.correction, *(c.options if isinstance(c.options, list) else []),
             c.answer if isinstance(c.answer, str) else ""]
    if any(isinstance(t, str) and _CJK.search(t) for t in texts):
        problems.append("text in another script (the model drifted out of English)")
    if c.kind == "tf" and c.answer is False and not (isinstance(c.correction, str) and c.correction.strip()):
        problems.append("a false statement needs its correction")
    return problems
