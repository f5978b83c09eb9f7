"""Generating candidate items: one item per prompt, from one source chunk of a stage,
many prompts per batch call (`generate_many`).

Sources are chunks of kind roadmap, paper or faq of the stage (or of one concept). They
are taken round-robin across four groups so a batch mixes them: concept pages (one
concept each, short and factual: the best sources), paper summaries, FAQs, then the
rest of the stage's roadmap text. The model fills a JSON schema (schema.py) through
`llm.json_many`, so a reply is structured even from a 1.5B model; what it says is then checked
against its source by validate.py before the item can be served.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from collections.abc import Iterable

from tutor.answer import Tutor
from tutor.errors import TutorError
from tutor.quiz.schema import Candidate, generation_schema
from tutor.quiz.swaps import Siblings, replacement_for, sibling_names, subject_group, subject_in
from tutor.text import LINKS, NUMBER, PLACEMENT, STOPWORDS, sentences, terms
from tutor.types import Chunk

SOURCE_KINDS = ("roadmap", "paper", "faq")
MIN_SOURCE_CHARS = 120  # shorter sections (a heading and a line) hold no testable fact
MAX_ITEM_TOKENS = 320
_SOURCE_SAYS = re.compile(r"^(according to )?the (source|text)( says| states)?( that)?,?\s*", re.I)
TEMPERATURE = 0.2  # a little variety, so a second pass over a chunk can ask something else


def _group(chunk: Chunk) -> int:
    return {"concept": 0, "paper": 1}.get(subject_group(chunk), 2 if chunk.kind == "faq" else 3)


def source_chunks(chunks: Iterable[Chunk], stage: int, concept: str | None = None) -> list[Chunk]:
    """The stage's usable source chunks, interleaved across groups (concept pages first)."""
    usable = [c for c in chunks if c.stage == stage and c.kind in SOURCE_KINDS
              and len(c.text) >= MIN_SOURCE_CHARS and (concept is None or concept in c.concepts)]
    groups = [sorted((c for c in usable if _group(c) == g), key=lambda c: c.id) for g in range(4)]
    ordered = []
    for i in range(max((len(g) for g in groups), default=0)):
        ordered += [g[i] for g in groups if i < len(g)]
    return ordered


def _seed(*parts: str) -> int:
    return int(hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12], 16)


def to_candidate(kind: str, data: dict, seed: int) -> Candidate:
    """The model's JSON in the stored shape; malformed fields are kept as they are, for
    the schema check to name."""
    fact, explanation = data.get("fact", ""), data.get("explanation", "")
    if kind == "mcq":
        correct, wrong = data.get("correct"), data.get("wrong")
        options = list(wrong) if isinstance(wrong, list) else []
        position = random.Random(seed).randint(0, len(options))
        options.insert(position, correct)
        return Candidate("mcq", data.get("question", ""), position, options, explanation, fact)
    if kind == "tf" and "changed" in data:  # a false statement, written as one detail swapped
        return Candidate("tf", swapped(fact, data.get("changed"), data.get("replacement")), False, [],
                         explanation, fact, fact)
    if kind == "tf":
        return Candidate("tf", _plain(data.get("statement", "")), data.get("answer"), [], explanation, fact,
                         _plain(data.get("correction", "")))
    return Candidate("short", data.get("question", ""), data.get("answer"), [], explanation, fact)


def swapped(fact, changed, replacement):
    """`fact` with the words `changed` (their first occurrence, matched whole and in any case)
    replaced by `replacement`; `fact` unchanged when it does not hold them, or when the
    replacement is the prompt's instruction copied ("different name or term of the same type",
    a stage-2 build of session 13): the validator then rejects a "false" statement that says
    what its source says. Words the replacement repeats from around `changed` are taken off
    ("stepping the" + "stepping the weights" read "stepping the stepping the weights")."""
    if not all(isinstance(t, str) and t.strip() for t in (fact, changed, replacement)):
        return fact
    found = re.search(rf"(?<!\w){re.escape(changed.strip())}(?!\w)", fact, re.I)
    if not found or _INSTRUCTION.search(replacement) or _retyped(found.group(0), replacement):
        return fact
    before, after = fact[:found.start()], fact[found.end():]
    return before + _unrepeated(replacement.strip(), before, after) + after


