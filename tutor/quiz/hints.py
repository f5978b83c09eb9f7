"""Quiz mode in chat: graduated hints for an open item, never its key.

The level is the number of hints already given for the item in the conversation, plus one:
    1  names the concept the question is about
    2  recalls the opening of the source sentence the item tests, up to the key's masked
       words (____): the rest of the sentence can restate the key in other words
    3  rules out one distractor (mcq; the least supported one), plus the level-2 sentence

Defence in depth against giving the key away:
    - the prompt (prompts/hint.j2) never contains the key, nor the options (which contain it);
    - the source text it is given has every word of the key masked;
    - a learner's message that asks for a verdict on a guess ("is it B?", "so it's X, right?",
      "true or false?") gets a fixed reply without asking the model at all: no verdict, a
      template hint;
    - `leaks()` rejects a hint that states the key literally (normalised text, its words,
      spelled, reversed or base64-encoded; its option letter or number named as the answer;
      for true/false items any true/false verdict), or names any option as the answer (the
      model never sees the options, so that is a guess);
    - `tutor.quiz.leaks.LeakCheck` rejects one that gives it away by meaning: the key in other
      words, a verdict on a guess, options ruled out until one is left (counted over the
      conversation), a true/false verdict in substance.
  A rejected hint is replaced by a template hint (templates pass the same checks, falling
  back to a generic one). For true/false items the level-2 hint asks a guiding question
  instead of quoting the source sentence, which would settle the verdict.
Once the learner has answered the item (POST /api/quizzes/{id}/answers), the chat gives
the key and the explanation with its citation instead.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tutor import conversations
from tutor.answer import Tutor
from tutor.errors import NotFound
from tutor.models import Conversation, Quiz, QuizAttempt, QuizHint, QuizItem
from tutor.quiz.bank import key_text as stored_key_text
from tutor.quiz.grade import key_json, key_of
from tutor.quiz.leaks import ItemView, LeakCheck, base, document_frequencies
from tutor.quiz.schema import LETTERS
from tutor.quiz.validate import normalise
from tutor.roadmap import Roadmap
from tutor.events import Event, closing_events
from tutor.form import without_markup
from tutor.text import stem, terms
from tutor.types import Answer, Citation

HINT_TOKENS = 60
MAX_MESSAGE_CHARS = 300
BLANK = "____"
ORDINALS = ("first", "second", "third", "fourth")
CONFIRM_REPLY = "I can't confirm or rule out an answer while this question is open. "
_VERDICT = re.compile(r"\b(true|false|correct|incorrect|right|wrong)\b", re.I)


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def key_words(item: QuizItem) -> list[str]:
    """The words that give the key away (for true/false: none, the verdict is the key)."""
    if item.kind == "tf":
        return []
    key = key_json(item)
    return terms(key["text"] if item.kind == "mcq" else str(key["answer"]))


def mask(text: str, words: list[str]) -> str:
    """Replace every word sharing a stem with a key word (and every key number) by ____;
    singular and plural, with and without a hyphen, count as one word ("unit", "units")."""
    stems = {stem(w) for w in words} | {base(w) for w in words}
    return re.sub(r"[A-Za-z0-9]+(?:[.+#-][A-Za-z0-9]+)*",
                  lambda m: BLANK if {stem(m.group(0).lower()), base(m.group(0))} & stems else m.group(0), text)


def _letter_patterns(index: int) -> list[re.Pattern]:
    letter, number = LETTERS[index], index + 1
    return [
        re.compile(rf"\b(option|choice|answer|letter|pick|choose|select)\s*(is\s*|was\s*)?[:#(\"']?\s*{letter}\b", re.I),
        re.compile(rf"\(\s*{letter}\s*\)", re.I),
        re.compile(rf"(^|\s){letter}\s*[).:](\s|$)"),
        re.compile(rf"\b(is|it's|be)\s+{letter}\b"),
        re.compile(rf"\b(option|choice|answer|number|index)\s*(is\s*)?(no\.?|#)?\s*[:(]?\s*({number}|{index})\b", re.I),
        re.compile(rf"\b{ORDINALS[index]}\s+(option|choice|one)\b", re.I),
    ]


def names_an_option(text: str, item: QuizItem) -> bool:
    """Whether `text` points at any option by letter or number as the answer (mcq)."""
    if item.kind != "mcq":
        return False
    return any(p.search(text) for i in range(len(json.loads(item.options))) for p in _letter_patterns(i))


def leaks(hint: str, item: QuizItem) -> str | None:
    """Why `hint` gives the key away, or None when it does not."""
    if item.kind == "tf":
        return "states a true/false verdict" if _VERDICT.search(hint) else None
    key_text = stored_key_text(item)
    normal_key, normal_hint = normalise(key_text), f" {normalise(hint)} "
    if normal_key and f" {normal_key} " in normal_hint:
        return "contains the key"
    words = {stem(t) for t in terms(key_text)}
    if words and words <= {stem(t) for t in terms(hint)}:
        return "contains every word of the key"
    compact_key, compact_hint = _compact(key_text), _compact(hint)
    if len(compact_key) >= 4 and (compact_key in compact_hint or compact_key[::-1] in compact_hint):
        return "spells the key"
    encoded = {base64.b64encode(v.encode()).decode().rstrip("=") for v in (key_text, normal_key) if v}
    if any(len(e) >= 4 and e in hint for e in encoded):
        return "encodes the key"
    if item.kind == "mcq" and any(p.search(hint) for p in _letter_patterns(key_of(item))):
        return "names the key's option"
    return None


# -- hint material --------------------------------------------------------------------------

def concept_name(item: QuizItem, roadmap: Roadmap | None) -> str:
    """The item's concept by name, masked: when the key is the concept's own name, naming it
    would give it away."""
    concept = roadmap.concept_by_id.get(item.concept_id) if roadmap and item.concept_id else None
    return mask(concept.name if concept else item.source_title.split(" — ")[0], key_words(item))


def _source_sentence(tutor: Tutor, item: QuizItem) -> str:
    """The source sentence closest to the question and its key, masked."""
    chunk = next((c for c in tutor.index.chunks if c.id == item.chunk_id), None)
    if chunk is None:
        return mask(item.fact, key_words(item))
    parts, vectors = tutor.sentence_vectors.get(chunk)
    probe = f"{item.question} {json.dumps(key_json(item))}"
    best = parts[int(np.argmax(vectors @ tutor.embedder.encode_one(probe)))]
    return mask(best.lstrip("# "), key_words(item))


def opening(masked: str) -> str | None:
    """A masked source sentence up to its first run of blanks, which is the part a learner
    is asked to recall; None when fewer than three words come before it. What follows can
    say the key again in other words: for "What does Adam keep for every parameter?" (key
    "two running averages of the gradient") the whole sentence went on "an exponential
    moving ____ of the ____ (the first moment, like momentum) and of the squared ____", and
    the LLM judge read that hint as giving the key (eval/results/2026-12-01-quiz-leaks.json)."""
    found = re.search(rf"{BLANK}(?:\W+{BLANK})*", masked)
    if found is None:
        return masked
    if len(masked[:found.start()].split()) < 3:
        return None
    return masked[:found.end()] + " ..."


def weakest_distractor(item: QuizItem) -> int | None:
    """The option the level-3 hint rules out: the distractor the source backs least. Only
    ever one, so the graduated hints leave at least two options open (n >= 3)."""
    if item.kind != "mcq":
        return None
    key, options = key_of(item), json.loads(item.options)
    wrong = [i for i in range(len(options)) if i != key]
    if len(options) < 3:
        return None
    scores = json.loads(item.scores).get("distractors") or [0.0] * len(wrong)
    return wrong[int(np.argmin(scores[:len(wrong)]))]


def _ruled_out(item: QuizItem) -> str | None:
    weakest = weakest_distractor(item)
    if weakest is None:
        return None
    option = json.loads(item.options)[weakest]
    return f"You can rule out {LETTERS[weakest]}) \"{option}\": the source does not back it."


def topic_hint(concept: str) -> str:
    """The least a hint says: the item's topic, which its question names already."""
    return f"Hint: this question is about {concept}. Think about what the roadmap says about it."


