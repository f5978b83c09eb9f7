"""Checks an item passes before it can be served. Each failure is a named reason, stored
with a rejected item (rejected items are kept for the bench and for debugging, never served).

    schema                malformed: wrong types, empty text, not 4 mcq options
    one_correct           the key is not exactly one answer (mcq: one index in range; tf: a bool)
    options_not_distinct  two options are the same (normalised text) or near-duplicates
                          (embedding cosine >= SIMILAR, between options stating the same
                          numbers); the key and two or more wrong options are one name with
                          its digits changed ("3Blue1Brown", "4Blue2Brown", "5Blue3Brown":
                          made-up names a learner rules out without knowing the answer)
    key_unsupported       the source chunk does not back the key: support < KEY_THRESHOLD
    distractor_supported  a wrong option is backed by the source about as well as the key
    key_in_question       the question states its own answer (mcq option or short answer text),
                          or the only words that set the key apart from the other options are in
                          the question ("What milestone closes stage 4?" over four copies of one
                          sentence that differ in "stage 2/3/4/5"), or the key is mostly the
                          question's own words ("Where does profiling tell you a slow pipeline
                          spends its time?" keyed "where a slow pipeline actually spends its time")
    duplicate             the question is a near-duplicate (cosine >= SIMILAR) of a bank item
                          of the same stage, or its key is another item's key there (one quiz
                          could then give the other away)
    distractor_form       an mcq's wrong option does not read like its key (option_form_problem):
                          another form (a number, a sentence, a "to ..." purpose, a phrase) or
                          another length class, such as a bare topic name beside full-sentence
                          options, which gives the key away without knowing anything
    no_context            the question leans on what the learner never sees ("the source",
                          "the text", "these concepts", "the authors", "this method", a
                          statement opening with "It"), points back to a sentence it does not
                          quote ("From there ...", "After that ..."), uses "them"/"they" with
                          no plural before it ("Learning them on fast, interpretable models
                          ..."), has fewer than MIN_QUESTION_TERMS content words ("What comes
                          next?"), or a true/false statement carries its own verdict ("... is TRUE")
    unfinished            an option, short-answer key or true/false statement is cut off
                          mid-phrase: it ends in a comma or colon, a possessive, or a lower-case
                          function word ("Flag data points or time periods that do", "Breiman
                          showed that a Random Forest's"; a statement only when it also lacks
                          its full stop), or it stops inside a compound its source goes on with
                          (cut_in_source: "learn low" of "learn low-rank", "as dense" of "as
                          dense vectors", "Classical Machine" of "Classical Machine Learning");
                          a true/false statement that opens as a fragment (lower case)
    stage_question        the question asks which stage something belongs to, but names
                          Roadmap B, a quarter, a specialisation or a course (stages are
                          Roadmap A's), offers a quarter ("Q2") among its answers, or, as a
                          short answer, has a key that is not a stage number (a learner who
                          answers "stage 4" is marked wrong against "Production and
                          Specialisation"), or names a stage the roadmap does not have
                          ("stage 5" of four); or it gives itself away in the stage quiz it is
                          served in: a key that is its source's own stage, or a true/false
                          statement that something belongs to a stage; or its question names
                          another stage than the quiz's ("What is the focus of stage 2 of
                          Roadmap A?" written from stage 1's "what comes after" section)
    not_false             a false true/false statement does not plainly contradict its source:
                          it says what its correction says, rewords the detail ("optimisation"
                          for "optimization"), changes more than one detail, swaps one item of
                          a list for another (a statement that may still be true: "covers
                          ResNet, AlexNet and ViT"), drops a detail without a negation ("used
                          in A" of "used in A and B" is still true), or its new words are in
                          the source sentence its correction comes from
    gives_away            the question states another item's key, about the same subject, so
                          one quiz would hand a learner the other's answer (gives_away())
    partial_key           a short-answer key is one item of a list in its source ("SageMaker"
                          of "SageMaker, Vertex AI, Azure ML Studio"): a learner naming another
                          item is right and marked wrong; or one branch of "either A or B" /
                          "both A and B" ("extractive QA" as the main way of QA, of "either by
                          extracting a span ... or by generating an answer") that the question
                          does not single out. A question asking for "one" or "an example" may
                          take one item. Multiple choice: the same, when the question asks for
                          "the main", "the purpose", "the name of the" one (a false premise).

Support has no NLI model to lean on (none ships offline), so it is the answer scorer's
recipe (tutor/support.py) applied to the statement "question + answer":
    similarity = best cosine between that statement and any sentence of the source chunk
    coverage   = share of the *answer's* content terms found in the source (the question's
                 terms are shared by every option, so they cannot tell options apart; for a
                 false true/false statement, only the words changed from its correction)
    score      = 0.5 similarity + 0.5 coverage, halved when the answer states a number
                 that the source sentences closest to the statement (within NUMBER_MARGIN
                 of the best cosine) do not contain: a number elsewhere in the chunk is
                 about something else.
KEY_THRESHOLD = 0.55 is the answer scorer's SUPPORT_THRESHOLD: a key must be supported the
way an answer sentence has to be. A distractor fails when it reaches that threshold too
*and* scores within DISTRACTOR_MARGIN (0.10) of the key: plausible distractors share the
topic's words, so being close to the threshold alone is not a defect; being as backed as
the key is (two defensible answers).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tutor.embed import Embedder
from tutor.quiz.schema import MCQ_OPTIONS, Candidate, schema_problems
from tutor.sentence_vectors import SentenceVectors
from tutor.support import SUPPORT_THRESHOLD, SupportScorer
from tutor.text import NUMBER, STOPWORDS, sentences, stem, terms
from tutor.types import Chunk

KEY_THRESHOLD = SUPPORT_THRESHOLD
DISTRACTOR_MARGIN = 0.10
SIMILAR = 0.92
NUMBER_MARGIN = 0.10
REASONS = ("schema", "one_correct", "options_not_distinct", "key_unsupported",
           "distractor_supported", "key_in_question", "duplicate", "distractor_form", "no_context",
           "unfinished", "stage_question", "partial_key", "gives_away", "not_false")
# What a question may not lean on: the learner sees the question, never its source. Found in
# the review of the shipped bank ("What topic does the text discuss?", "What are the stages
# where these concepts reappear?", "What model did the paper attack?", "Weeks 17-18: ... is TRUE.").
# Session 11 adds what the next review dropped: "What algorithm did the authors use?", "This
# material is placed in Q2.", "It ran more than ten times faster ...", "What stage ... is this?".
_UNSEEN = re.compile(r"\b(the|this|that) (source|text|passage|article|document|excerpt|section|sentence|paper)\b"
                     r"|\b(these|those) (concepts|topics|ideas|models|methods|steps)\b|\bmentioned (above|here)\b"
                     r"|\bthe authors\b(?!\s+of\b)|\bthis (material|option|method|approach|technique|model|work|study"
                     r"|idea|algorithm|architecture)\b|\bis this\W*$|^\s*(it|they)\b", re.I)
# A phrase pointing back to a sentence the learner never read: "From there come the pre-trained
# model families ..." (the Transformer, in the FAQ it was copied from), "After that, ...".
_POINTS_BACK = re.compile(r"\bfrom (there|here)\b|^\s*(after|before|besides|beyond) (that|this|these|those|them|it)\b"
                          r"|^\s*(then|thus|hence|so)\b,?", re.I)
# "them"/"they"/"their" need a plural before them in the same question: "Learning them on fast,
# interpretable models makes them much easier to understand" names what "them" is nowhere.
_PLURAL_PRONOUN = re.compile(r"\b(them|they|their|theirs|themselves)\b", re.I)
_PLURAL = re.compile(r"\b(?:[A-Za-z][\w-]*[a-rt-z]s|[A-Z][A-Za-z0-9-]*s|people|data|criteria|media)\b|\b(and|both|or)\b")
_OWN_VERDICT = re.compile(r"\bis (true|false)\W*$", re.I)
_CUT_OFF = re.compile(r"([,:;–-]|'s|’s)\s*$")
MIN_QUESTION_TERMS = 3
# Found in the review of the shipped bank: "What stage does FastAPI belong to?" keyed
# "Production and Specialisation", "What stage does the Vision Transformer belong to?" keyed
# "Q2", "What is the stage of Roadmap B's fourth quarter?".
_ASKS_STAGE = re.compile(r"\b(what|which)\s+stage\b|\bwhat is the stage\b|\bthe stage of\b", re.I)
_ASKS_NAME = re.compile(r"\b(name|named|called|title)\b", re.I)  # "the name of the stage" wants a title
_NOT_A_STAGE = re.compile(r"\bQ[1-9]\b|\bquarters?\b|\broadmap b\b|\bspeciali[sz]ation\b|\bcourse\b", re.I)
_QUARTER = re.compile(r"\bQ[1-9]\b|\bquarter\b", re.I)
_STAGE_NUMBER = re.compile(r"^\s*(stage\s*)?\d+\W*$", re.I)
_NAME_WITH_DIGITS = re.compile(r"(?<=[a-z])\d+|\d+(?=[a-z])", re.I)  # the digits of "CS109", "4Blue2Brown", "L2"
_STAGE_NAMED = re.compile(r"\bstages?\s*(\d+)\b", re.I)
_STAGE_NUMBER_IN = re.compile(r"^\s*(?:stage\s*)?(\d+)\W*$|\bstage\s*(\d+)\b", re.I)
_STAGE_CLAIM = re.compile(r"\b(?:belongs? to|(?:is|are) (?:a )?part of|(?:is|are) (?:in|covered in|taught in)|falls? under|comes? in"
                          r"|fits?(?: in| into)?|(?:is|are) placed in|recommends? for|(?:is|are) recommended for)"
                          r"\s+(?:roadmap a'?s\s+)?stage\s*\d", re.I)
# A list in a source clause: its items split at commas and "and"/"or"; an item that opens
# with "for example" or "such as" is an aside, not a sibling of the key.
_LIST_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+")
_CLAUSE = re.compile(r"[;:()\[\]—]|\s–\s")
_ASIDE = re.compile(r"^(for example|for instance|e\.g|such as|including|like)\b", re.I)
_PARTICIPLE = re.compile(r"^\w+ing\s+\w", re.I)  # "starting from pure noise": a clause, not an item
_ASKS_ONE = re.compile(r"\b(one|an? example|any)\b", re.I)
LIST_ITEM_WORDS = 4  # siblings longer than this are clauses, not list items
# Words after which a key must go on: "as dense" stops before "vectors".
_LINKING = frozenset("as into of to with for by from than and or a an the on in at about over".split())
# Forms an option can have (option_form): a number ("0.001", "weeks 9-16"), a sentence (it
# ends with a full stop: "It keeps two averages."), a purpose ("to learn a smooth latent
# space"), or a phrase ("Adam", "a fixed learning rate"). Length is checked apart from form: two options read alike when their word counts
# differ by at most LENGTH_SLACK words or by at most a factor LENGTH_RATIO ("Adam" and
# "stochastic gradient descent" do; "Adam" and an eight-word description do not).
NUMBER_WORDS = 4  # "weeks 9 to 16" still reads as a number; longer is a phrase with a number in it
SENTENCE_WORDS = 6  # a key this long beside a name of BARE_NAME_WORDS or fewer: a bare topic name
BARE_NAME_WORDS = 3
LENGTH_SLACK = 3
LENGTH_RATIO = 2.0
_ARTICLE = re.compile(r"^(the|a|an)\s+")


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, whitespace collapsed, no leading article."""
    text = re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()
    return _ARTICLE.sub("", text)