def _retyped(changed: str, replacement: str) -> bool:
    """A number put for a name or a name for a number ("Using scikit-learn 2 keeps ..." for
    "Pipelines"), or a lower-case word for a name ("a use explaining" for "a README explaining",
    "served as an annotated" for "an API"; session 13's builds): rejected for its grammar, not
    its content."""
    changed, replacement = changed.strip(), replacement.strip()
    if bool(NUMBER.fullmatch(changed)) != bool(NUMBER.fullmatch(replacement)):
        return True
    return changed[:1].isupper() and replacement == replacement.lower()


_INSTRUCTION = re.compile(r"\b(name or term|of the same type|that the source does not say)\b", re.I)


def _unrepeated(replacement: str, before: str, after: str) -> str:
    """`replacement` without the words at its start that end `before` and those at its end that
    open `after` (compared in any case); never all of it."""
    words = replacement.split()
    tail, head = before.lower().split(), after.lower().split()
    start = max((k for k in range(1, len(words)) if [w.lower() for w in words[:k]] == tail[-k:]), default=0)
    end = max((k for k in range(1, len(words) - start) if [w.lower() for w in words[-k:]] == head[:k]), default=0)
    return " ".join(words[start:len(words) - end])


def _plain(statement):
    """"The source says that X is ..." -> "X is ...": the learner never sees the source."""
    if not isinstance(statement, str):
        return statement
    rest = _SOURCE_SAYS.sub("", statement, count=1)
    return rest[:1].upper() + rest[1:] if rest != statement else statement


def primary_concept(chunk: Chunk, text: str, prefer: str | None = None) -> str | None:
    """The chunk's concept the item is about: most concept-name words in the item's text
    (`prefer`, the concept a build was asked for, wins a tie)."""
    if not chunk.concepts:
        return None
    words = set(terms(text))
    return max(chunk.concepts, key=lambda cid: (sum(w in words for w in cid.split("-")), cid == prefer))


def _usable(chunk: Chunk) -> list[str]:
    """The chunk's sentences an item can test, the placement line last."""
    usable = [s for s in sentences(chunk.text) if not s.startswith("#") and len(terms(s)) >= 5]
    return sorted(usable, key=lambda s: bool(PLACEMENT.search(s)))  # what a concept is before where it sits


def focus_sentence(chunk: Chunk, attempt: int = 0) -> str:
    """The sentence an item tests, chosen here rather than by the model (a small model left
    to choose copies long stretches or picks a heading); later passes take the next one.
    A concept page's "X is part of stage 2 (...)" line (a paper's "belongs to stage 3")
    comes last: placement is what the roadmap view already shows, the content is what a quiz
    should test."""
    usable = _usable(chunk)
    return usable[attempt % len(usable)] if usable else chunk.text[:300]


def false_focus(chunk: Chunk, attempt: int = 0) -> str | None:
    """The sentence a false statement changes: one whose detail is a number or a name
    (checkable_detail) or that names its chunk's own paper or concept once (swaps.subject_in),
    later passes taking the next; None when the chunk has none. A common
    word swapped came back as a synonym or broke the grammar in all 4 such items review read
    (sessions 12-13: 'contest' for 'competition', 'weights' for 'parameters', 'univariate' for
    'time-series', 'Prompt commands designs'), while the 5 kept changed a number or a name."""
    # a name swapped in a placement or link line says nothing about what the concept is
    usable = [s for s in _usable(chunk) if not PLACEMENT.search(s) and not LINKS.match(s)
              and (checkable_detail(s) or subject_in(s, chunk))]
    return usable[attempt % len(usable)] if usable else None


def truth_of(chunk: Chunk, kind: str, attempt: int) -> bool:
    """Whether a true/false job asks for a true statement: by a seeded coin, half of them."""
    return random.Random(_seed(chunk.id, kind, str(attempt)) + 1).random() < 0.5