def templates(item: QuizItem, level: int, concept: str, fact: str) -> list[str]:
    """Safe hints, most helpful first (each still passes through the leak checks)."""
    title = mask(item.source_title.split(" — ")[0], key_words(item))
    first = topic_hint(concept)
    if item.kind == "tf":  # quoting the source sentence would settle the verdict
        recall = (f"Hint: find what the source ({title}) says about {concept}, then compare it with "
                  f"the statement one claim at a time: does each part match what you read?")
    elif cue := opening(fact):
        recall = f"Hint: the source ({title}) says: \"{cue}\""
    else:
        recall = first
    ruled = _ruled_out(item)
    by_level = {1: [first], 2: [recall, first], 3: [f"{ruled} {recall}" if ruled else recall, recall, first]}
    return by_level[level] + [f"Hint: reread what the stage {item.stage} material says about this question."]


_FREQUENCIES: dict[int, tuple] = {}


def leak_check(tutor: Tutor) -> LeakCheck:
    """The semantic check with the word frequencies of the tutor's index (counted once per
    loaded index: a few hundred milliseconds)."""
    index = tutor.index
    if id(index) not in _FREQUENCIES:
        _FREQUENCIES.clear()
        _FREQUENCIES[id(index)] = document_frequencies([c.text for c in index.chunks])
    return LeakCheck(tutor.embedder, frequencies=_FREQUENCIES[id(index)])