@dataclass
class Verdict:
    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    scores: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def fail(self, reason: str, detail: str) -> None:
        self.reasons.append(reason)
        self.details.append(f"{reason}: {detail}")


class Validator:
    """`stages`: how many stages the roadmap has (stages_in(chunks)); None skips the check
    for options naming a stage beyond it."""

    def __init__(self, embedder: Embedder, sentence_vectors: SentenceVectors | None = None,
                 stages: int | None = None):
        self.embedder = embedder
        self.sentence_vectors = sentence_vectors or SentenceVectors(embedder)
        self.stages = stages

    def support(self, statement: str, answer: str, source: Chunk) -> float:
        """How well `source` backs `statement` (its answer part: `answer`); 0..1. A number
        counts only when a source sentence about as close to the statement as the closest
        one (within NUMBER_MARGIN) states it: a chunk placing a concept in stage 2 that
        mentions "Q1" elsewhere does not back "stage 1"."""
        parts, vectors = self.sentence_vectors.get(source)
        sims = vectors @ self.embedder.encode_one(statement)
        best = float(sims.max())
        near = [p for p, sim in zip(parts, sims) if sim >= best - NUMBER_MARGIN]
        return round(SupportScorer._score(answer, best, [source.embed_text], number_texts=near), 4)

    def source_sentence(self, statement: str, source: Chunk) -> str:
        """The sentence of `source` closest in meaning to `statement`."""
        parts, vectors = self.sentence_vectors.get(source)
        if not parts:
            return source.text
        return str(parts[int((vectors @ self.embedder.encode_one(statement)).argmax())])

    def key_support(self, c: Candidate, source: Chunk) -> float:
        key = c.key_text()
        return self.support(key if c.kind == "tf" else f"{c.question} {key}", _answer_part(c, key), source)

    def distractor_support(self, c: Candidate, wrong: str, source: Chunk) -> float:
        return self.support(wrong if c.kind == "tf" else f"{c.question} {wrong}", _answer_part(c, wrong), source)

    def closest_pair(self, texts: list[str]) -> float:
        """The highest cosine between two of `texts` that state the same numbers ("0.01"
        and "0.001" embed alike yet are different answers, so they are told apart by
        their numbers, not by the embedding)."""
        vectors = self.embedder.encode(texts)
        sims = vectors @ vectors.T
        numbers = [sorted(NUMBER.findall(t)) for t in texts]
        return max((float(sims[i, j]) for i in range(len(texts)) for j in range(i + 1, len(texts))
                    if numbers[i] == numbers[j]), default=0.0)

    def check(self, c: Candidate, source: Chunk, bank_questions: np.ndarray | None = None,
              bank_keys: frozenset[str] = frozenset(), bank_items: Sequence[Shown] = ()) -> Verdict:
        """Every check that can run; schema and one_correct stop early (nothing else is
        meaningful without a well-formed key). `bank_questions`: the stage's accepted
        questions, embedded; `bank_keys`: their keys (tf excluded), normalise()d;
        `bank_items`: the same items as `shown` gives them (for gives_away)."""
        verdict = Verdict()
        if problems := schema_problems(c):
            verdict.fail("schema", "; ".join(problems))
            return verdict
        if problem := one_correct_problem(c):
            verdict.fail("one_correct", problem)
            return verdict
        self._distinct(c, verdict)
        self._supported(c, source, verdict)
        if c.kind != "tf" and f" {normalise(c.key_text())} " in f" {normalise(c.question)} ":
            verdict.fail("key_in_question", "the question contains its answer")
        elif c.kind == "mcq" and (told := told_apart_by_question(c.question, c.options, c.answer)):
            verdict.fail("key_in_question", f"only {', '.join(sorted(told))} sets the key apart, and the question says it")
        elif c.kind != "tf" and echoes_question(c.question, c.key_text()):
            verdict.fail("key_in_question", f"the key {c.key_text()!r} is mostly the question's own words")
        if c.kind == "mcq" and (problem := option_form_problem(c.options, c.answer)):
            verdict.fail("distractor_form", problem)
        if problem := context_problem(c.question, c.kind):
            verdict.fail("no_context", problem)
        answers = c.options if c.kind == "mcq" else [c.answer] if c.kind == "short" else []
        if cut := next((a for a in answers if unfinished(a)), None):
            verdict.fail("unfinished", f"{cut!r} is cut off mid-phrase")
        elif c.kind == "tf" and unfinished_statement(c.question):
            verdict.fail("unfinished", "the statement stops mid-phrase, without a full stop")
        elif c.kind == "tf" and not re.match(r"\W*[A-Z0-9]", str(c.question)):
            verdict.fail("unfinished", "the statement does not open as a sentence (a fragment)")
        elif cut := next(((a, rest) for a in answers if (rest := cut_in_source(str(a), source.text))), None):
            verdict.fail("unfinished", f"{cut[0]!r} stops before {cut[1]!r}, which its source goes on with")
        if c.kind == "tf" and c.answer is False and \
                (problem := false_statement_problem(c.question, c.correction, self.source_sentence(c.correction, source))):
            verdict.fail("not_false", problem)
        if problem := stage_problem(c.question, c.kind, c.answer, c.options, source.stage, self.stages):
            verdict.fail("stage_question", problem)
        if problem := partial_key_problem(c, source.text):
            verdict.fail("partial_key", problem)
        if c.kind != "tf" and (problem := title_key_problem(c.question, c.key_text(), source)):
            verdict.fail("key_unsupported", problem)
        self._novel(c, bank_questions, verdict)
        if c.kind != "tf" and normalise(c.key_text()) in bank_keys:
            verdict.fail("duplicate", f"another item of the stage has the key {c.key_text()!r}: "
                                      "one quiz could give the other away")
        if given := gives_away(c, bank_items):
            verdict.fail("gives_away", given)
        return verdict

    def _distinct(self, c: Candidate, verdict: Verdict) -> None:
        if c.kind != "mcq":
            return
        texts = list(c.options)
        if problem := self.alike(texts, compare_meaning=c.kind != "tf", scores=verdict.scores):
            verdict.fail("options_not_distinct", problem)
        elif c.kind == "mcq" and (made_up := renumbered(c.options, c.answer)):
            verdict.fail("options_not_distinct", f"{', '.join(map(repr, made_up))} are the key with its digits "
                                                 "changed: made-up names")

    def alike(self, texts: list[str], compare_meaning: bool = True, scores: dict | None = None) -> str | None:
        """Why two of `texts` are the same answer (equal once normalised, or embedding
        cosine >= SIMILAR between texts stating the same numbers); None when distinct. A
        false tf statement is its correction with one detail changed: text only."""
        if len({normalise(t) for t in texts}) < len(texts):
            return "two options have the same text"
        if not compare_meaning:
            return None
        worst = self.closest_pair(texts)
        if scores is not None:
            scores["max_option_cosine"] = round(worst, 4)
        return f"two options are near-duplicates (cosine {worst:.2f})" if worst >= SIMILAR else None

    def _supported(self, c: Candidate, source: Chunk, verdict: Verdict) -> None:
        key_score = self.key_support(c, source)
        verdict.scores["key"] = key_score
        if key_score < KEY_THRESHOLD:
            verdict.fail("key_unsupported", f"the source backs the key at {key_score:.2f} < {KEY_THRESHOLD}")
        for wrong in distractors(c):
            score = self.distractor_support(c, wrong, source)
            verdict.scores.setdefault("distractors", []).append(score)
            if backed_like_the_key(score, key_score):
                verdict.fail("distractor_supported",
                              f"{wrong!r} is backed at {score:.2f} (key {key_score:.2f})")
                return

    def _novel(self, c: Candidate, bank_questions: np.ndarray | None, verdict: Verdict) -> None:
        if bank_questions is None or not len(bank_questions):
            return
        best = float((bank_questions @ self.embedder.encode_one(c.question)).max())
        verdict.scores["max_bank_cosine"] = round(best, 4)
        if best >= SIMILAR:
            verdict.fail("duplicate", f"a bank item asks nearly the same (cosine {best:.2f})")