# A number that bounds something ("before week 1", "from week 1", "a 1 GB+ data set", "Python
# 3.11 or newer"): moved, the claim gets weaker or stronger rather than false ("before week 3"
# still holds for what is done before week 1); review dropped 4 such swaps in session 14.
_BOUND_BEFORE = re.compile(r"\b(before|after|from|by|until|since|over|under|at least|at most|more than|"
                           r"less than|fewer than|up to|within)( (the )?(week|month|year|day)s?)? $", re.I)
_BOUND_AFTER = re.compile(r"( [A-Za-z]+)?(\s*\+| or (more|newer|later|fewer|less|above|below)\b)")
_NAME = re.compile(r"(?<=\S )[A-Z][\w.+#-]*[A-Za-z0-9](?: [A-Z][\w.+#-]*[A-Za-z0-9])*")


def checkable_detail(sentence: str) -> str | None:
    """A detail of `sentence` a learner can check: a number, else a name inside the sentence
    that is not one item of a list there; None when it has neither. Not a stage's or a
    quarter's number ("stage 1", "stages 1 and 2", "Q1": the quiz's own stage settles it), nor digits inside a
    name ("3Blue1Brown"), nor the second word of a name ("Forests" of "Random Forests"), nor
    "Roadmap A/B", nor an end of a range ("weeks 9-16" changed to "weeks 12-16" is a quibble,
    to "4-3 papers" nonsense), nor a version ("GPT-3"), nor a bound ("before week 1", "1 GB+",
    "1 GB or more", "3.11 or newer")."""
    for found in NUMBER.finditer(sentence):
        before, after = sentence[:found.start()], sentence[found.end():]
        if _BOUND_BEFORE.search(before) or _BOUND_AFTER.match(after):
            continue
        if not re.search(r"(\bstages?\s*(\d+\s*(,|and|or)\s*)*|[A-Za-z]-?|\d\s*[-–]\s*)$", before, re.I) \
                and not re.match(r"[A-Za-z]|\s*[-–]\s*\d", after):
            return found.group(0)
    for found in _NAME.finditer(sentence):
        before = sentence[:found.start()].split()
        if not _listed(found, sentence) and not found.group(0).startswith("Roadmap") \
                and not (before and before[-1][:1].isupper()):
            return found.group(0)
    return None


def false_detail(sentence: str, chunk: Chunk | None = None) -> str:
    """The detail a false statement changes, chosen here (the model, left to choose, named
    words its sentence does not hold, so nothing changed: 2 of 2 in a stage-1 build of session
    12): the chunk's own paper or concept when the sentence names it (another of the stage's
    is put in its place, swaps.py), else a number or a name (checkable_detail), else its
    longest content word."""
    if chunk is not None and (name := subject_in(sentence, chunk)):
        return name
    if found := checkable_detail(sentence):
        return found
    words = sorted((w for w in re.finditer(r"[A-Za-z][\w-]+", sentence) if w.group(0).lower() not in STOPWORDS
                    and not w.group(0).endswith("ly") and not _listed(w, sentence)),
                   key=lambda w: len(w.group(0)), reverse=True)
    return words[0].group(0) if words else sentence.split()[-1]


def _listed(found: re.Match, sentence: str) -> bool:
    """Whether the words `found` are one item of a list ("ReLU, sigmoid, tanh and GELU"): a
    learner cannot tell a list with one item swapped is not the whole list."""
    from tutor.quiz.validate import list_with

    before, after = sentence[:found.start()], sentence[found.end():]
    return bool(list_with(found.group(0), sentence) or re.search(r"(,|\band|\bor)\s*$", before)
                or re.match(r"\s*(,|and\b|or\b)", after))


def _request(tutor: Tutor, chunk: Chunk, kind: str, attempt: int, truth: bool,
             siblings: Siblings) -> tuple[list[dict], int, str, str, str | None]:
    """The prompt for one candidate, its seed (`attempt` varies option order), the sentence it
    tests and, for a false statement, the detail to change and what replaces it by rule
    (swaps.py; None leaves it to the model)."""
    seed = _seed(chunk.id, kind, str(attempt))
    false = kind == "tf" and not truth
    focus = (false_focus(chunk, attempt) if false else None) or focus_sentence(chunk, attempt)
    detail = false_detail(focus, chunk) if false else ""
    replacement = replacement_for(detail, focus, chunk, siblings, seed) if false else None
    messages = tutor.prompts.messages("quiz", kind=kind, truth=truth, title=chunk.title.split(" — ")[0],
                                      text=chunk.text, focus=focus, detail=detail)
    return messages, seed, focus, detail, replacement