@dataclass(frozen=True)
class Hint:
    text: str
    source: str  # "model"; "template" (the model's hint leaked); "fixed" (a guess: no model asked)
    reason: str | None = None  # why the model's hint was not sent


def hint(tutor: Tutor, item: QuizItem, level: int, message: str, roadmap: Roadmap | None = None,
         earlier: tuple[str, ...] = ()) -> Hint:
    """One quiz-mode reply for an open item; `earlier`: the conversation's earlier replies
    (options they ruled out count towards "all but one ruled out")."""
    check = leak_check(tutor)
    concept = concept_name(item, roadmap)
    fact = _source_sentence(tutor, item) if level >= 2 and item.kind != "tf" else ""
    allowed = weakest_distractor(item) if level >= 3 else None

    def passes(text: str, to: str = "") -> bool:
        return not leaks(text, item) and not check.check(text, item, to, earlier, allowed)

    if check.is_guess(message, ItemView.of(item)):
        # No verdict, and no option ruled out in reply to a guess (it may name that option).
        fixed = [CONFIRM_REPLY + t for t in templates(item, min(level, 2), concept, fact)]
        return Hint(next((t for t in fixed if passes(t, message)), fixed[-1]), "fixed", "asks for a verdict on a guess")
    ruled = _ruled_out(item) if level >= 3 else None
    material = " ".join(x for x in (f"It is about {concept}." if level == 1 else fact or
                                    f"It is about {concept}.", ruled) if x)
    messages = tutor.prompts.messages("hint", question=item.question, level=level, concept=concept,
                                      material=material, message=message[:MAX_MESSAGE_CHARS])
    text = without_markup(tutor.llm.complete(messages, max_tokens=HINT_TOKENS, temperature=0.0).text).strip()
    # The model never sees the options, so any option it names as the answer is a guess:
    # misleading when wrong, a leak when right. Either way the hint is not sent.
    reason = ("empty" if not text else "names an option" if names_an_option(text, item)
              else "adds nothing to the question" if _adds_nothing(text, item) else None)
    if reason is None:
        text = " ".join(x for x in (ruled, text) if x)  # level 3 always rules one option out
        reason = leaks(text, item) or check.check(text, item, message, earlier, allowed)
        if reason is None:
            return Hint(text, "model")
    safe = templates(item, level, concept, fact)
    return Hint(next((t for t in safe if passes(t)), safe[-1]), "template", reason)