def backed_like_the_key(score: float, key_score: float) -> bool:
    """A wrong option is a defect when the source backs it as a key *and* about as well as
    the real key (two defensible answers); sharing the topic's words alone is not."""
    return score >= KEY_THRESHOLD and score > key_score - DISTRACTOR_MARGIN


def _answer_part(c: Candidate, text: str) -> str:
    """The words coverage is measured on: an option's own words; for a false tf statement
    and its correction, only the words where the two differ (the detail that was changed),
    since every other word is shared and backed by the source either way."""
    if c.kind != "tf" or c.answer is True:
        return text
    other = c.question if text == c.correction else c.correction
    shared = set(terms(other))
    return " ".join(t for t in terms(text) if t not in shared) or text


def context_problem(question: str, kind: str) -> str | None:
    """Why a learner who never sees the source cannot make sense of the question, or None."""
    if found := _UNSEEN.search(question):
        return f"refers to {found.group(0)!r}, which the learner never sees"
    if found := _POINTS_BACK.search(question):
        return f"{found.group(0).strip()!r} points back to a sentence the learner never read"
    if pronoun := orphan_pronoun(question):
        return f"{pronoun!r} has nothing before it in the question to refer to"
    if kind == "tf" and _OWN_VERDICT.search(question):
        return "the statement gives its own verdict"
    if len(set(terms(question))) < MIN_QUESTION_TERMS:
        return f"too few content words to say what it asks about ({question!r})"
    return None