def _as_asked(reply, focus: str, detail: str):
    """A false statement's reply on the sentence it was asked to change, as the source says
    it (the model's copy is not used: in a stage-1 build it copied "stage 1" as "stage 2",
    and the changed copy became the correction), and the model's "changed" words only when
    that sentence holds them, else the detail it was asked to change."""
    if not detail or not isinstance(reply, dict):
        return reply
    changed = reply.get("changed")
    if not (isinstance(changed, str) and changed.strip() and changed.strip() in focus):
        changed = detail
    return {**reply, "fact": focus, "changed": changed}


Job = tuple  # (source chunk, kind, attempt[, truth]): truth True/False asks a true/false item for
             # that verdict (the build's quota, bank.build_stage); absent or None, a seeded coin decides


def generate_many(tutor: Tutor, jobs: list[Job]) -> list[Candidate | Exception]:
    """Candidates for many jobs, in order, the model's part in one `json_many` call per kind
    and temperature (a GPU batch under vllm, llama.cpp's slots in process). A job whose reply
    is not JSON gets its exception in its place; since one bad reply fails a batch call, that
    batch is then asked again one job at a time."""
    out: list[Candidate | Exception | None] = [None] * len(jobs)
    siblings = sibling_names(tutor.index.chunks)
    groups: dict[tuple[str, bool, float], list[int]] = defaultdict(list)
    for i, (chunk, kind, attempt, *asked) in enumerate(jobs):
        truth = kind != "tf" or (asked[0] if asked and asked[0] is not None else truth_of(chunk, kind, attempt))
        if not truth and false_focus(chunk, attempt) is None:  # nothing checkable to change: a true item
            truth = True
        groups[(kind, truth, TEMPERATURE if attempt else 0.0)].append(i)
    for (kind, truth, temperature), members in groups.items():
        requests = [_request(tutor, *jobs[i][:3], truth, siblings) for i in members]
        for i, (_, _, focus, detail, replacement) in zip(members, requests):
            if replacement:  # a false statement swapped by rule: nothing for the model to write
                out[i] = ruled_false(focus, detail, replacement)
        left = [(i, r) for i, r in zip(members, requests) if out[i] is None]
        if not left:
            continue
        members, requests = [i for i, _ in left], [r for _, r in left]
        schema = generation_schema(kind, truth)
        try:
            replies = tutor.llm.json_many([r[0] for r in requests], schema, max_tokens=MAX_ITEM_TOKENS,
                                          temperature=temperature)
        except (TutorError, ValueError):
            replies = [_one_json(tutor, r[0], schema, temperature) for r in requests]
        for i, (_, seed, focus, detail, _), reply in zip(members, requests, replies):
            out[i] = reply if isinstance(reply, Exception) else to_candidate(kind, _as_asked(reply, focus, detail), seed)
    return out


def ruled_false(focus: str, detail: str, replacement: str) -> Candidate:
    """A false statement made by rule: the source sentence with `detail` swapped for
    `replacement` (swaps.py), explained by the sentence itself. The model's explanations of
    such swaps were wrong in 4 of 5 candidates of the first build with them ("it replaces
    'maths and' with 'maths and'", "you need four things instead of three"); the source
    sentence is right by construction."""
    return Candidate("tf", swapped(focus, detail, replacement), False, [], f"The roadmap says: {focus}", focus, focus)


def _one_json(tutor: Tutor, messages: list[dict], schema: dict, temperature: float) -> dict | Exception:
    try:
        return tutor.llm.json(messages, schema, max_tokens=MAX_ITEM_TOKENS, temperature=temperature)
    except (TutorError, ValueError) as exc:
        return exc