def _adds_nothing(text: str, item: QuizItem) -> bool:
    """A hint whose words are all the question's ("Adam keeps parameters for every
    parameter" for "What does Adam keep for every parameter?"): no help, so a template
    that names the concept or the source sentence is sent instead. Fewer than two new terms,
    since the shared crude stem keeps "keeps" apart from "keep"."""
    return len(set(map(stem, terms(text))) - set(map(stem, terms(item.question)))) < 2


def make_hint(tutor: Tutor, item: QuizItem, level: int, message: str,
              roadmap: Roadmap | None = None, earlier: tuple[str, ...] = ()) -> tuple[str, bool]:
    """(hint text, whether it is not the model's own hint)."""
    given = hint(tutor, item, level, message, roadmap, earlier)
    return given.text, given.source != "model"


# -- the chat turn ------------------------------------------------------------------------

def load_item(engine: Engine, item_id: str) -> QuizItem:
    with Session(engine) as session:
        item = session.get(QuizItem, item_id)
        if item is None or item.status != "accepted":
            raise NotFound(f"no quiz item {item_id!r}")
        return item


def _answered(session: Session, item_id: str, conversation_id: str, learner_id: str | None) -> bool:
    query = select(QuizAttempt.id).join(Quiz, Quiz.id == QuizAttempt.quiz_id).where(
        QuizAttempt.item_id == item_id, Quiz.graded_at.is_not(None))
    if learner_id:
        query = query.where(QuizAttempt.learner_id == learner_id)
    else:
        started = session.get(Conversation, conversation_id).created_at
        query = query.where(QuizAttempt.learner_id.is_(None), QuizAttempt.created_at >= started)
    return session.exec(query.limit(1)).first() is not None


def explanation_text(item: QuizItem) -> str:
    key = key_json(item)
    said = f"{key['letter']}) {key['text']}" if item.kind == "mcq" else \
        ("true" if key["answer"] else "false") if item.kind == "tf" else key["answer"]
    return f"The answer is {said}. {item.explanation} [1]".strip()


def hint_events(tutor: Tutor, engine: Engine, item_id: str, conversation_id: str, message: str,
                learner_id: str | None = None, roadmap: Roadmap | None = None
                ) -> Iterator[Event]:
    """The same event stream as Tutor.events, for one quiz-mode turn."""
    started = time.perf_counter()
    item = load_item(engine, item_id)
    with Session(engine) as session:
        answered = _answered(session, item_id, conversation_id, learner_id)
        given = session.exec(select(func.count()).select_from(QuizHint).where(
            QuizHint.conversation_id == conversation_id, QuizHint.item_id == item_id)).one()
    level = 0 if answered else min(given + 1, 3)
    yield "meta", {"question": message, "refused": False, "backend": tutor.llm.name,
                   "quiz_item_id": item_id, "hint_level": level}
    if answered:
        text, fallback = explanation_text(item), False
    else:
        earlier = tuple(t.content for t in conversations.history(engine, conversation_id) if t.role == "assistant")
        text, fallback = make_hint(tutor, item, level, message, roadmap, earlier)
        with Session(engine) as session:
            session.add(QuizHint(conversation_id=conversation_id, item_id=item_id, level=level,
                                 fallback=fallback))
            session.commit()
    cited = answered or level >= 2
    citations = (Citation(1, item.chunk_id, item.source_title, item.source, item.stage),) if cited else ()
    yield "token", text
    timings = {"total": time.perf_counter() - started}
    yield from closing_events(Answer(text, citations, False, 1.0 if answered else 0.0, tutor.llm.name, message,
                                     timings))