def orphan_pronoun(question: str) -> str | None:
    """The first "them"/"they"/"their" with no plural noun (or "X and Y") before it in the
    question, or None. A plural is a word ending in "s" but not "ss"/"us"/"is" ("Forests",
    "LSTMs", "models"), a few plurals without one ("data"), or a coordination; a verb in "-s"
    ("makes") counts too, which errs towards letting a question through."""
    for found in _PLURAL_PRONOUN.finditer(question):
        before = question[:found.start()]
        if not any(m.group(0).lower() not in STOPWORDS and not m.group(0).lower().endswith(("ss", "us", "is"))
                   or m.group(1) for m in _PLURAL.finditer(before)):
            return found.group(0)
    return None


def unfinished(text: str) -> bool:
    """An answer that stops mid-phrase; "Roadmap A" ends in a name, not the article "a"."""
    last = text.split()[-1].strip(".!?\"'") if text.split() else ""
    return bool(_CUT_OFF.search(text.rstrip(".!? "))) or (last.islower() and last in STOPWORDS)


def _words(text) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", str(text).lower()))


def echoes_question(question: str, key: str) -> bool:
    """Three quarters or more of the key's terms (two at least) are the question's: the
    key restates what was asked. No shipped item comes near (at most half: "What type of
    processor is used for GPU training?" keyed "Graphics processor")."""
    own = set(terms(key))
    return len(own) >= 2 and len(own & set(terms(question))) >= 0.75 * len(own)


