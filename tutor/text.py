"""Small text functions shared by BM25, sentence selection and support scoring."""

from __future__ import annotations

import re

NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a number as stated: "16", "0.001"
NEGATION = re.compile(r"\b(not|no|never|without|neither|nor|cannot|none)\b|n't\b", re.I)
# Numbers written as words, up to twenty ("eight weeks", "two GPUs"); "single" is one.
NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())} | {"single": "1"}
NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.I)
# The number words that are counts wherever they stand, two to twenty: not "zero" or "one"
# ("one of the first papers", "the one about nonlinearity"), nor "single" ("small enough to
# study on a single GPU" is no quantity to prefer for "How big was GPT-2?").
COUNT_WORD = re.compile(r"\b(" + "|".join(w for w, n in NUMBER_WORDS.items() if n not in ("0", "1")) + r")\b", re.I)
# ... and in a claim to check, "single" as well: "trained on a single GPU" states a number
_CLAIMED_WORD = re.compile(r"\b(" + "|".join(w for w, n in NUMBER_WORDS.items() if w not in ("zero", "one"))
                           + r")\b", re.I)


def number_forms(word: str) -> list[str]:
    """A number and its other spelling ("8": "8", "eight"; "two": "two", "2"); any other word
    alone."""
    words = [w for w, n in NUMBER_WORDS.items() if n == word]
    return [word, *words, *([NUMBER_WORDS[word]] if word in NUMBER_WORDS else [])]


MARKER = re.compile(r"\s*\[(\d{1,3})\]")  # a citation marker the model writes, with its leading space
# Where a concept page (ingest/roadmap_docs.py) or a paper summary says its subject sits:
# "X is part of stage 2 (...)", "GPT-2 belongs to stage 3 of Roadmap A (...)"
PLACEMENT = re.compile(r"\b(?:is part of|belongs to) stage \d")
# the sentence ingest/loaders.py ends a paper summary with, from its front matter, and the
# words that ask for it: routing.py's cue for that section; context.py shows the sentence to
# them and to "who", "when" and "how old"
PUBLISHED = "The paper was published in"
PUBLISHED_CUES = "wrote written author authors published publish year"
# a question that asks who wrote a paper, or when it came out: routing.py puts that section
# first, published.py adds the sentence when the answer leaves it out
ASKS_WHO = re.compile(r"\bwho\b", re.I)
# A statement that opens by taking up the one before it, which says what it is about: "Doing
# that extra step turns the stage 2 milestone into a first portfolio piece." after the step;
# "Each combines the specialisation with the production skills of stage 4." after the list
# of projects (not "Each month should ...", which opens on its own subject)
TAKES_UP = re.compile(r"^(?:(?:Doing|Done|After|Before|With|Without|Beyond)\s+(?:this|that|these|those|it)\b|"
                      r"(?:This|That|These|Those|It|They|Such|Both)\b|Each\s+(?:of\b|[a-z]+s\b))")
ASKS_WHEN_PUBLISHED = re.compile(r"\bwhen (?:was|were|did)\b|\b(?:what|which) year\b", re.I)
# the links ingest/roadmap_docs.py writes on every concept page ("Prerequisites of X: Y.")
LINKS_BEFORE, LINKS_AFTER = "Prerequisites of", "Concepts to learn after"
LINKS = re.compile(rf"^({LINKS_BEFORE}|{LINKS_AFTER}) ")
# A question on what comes before or after a concept: routing.py sends it to the concept's
# page and context.py shows that page's links line for it.
ASKS_NEIGHBOURS = re.compile(r"\b(?:prerequisites?|before|after|builds? on|leads? to|depends? on|"
                             r"required for|needed for|precedes?|follows)\b", re.I)
# "What comes before X?", "what's right after X", "what follows X": the word for the side in
# group 1 (before, after, next) or 2 (precedes, follows). routing.py does not read such a
# question as a "when" question; context.py asks it of the model in another form.
WHAT_COMES = re.compile(r"\bwhat(?:(?:'?s|\s+is|\s+comes|\s+goes)\s+(?:right\s+|just\s+)?(before|after|next)"
                        r"|\s+(precedes|follows))\b", re.I)