def told_apart_by_question(question: str, options: list, answer: int) -> set[str] | None:
    """The key's own words (in no other option) when the question states every one of them."""
    others = set().union(*(_words(o) for i, o in enumerate(options) if i != answer))
    own = _words(options[answer]) - others
    return own if own and own <= _words(question) else None


def unfinished_statement(text: str) -> bool:
    """A true/false statement cut off by the token limit: no closing full stop and an
    unfinished last phrase ("... while running at about 5 frames per second and adding
    only"); "... and by how much." ends in a function word and is whole."""
    return not str(text).rstrip().endswith((".", "!", "?", ")")) and unfinished(str(text))


def cut_in_source(answer: str, text: str) -> str | None:
    """What `text` goes on with where it contains `answer` cut inside a compound: a hyphen
    ("learn low" of "low-rank"), a capitalised name ("Classical Machine" of "Classical Machine
    Learning"), or the content word after a trailing "as/of/into ... X" ("as dense" of "as
    dense vectors"); None when `answer` ends where a phrase of `text` ends, or is not in it."""
    words = answer.split()
    if not words:
        return None
    for found in re.finditer(r"(?<![\w-])" + re.escape(answer.strip().rstrip(".")), text, re.I):
        rest = text[found.end():]
        if hyphen := re.match(r"-\w+", rest):
            return hyphen.group(0)
        if not (after := re.match(r" (\w[\w-]*)", rest)):
            continue
        following = after.group(1)
        if words[-1][:1].isupper() and following[:1].isupper():
            return following
        if len(words) >= 2 and words[-2].lower() in _LINKING and following.lower() not in STOPWORDS:
            return following
    return None


Shown = tuple[str, str | None]  # (what the learner reads of an item, its key as words; None for tf)
GIVES_AWAY_TERMS = 2  # the subject words a text must share with the other item's question


def shown(c: Candidate) -> Shown:
    """What a learner reads of an item before answering (the question; a tf statement is its
    question) and its key as words (None for tf: "true" gives nothing away)."""
    return c.question, None if c.kind == "tf" else c.key_text()