# A question asking what something is ("what is X", "explain X", "how does X work"), its
# subject in group 1: gate.py refuses one whose subject the material lacks, routing.py shows
# a paper's key idea for one about a paper.
DEFINITION = re.compile(r"^\s*(?:what(?:'s| is| are)|whats|explain|describe|how (?:does|do|did))\s+"
                        r"(?:an?\s+|the\s+)?(.+?)(?:\s+(?:work|works|and|in|to|for|with)\b.*)?\??$", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:[.+#-][a-z0-9]+)*")
# A sentence ends at . ! or ? before a capital, a digit, a bullet or a quote; a blank line
# or a new list item or heading ends one too. A single line break inside a paragraph does
# not: Markdown is often hard-wrapped, and splitting there made fragments of sentences. Nor
# does the full stop of "vs.", "e.g.", "i.e." or "et al." ("RNNs and LSTM vs. GRU" was served
# as "... LSTM vs." with "GRU ..." cut away as a sentence of its own; "... by He et al. (2015)."
# held back left "(2015). The problem they solved ..." as the answer's opening).
NOT_ABBREVIATION = r"(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bet al\.)"  # read right after a stop
_SENTENCE_END = re.compile(rf"(?<=[.!?]){NOT_ABBREVIATION}\s+(?=[\"'(\[A-Z0-9*-])"
                           r"|\n[ \t]*\n\s*"
                           r"|\n(?=[ \t]*(?:[-*\u2022]|\d{1,2}[.)]|#{1,6}|\*\*)[ \t\S])")
LIST_LINE = re.compile(r"\s*(?:[-*\u2022]|\d{1,2}[.)])\s")  # a list item's line: "- ...", "3. ..."
STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does did for from had has have how i if
    in into is it its just me my no not of on or our so than that the their them then there
    these they this to too up us was we were what when where which while who why will with
    would you your yours about after again all also am any because before being both each few
    further here more most much only other over own same should some such very s t don
    should now d ll m o re ve y""".split()
)


_PIECE = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]")


def approx_tokens(text: str) -> int:
    """About how many tokens a BPE tokenizer (Qwen2.5's) makes of `text`: a word of up to
    seven letters is one, longer ones two or more, each digit and mark one. Within 10% of
    the packaged model's own count on the answer prompt's sources (eval/bench/llm.py)."""
    return sum(-(-len(p) // 7) if p[0].isalpha() else 1 for p in _PIECE.findall(text))


def stem(term: str) -> str:
    """A crude stem shared by every term comparison: the first five letters ("supervised",
    "supervision" -> "super"). Crude on purpose: the same rule everywhere beats a better one
    in one place (the support scorer, quiz grading and hint filtering compare terms)."""
    return term[:5]


def term_stems(text: str) -> set[str]:
    """The stems of `text`'s terms, hyphens dropped, for matching a question's words against a
    sentence's: "reimplementations" finds "re-implementation", "matter" finds "matters"."""
    return {stem(t.replace("-", "")) for t in terms(text)}


def singular(word: str) -> str:
    """A plural as its singular, crudely: "LSTMs" -> "LSTM", "fits" -> "fit" (not "gas")."""
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def listed(items: list[str]) -> str:
    """Items as a sentence names them: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def markers(text: str) -> list[int]:
    """The source numbers cited in `text`, in order ("[1] ... [3]" -> [1, 3])."""
    return [int(n) for n in MARKER.findall(text)]


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _forms(word: str) -> list[str]:
    """A token and what a learner may type instead: a range "5-6" also as "5" and "6"
    ("weeks 5 and 6")."""
    if "-" in word and all(p.isdigit() for p in word.split("-")):
        return [word, *word.split("-")]
    return [word]


# British and American spellings of one word: the corpus writes "regularisation" and "k-nearest
# neighbours", learners often "regularization" and "neighbors" (and the corpus itself "Batch
# Normalization", the paper's own title)
_ISE_AT = r"(?<=[a-z]{3})i[sz](?=(?:ation|ations|e|es|ed|er|ers|ing)"  # closed by $ or \b
_OUR_AT = r"(?<=[a-z]{3})ou?r(?=s?"
_ISE, _OUR = re.compile(_ISE_AT + "$)"), re.compile(_OUR_AT + "$)")


def spellings(word: str) -> list[str]:
    """`word` and its other spelling(s): "regularization" -> [..., "regularisation"]."""
    forms = {word, _ISE.sub("is", word), _ISE.sub("iz", word)}
    forms |= {_OUR.sub(o, f) for f in forms for o in ("our", "or")} if _OUR.search(word) else set()
    return [word, *sorted(forms - {word})]


def spelled_either_way(escaped: str) -> str:
    """A regex (re.escape'd name) that takes either spelling of its words."""
    return re.sub(_OUR_AT + r"\b)", "ou?r", re.sub(_ISE_AT + r"\b)", "i[sz]", escaped))


def terms(text: str) -> list[str]:
    """Content words: lower-cased tokens without stopwords (BM25 and term checks)."""
    return [f for w in words(text) if w not in STOPWORDS for f in _forms(w)]


def _quote_open(piece: str, rest: str) -> bool:
    """Whether a sentence end falls inside a quotation that closes later on its line: a
    straight quote left open (an odd count) or more \u201c than \u201d."""
    line = rest.split("\n", 1)[0]
    return (piece.count('"') % 2 == 1 and '"' in line) or (
        piece.count("\u201c") > piece.count("\u201d") and "\u201d" in line)


def _pieces(text: str) -> list[str]:
    """`text` cut at its sentence ends, except inside a quotation on one line: the model
    quoting an FAQ ('the FAQ "I finished stage 3. What next?", which says ...') was cut into
    three pieces, the question among them dropped as a question and the rest served as
    fragments ('", which says ...'). Each piece is a substring of `text`."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if "\n" not in m.group(0) and _quote_open(text[start:m.start()], text[m.end():]):
            continue
        out.append(text[start:m.start()])
        start = m.end()
    return out + [text[start:]]


def sentences(text: str) -> list[str]:
    parts = (re.sub(r"\s*\n\s*", " ", p.strip()) if not LIST_LINE.match(p) else p.strip()
             for p in _pieces(text))
    return [p for p in parts if p and any(ch.isalnum() for ch in p)]


_SPAN = re.compile(r"\b(weeks|months)\s+(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})\b", re.I)
_WEEK = r"(?:weeks?|wks?)"  # as learners write it: "wk 23-24 what am i doing?" was refused
_RANGE = r"(\d{1,2})(?:\s*(?:-|–|to)\s*(\d{1,2}))?"  # "5-6", "4 to 8", "11": first and last (or none)
_WEEK_ASKED = re.compile(rf"\b{_WEEK}\b\D{{0,12}}?(\d{{1,2}})\b", re.I)
# "after weeks 17-18", "before week 9": a span named to point at the one beside it
BESIDE_SPAN = re.compile(rf"\b(after|following|before)\s+(?:the\s+)?{_WEEK}\s+{_RANGE}", re.I)
# ... with the span beside it stated after it (tutor/spans.py `beside_weeks`)
_BESIDE_STATED = re.compile(BESIDE_SPAN.pattern + rf"(?=\s*\({_WEEK} \d)", re.I)


def weeks_asked(question: str) -> set[int]:
    """The week numbers a question names: "week 3", "weeks 17-24" (every week of the span),
    "week number 5"; of a span named to point beside another that is stated after it, only
    the one stated ("what comes after weeks 17-18 (weeks 19-20)?": 19 and 20)."""
    question = _BESIDE_STATED.sub(" ", question)
    spans = {w for a, b in week_spans(question) if b - a < 52 for w in range(a, b + 1)}
    return spans | {int(n) for n in _WEEK_ASKED.findall(question)}


def span_beside(word: str, a: int, b: int, spans: list[tuple[int, int]]) -> tuple[int, int] | None:
    """Of `spans` (sorted), the one right after weeks a-b, or right before them when `word`
    (BESIDE_SPAN's group 1) is "before"; None when there is none."""
    near = [s for s in spans if s[1] < a][-1:] if word.lower() == "before" else [s for s in spans if s[0] > b][:1]
    return near[0] if near else None


# A plan item's span, at the start of its line: "- Weeks 28-30 (3 weeks): ...", "- Months 5-12: ..."
_ITEM_SPAN = re.compile(r"^\s*[-*]\s+" + _SPAN.pattern, re.I | re.M)


def plan_item_numbers(text: str) -> set[str]:
    """Every week or month number inside the spans of a text's plan items ("- Weeks 28-30:
    ..." -> 28, 29, 30): what a sentence about week 29 of that plan may state. Only plan
    items, not a stage's whole span ("weeks 25-36"), which holds every week of the stage."""
    return {str(n) for _, a, b, _ in plan_items(text) if a <= b for n in range(a, b + 1)}


def plan_items(text: str) -> list[tuple[str, int, int, str]]:
    """A text's plan items with their spans: "- Weeks 21-22: The Hugging Face course ..." ->
    ("week", 21, 22, that line)."""
    return [(m.group(1).lower().rstrip("s"), int(m.group(2)), int(m.group(3)), line)
            for line in text.splitlines() if (m := _ITEM_SPAN.match(line))]


# "weeks 5-6", "week 11", "wk 3", "months 4 to 8": a span in its unit
_UNIT_SPAN = re.compile(rf"\b(week|wk|month)s?\s+{_RANGE}\b", re.I)
# "weeks 5-6 and 7-8", "Weeks 5-6 and Weeks 7-8", "months 3 or 4": two spans saying the same
_JOINED_SPANS = re.compile(rf"\b(week|wk|month)s?\s+{_RANGE}\s*,?\s*(?:and|or|&)\s+"
                           rf"(?:(?:week|wk|month)s?\s+)?{_RANGE}\b", re.I)


def week_spans(text: str) -> list[tuple[int, int]]:
    """The week spans a text states: "Weeks 3-4" -> (3, 4), "week 11" -> (11, 11)."""
    return [(a, b) for unit, a, b in unit_spans(text) if unit == "week"]


def unit_spans(text: str) -> list[tuple[str, int, int]]:
    """The week and month spans a text states: "Weeks 3-4" -> ("week", 3, 4), "month 5" ->
    ("month", 5, 5)."""
    return [("week" if unit.lower() == "wk" else unit.lower(), int(a), int(b or a))
            for unit, a, b in _UNIT_SPAN.findall(text)]


def joined_spans(text: str) -> list[tuple[str, int, int]]:
    """The spans a text joins with "and" or "or", each on its own: "In Weeks 5-6 and 7-8" ->
    ("week", 5, 6), ("week", 7, 8)."""
    return [("month" if unit.lower() == "month" else "week", int(a), int(b or a))
            for unit, *numbers in _JOINED_SPANS.findall(text) for a, b in (numbers[:2], numbers[2:])]


def spans_meet(these, those) -> bool:
    """Whether any span of `these` shares a week (month) with any of `those`."""
    return any(a <= d and c <= b for a, b in these for c, d in those)


def inside(span: tuple[int, int], spans) -> bool:
    """Whether `span` lies within one of `spans` ("weeks 7-8" in 5-8)."""
    return any(c <= span[0] and span[1] <= d for c, d in spans)


def span_numbers_stated(text: str, asked: set[tuple[int, int]], unit: str) -> set[int]:
    """The weeks (months) of the `asked` spans that `text` states, however written ("weeks
    21-22 and 23-24", "weeks 7 and 8"), by spans inside them: a wider one ("stage 3 (weeks
    17-24)", "weeks 25-30" for 25-27) says nothing of when, or says it wrong."""
    spans = [(a, b) for u, a, b in unit_spans(text) + joined_spans(text) if u == unit]
    return {n for a, b in spans if inside((a, b), asked) for n in range(a, b + 1)}


def without_spans(text: str) -> str:
    return _UNIT_SPAN.sub(" ", text)


def study_time(weeks: float) -> str:
    """A study time as a learner reads it: "about 2 days" rather than "about 0.3 weeks" (what
    every "what next" answer said of a concept at the roadmap's pace), "about 1 week",
    "about 4.5 weeks"; to the half week, as "about 9.3 weeks left" is no one's words."""
    if weeks < 1:
        days = max(1, round(weeks * 7))
        return f"about {days} day{'s' if days != 1 else ''}"
    weeks = round(weeks * 2) / 2
    return f"about {weeks:g} week{'s' if weeks != 1 else ''}"


def with_durations(text: str) -> str:
    """Spans with their length stated: "weeks 9-16" -> "weeks 9-16 (8 weeks)", inside
    parentheses "(weeks 9-16, 8 weeks)". Asked how long stage 2 takes, the packaged 1.5B
    model read "weeks 9-16" as 7 weeks and the support check rightly withdrew it; what the
    prompt shows, and what an answer is checked against, say the length outright."""
    out, last = [], 0
    for m in _SPAN.finditer(text):
        start, end = int(m.group(2)), int(m.group(3))
        length = f"{end - start + 1} {m.group(1).lower()}"
        if end <= start or length in text.lower():  # "(weeks 9-16) runs 8 weeks" says it already
            continue
        inside = text.count("(", 0, m.start()) > text.count(")", 0, m.start())
        out.append(text[last:m.end()] + (f", {length}" if inside else f" ({length})"))
        last = m.end()
    return "".join(out) + text[last:]


def numbers_in(text: str, *, claim: bool = False) -> list[str]:
    """The numbers `text` states, as digits: "16", "0.001", and number words ("two GPUs": "2").
    `claim`: the text is a claim to check, whose "one" and "zero" are rarely numbers."""
    words = (_CLAIMED_WORD if claim else NUMBER_WORD).findall(text)
    return NUMBER.findall(text) + [NUMBER_WORDS[w.lower()] for w in words]


_EXPANDED = re.compile(r"((?:[A-Za-z][\w']*[\s-]+){1,6})\(([A-Za-z]{2,6}?)s?\)")
# and the other way round: "DQN (Deep Q-Network)", "PPO (Proximal Policy Optimization)"
_GLOSSED = re.compile(r"\b([A-Z][A-Za-z]{1,5}?)s?\s+\(((?:[A-Za-z][\w']*[\s-]+){1,5}[A-Za-z][\w']*)\)")


def spelled_out(text: str) -> dict[str, set[str]]:
    """Acronyms the text spells out, with the words that spell them, lower-cased: "K-Nearest
    Neighbors (KNN)" -> {"knn": {"k", "nearest", "neighbors"}}, "principal component analysis
    (PCA)" -> {"pca": {...}}, "DQN (Deep Q-Network)" -> {"dqn": {...}}. Their initials must
    give the acronym."""
    found = {}
    pairs = [(m.group(2), m.group(1)) for m in _EXPANDED.finditer(text)]
    pairs += [(m.group(1), m.group(2)) for m in _GLOSSED.finditer(text)]
    for acronym, words in pairs:
        acronym = acronym.lower()
        spelled = re.split(r"[\s-]+", words.strip())[-len(acronym):]
        if len(spelled) == len(acronym) and "".join(w[0] for w in spelled).lower() == acronym:
            found[acronym] = {w.lower() for w in spelled}
    return found


_CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9]*\b")
_FIRST_WORD = re.compile(r"[A-Za-z0-9]")
# a label's text starts a sentence of its own: "**Months 1-3**: Focus on ...", "- Learn ..."
_LABEL_START = re.compile(r"(?:[:*]|^\s*[-*\u2022])\s*$")


def names(text: str, *, labels: bool = False) -> set[str]:
    """Capitalised names and acronyms past the sentence's first word ("PyTorch", "BERT", "B").
    `labels`: nor a word that opens a label's text ("**Months 1-3**: Focus on Mathematics")."""
    first = _FIRST_WORD.search(text)
    start = first.start() if first else 0
    return {m.group().lower() for m in _CAPITALISED.finditer(text)
            if m.start() > start and not (labels and _LABEL_START.search(text[:m.start()]))} - {"a", "i"}