def gives_away(c: Candidate, others: Sequence[Shown]) -> str | None:
    """Why `c` and another item of its stage cannot sit in one quiz: one's question states the
    other's key, about the same subject ("Stage 1 of Roadmap A (weeks 1-8) builds ..." beside
    "How many weeks does stage 1 of Roadmap A run?", key 8; a true/false naming "MLflow and
    Weights & Biases" beside "What tool ... versioning and experiment tracking?", key MLflow).
    About the same subject: the text holds GIVES_AWAY_TERMS content words of the other
    question besides the key's own, so a key that is a common word ("8", "Python") in an
    unrelated question is not counted."""
    text, key = shown(c)
    for other_text, other_key in others:
        for says, asks, answer in ((text, other_text, other_key), (other_text, text, key)):
            if answer and _states(says, asks, answer):
                return f"{says!r} states {answer!r}, the key of {asks!r}"
    return None


def _states(text: str, question: str, key: str) -> bool:
    want = normalise(key)
    if not want or f" {want} " not in f" {normalise(text)} ":
        return False
    subject = set(terms(question)) - set(terms(key))
    return len(subject & set(terms(text))) >= GIVES_AWAY_TERMS


_TOKEN = re.compile(r"[\w'’%.-]*\w[%]?|[^\w\s]")
_NEGATION = frozenset("not no never without cannot neither nor n't".split())


def _stems(text: str) -> set[str]:
    return {stem(t) for t in terms(text)}


def false_statement_problem(statement: str, correction: str, sentence: str) -> str | None:
    """Why a false true/false statement does not plainly contradict its correction and the
    source `sentence` the correction comes from; None when it changes one detail of it, for
    words that sentence does not say (or adds or drops a negation)."""
    said, true = _TOKEN.findall(str(statement)), _TOKEN.findall(str(correction))
    blocks = [(said[i1:i2], true[j1:j2]) for op, j1, j2, i1, i2 in
              difflib.SequenceMatcher(None, [t.lower() for t in true], [t.lower() for t in said],
                                      autojunk=False).get_opcodes() if op != "equal"]
    blocks = [(new, old) for new, old in blocks if _stems(" ".join(new)) | _stems(" ".join(old))
              or _NEGATION & {t.lower() for t in new + old}]
    if not blocks:
        return "the statement says what its correction says: it is true"
    if len(blocks) > 1:
        return f"it changes {len(blocks)} details of its correction, not one"
    new, old = (" ".join(part) for part in blocks[0])
    negated = _NEGATION & {t.lower() for t in blocks[0][0] + blocks[0][1]}
    if not new or not old:
        return None if negated else f"it {'adds' if new else 'drops'} {new or old!r} without a negation: " \
                                    "the statement may still be true"
    if negated:
        return None
    if NUMBER.findall(new) == NUMBER.findall(old) and _stems(new) <= _stems(old):
        return f"{new!r} rewords {old!r}: the statement still says what its correction says"
    if (items := list_with(old, sentence)) and not NUMBER.search(old):
        return f"it swaps {old!r}, one of {len(items)} items listed in its source, for {new!r}: " \
               "a learner cannot tell the list is not longer"
    new_terms = [t for t in terms(new) if not t.isdigit()]
    if (new_terms and all(stem(t) in _stems(sentence) for t in new_terms)
            and set(NUMBER.findall(new)) <= set(NUMBER.findall(sentence))):
        return f"its new words {new!r} are in the source sentence: the statement may be true there"
    return None


def stages_in(chunks) -> int | None:
    """How many stages the roadmap has: the highest stage of any chunk (None without stages)."""
    return max((c.stage for c in chunks if c.stage), default=None)


def renumbered(options: list, answer: int) -> list[str]:
    """The wrong options that are the key with the digits inside its names changed, when
    there are at least two ("4Blue2Brown" and "5Blue3Brown" beside "3Blue1Brown"; "L3 (ridge)
    and L2 (lasso)" beside "L2 (ridge) and L1 (lasso)"); [] otherwise. Numbers that stand
    alone ("175 billion", "weeks 9-16") are what a question about a quantity varies, and one
    sibling ("GPT-2" beside "GPT-3") can be a real name."""
    key = str(options[answer])
    if not _NAME_WITH_DIGITS.search(key):
        return []
    shape = _NAME_WITH_DIGITS.sub("#", key.lower())
    same = [str(o) for i, o in enumerate(options) if i != answer and _NAME_WITH_DIGITS.sub("#", str(o).lower()) == shape]
    return same if len(same) >= 2 else []


def stage_problem(question: str, kind: str, answer, options: list, own_stage: int | None = None,
                  stages: int | None = None) -> str | None:
    """Why a question asking which stage something belongs to cannot be answered as asked,
    or gives itself away in a quiz on `own_stage` (the stage of its source), or asks about
    another stage than that one, or names a stage beyond the roadmap's `stages`."""
    if stages and (beyond := _beyond(question, kind, options, answer, stages)):
        return f"names {beyond!r}, a stage the roadmap (stages 1-{stages}) does not have"
    if own_stage is not None and (other := {int(n) for n in _STAGE_NAMED.findall(question)} - {own_stage}):
        return f"asks about stage {min(other)} in a stage {own_stage} quiz"
    if kind == "tf" and _STAGE_CLAIM.search(question):
        return "a true/false statement about which stage something is in: the quiz's own stage settles it"
    if not _ASKS_STAGE.search(question) or _ASKS_NAME.search(question):
        return None
    key = str(options[answer]) if kind == "mcq" and isinstance(answer, int) and 0 <= answer < len(options) else str(answer)
    if own_stage is not None and kind in ("mcq", "short") and \
            (found := _STAGE_NUMBER_IN.search(key)) and int(found.group(1) or found.group(2)) == own_stage:
        return f"the key is stage {own_stage}, the stage of the quiz it is served in: the quiz gives it away"
    if found := _NOT_A_STAGE.search(question):
        return f"asks for a stage but names {found.group(0)!r}: stages are Roadmap A's, quarters Roadmap B's"
    answers = [str(o) for o in options] if kind == "mcq" else [str(answer)] if kind == "short" else []
    if quarter := next((a for a in answers if _QUARTER.search(a)), None):
        return f"asks for a stage, yet {quarter!r} is one of Roadmap B's quarters"
    if kind == "short" and not _STAGE_NUMBER.match(str(answer)):
        return f"asks for a stage, the key {answer!r} is not a stage number (a learner answering 'stage N' is marked wrong)"
    return None


def _beyond(question: str, kind: str, options: list, answer, stages: int) -> str | None:
    texts = [question] + ([str(o) for o in options] if kind == "mcq" else [str(answer)] if kind == "short" else [])
    for text in texts:
        if (found := _STAGE_NAMED.search(text)) and int(found.group(1)) > stages:
            return found.group(0)
    if _ASKS_STAGE.search(question) and not _ASKS_NAME.search(question):  # "What stage ...?" over "5"
        answers = texts[1:]
        return next((a for a in answers if _STAGE_NUMBER.match(a) and int(re.sub(r"\D", "", a)) > stages), None)
    return None


def list_with(key: str, text: str) -> list[str] | None:
    """The items of a list in `text` that `key` is one of, or None when `key` is no list's
    item. An item may carry the clause's lead-in ("names MLflow") and one word after the key
    ("provides the Transformers library"). The list is the run of short items (at most
    LIST_ITEM_WORDS words; asides such as "for example ..." are not items) next to the key's
    item, and the longer items that open and close it ("Activation functions such as ReLU,
    sigmoid, tanh and GELU add ..."): a long clause elsewhere in the sentence does not hide it."""
    want = normalise(key)
    if not want:
        return None
    for sentence in sentences(text):
        for clause in _CLAUSE.split(sentence):
            items = [i.strip() for i in _LIST_SPLIT.split(clause) if i.strip()]
            short = [len(i.split()) <= LIST_ITEM_WORDS and not _ASIDE.match(i) and not _PARTICIPLE.match(i)
                     for i in items]
            for k, item in enumerate(items):
                if not re.search(rf"(^| ){re.escape(want)}( \w+)?$", normalise(item)):
                    continue
                first, last = k, k
                while short[k] and first > 0 and short[first - 1]:  # a long item opens a list, never ends one
                    first -= 1
                while last + 1 < len(items) and short[last + 1]:
                    last += 1
                if last > k or first < k:  # at least one short sibling
                    first -= first > 0 and not _ASIDE.match(items[first - 1])
                    last += last + 1 < len(items) and not _ASIDE.match(items[last + 1])
                    return items[first:last + 1]
    return None


OR_WORDS = 2  # words of the other side of a plain "or" read as its alternative (_beside_or)
_EITHER = re.compile(r"\beither\s+(?P<a>.+?)\s+or\s+(?P<b>[^,;]+)|\bboth\s+(?P<c>.+?)\s+and\s+(?P<d>[^,;]+)", re.I)


def alternative_with(key: str, text: str, question: str = "") -> tuple[str, str] | None:
    """(the key's branch, the other) when `text` says "either A or B" or "both A and B" with the
    key in one branch, and the question does not pick that branch by a word only it has ("What
    segmentation does U-Net use?" picks "by class (semantic segmentation, for example with
    U-Net)"); None otherwise. "What is the main method of QA?" keyed "extractive QA", of
    "either by extracting a span (extractive QA ...) or by generating an answer", is partial."""
    want = normalise(key)
    if not want:
        return None
    for sentence in sentences(text):
        for found in _EITHER.finditer(sentence):
            a, b = (found.group("a"), found.group("b")) if found.group("a") else (found.group("c"), found.group("d"))
            for mine, other in ((a, b), (b, a)):
                if f" {want} " not in f" {normalise(mine)} ":
                    continue
                own = set(terms(mine)) - set(terms(other)) - set(terms(key))
                if not own & set(terms(question)):
                    return mine.strip(), other.strip()
        if pair := _beside_or(want, normalise(sentence), question):
            return pair
    return None


def _beside_or(want: str, sentence: str, question: str) -> tuple[str, str] | None:
    """(key, the other) when the key stands right beside a plain "or" of `sentence` (both
    normalised): "metrics suited to the problem (for example F1 or ROC AUC ...)" gives ROC AUC
    as one of two (written for stage 1 in session 19, dropped on review). The other side is the
    OR_WORDS words next to "or"; a question that names one of them picks the key's side."""
    words, key = sentence.split(), want.split()
    for i in range(len(words) - len(key) + 1):
        if words[i:i + len(key)] != key:
            continue
        end = i + len(key)
        if words[end:end + 1] == ["or"]:
            other = words[end + 1:end + 1 + OR_WORDS]
        elif i and words[i - 1] == "or":
            other = words[max(0, i - 1 - OR_WORDS):i - 1]
        else:
            continue
        if other and not (set(terms(" ".join(other))) - set(key)) & set(terms(question)):
            return want, " ".join(other)
    return None


_ASKS_THE_ONE = re.compile(r"\b(main|primary|only)\b|\bthe (purpose|name of the|method|tool|reason)\b", re.I)


def partial_key_problem(c: Candidate, source_text: str) -> str | None:
    """Why the key is one of several right answers its source gives, or None. Short answers:
    a list item or an either/both branch, unless the question asks for one. Multiple choice:
    the same, when the question asks for the one ("the main method", "the purpose", "the
    name of the tool"): its premise is false."""
    if c.kind == "tf" or _ASKS_ONE.search(c.question) or (c.kind == "mcq" and not _ASKS_THE_ONE.search(c.question)):
        return None
    key = c.key_text()
    if items := list_with(key, source_text):
        return f"the key is one of {len(items)} listed in its source: {', '.join(items)}"
    if pair := alternative_with(key, source_text, c.question):
        return f"the key is one of two its source gives ({pair[0]!r} or {pair[1]!r})"
    return None


def title_key_problem(question: str, key: str, source: Chunk) -> str | None:
    """Why the key is its source's title rather than what the source's text says, or None.
    Support is scored on the chunk with its title, so "What is the milestone for stage 1?"
    keyed "Foundations and classical ML" (the stage's name, from the milestone chunk's
    title) passed every check; written twice by session 19's stage-1 builds. At least half
    of the key's words missing from the text, some of them in the title, and no question
    asking for a name or title."""
    if _ASKS_NAME.search(question):
        return None
    wanted = {stem(t) for t in terms(key) if not t.isdigit()}
    missing = wanted - {stem(t) for t in terms(source.text)}
    if wanted and 2 * len(missing) >= len(wanted) and missing & {stem(t) for t in terms(source.title)}:
        return f"the key {key!r} comes from its source's title ({source.title!r}), not from its text"
    return None


def one_correct_problem(c: Candidate) -> str | None:
    if c.kind == "mcq":
        if isinstance(c.answer, bool) or not isinstance(c.answer, int):
            return f"the key must be one option index, got {c.answer!r}"
        if not 0 <= c.answer < MCQ_OPTIONS:
            return f"the key index {c.answer} is not an option (0-{MCQ_OPTIONS - 1})"
    elif c.kind == "tf" and not isinstance(c.answer, bool):
        return f"a true/false key must be true or false, got {c.answer!r}"
    elif c.kind == "short" and not (isinstance(c.answer, str) and c.answer.strip()):
        return "a short answer key must be non-empty text"
    return None


def option_form(text: str) -> str:
    """"number", "sentence", "purpose" or "phrase" (see NUMBER_WORDS)."""
    text = str(text).strip()
    count = len(text.split())
    if NUMBER.search(text) and count <= NUMBER_WORDS:
        return "number"
    if text.endswith((".", "!", "?")) and count >= 4:
        return "sentence"
    return "purpose" if text.lower().startswith("to ") and count >= 3 else "phrase"


def same_length_class(a: str, b: str) -> bool:
    x, y = sorted((len(str(a).split()), len(str(b).split())))
    return y - x <= LENGTH_SLACK or y <= LENGTH_RATIO * x


def option_form_problem(options: list[str], answer: int) -> str | None:
    """Why a wrong option does not read like the key (the first one found); None when every
    option has the key's form and length class. A learner who can spot the odd one out by
    its shape needs no knowledge to answer."""
    key = str(options[answer])
    form, key_words = option_form(key), len(key.split())
    for i, option in enumerate(options):
        if i == answer:
            continue
        words = len(str(option).split())
        if words <= BARE_NAME_WORDS and key_words >= SENTENCE_WORDS and not same_length_class(option, key):
            return f"a bare name {option!r} beside the {key_words}-word key {key!r}"
        if (other := option_form(option)) != form:
            return f"{option!r} is a {other}, the key {key!r} a {form}"
        if not same_length_class(option, key):
            return f"{option!r} ({words} words) is not as long as the key {key!r} ({key_words} words)"
    return None


def distractors(c: Candidate) -> list[str]:
    if c.kind == "mcq":
        return [o for i, o in enumerate(c.options) if i != c.answer]
    if c.kind == "tf" and c.answer is False:
        return [c.question]  # the false statement must not be backed like its correction
    return []
