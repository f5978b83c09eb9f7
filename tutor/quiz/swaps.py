"""The replacement a false true/false statement puts for its detail, chosen by rule.

Asked for "a different name or term of the same type", the packaged 1.5B model wrote a
usable replacement for 1 of 4 jobs in a session-13 probe (the others were phrases of the
sentence itself), and the shipped bank's true/false items stayed mostly true. The roadmap
already knows which names share a type: a stage's paper summaries, a stage's concept
pages. So a sentence naming its own chunk's paper or concept gets another paper or concept
of the same stage ("Adam addressed the difficulty of choosing a step size" said of Batch
Normalization), and a number gets a nearby number its source does not hold (a year moved
by one to three, a count by about a third). Such an item needs no model call: its
explanation is its source sentence (generate.ruled_false).
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable

from tutor.text import NUMBER
from tutor.types import Chunk

Siblings = dict[tuple[int, str], list[str]]  # (stage, "paper" | "concept") -> names, one per document


def subject_group(chunk: Chunk) -> str | None:
    """"concept" for a concept page, "paper" for a paper summary, None for anything else."""
    if chunk.doc_id.startswith("concept-"):
        return "concept"
    return "paper" if chunk.kind == "paper" else None


def subject_names(chunk: Chunk) -> tuple[str, ...]:
    """The names a chunk is about: a concept page's concept; a paper summary's short title
    and its aliases ("Vision Transformer (ViT)" -> both, "GoogLeNet / Inception" -> both,
    "Attention Is All You Need (the Transformer)" -> "Transformer" too)."""
    group = subject_group(chunk)
    if group is None:
        return ()
    head = chunk.title.split(" — ")[0]
    if group == "paper":
        head = head.split(":")[0]
    names = (re.sub(r"^the\s+", "", n.strip(), flags=re.I) for n in re.split(r"\s*/\s*|\s*\(|\)", head))
    return tuple(n for n in names if n)


def sibling_names(chunks: Iterable[Chunk]) -> Siblings:
    """Each stage's paper names and concept names, one per document, in corpus order."""
    out: Siblings = defaultdict(list)
    seen = set()
    for c in chunks:
        if (group := subject_group(c)) and c.stage is not None and c.doc_id not in seen and (names := subject_names(c)):
            seen.add(c.doc_id)
            out[(c.stage, group)].append(names[0])
    return dict(out)


def _whole(name: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.I)


def subject_in(sentence: str, chunk: Chunk) -> str | None:
    """The chunk's own name as `sentence` writes it, when it writes it exactly once (swapping
    one of two mentions leaves the sentence at odds with itself), and no alias beside it
    ("NumPy (PCA)", "GoogLeNet (the first Batch Normalization network)" would name the
    thing they deny)."""
    found = [m for name in subject_names(chunk) for m in _whole(name).finditer(sentence)]
    return found[0].group(0) if len(found) == 1 else None


def _once(detail: str, sentence: str) -> bool:
    return len(re.findall(rf"(?<![\w.]){re.escape(detail)}(?![\w]|\.\d)", sentence)) == 1


def replacement_for(detail: str, sentence: str, chunk: Chunk, siblings: Siblings, seed: int) -> str | None:
    """What replaces `detail` (a number `sentence` states once, or the chunk's own paper or
    concept name, subject_in) in a false statement from `chunk`; None when no rule applies
    (the model's replacement is used)."""
    if NUMBER.fullmatch(detail):
        percent = bool(re.search(rf"(?<![\w.]){re.escape(detail)}\s*%", sentence))
        return other_number(detail, chunk.text, seed, percent) if _once(detail, sentence) else None
    group = subject_group(chunk)
    if group is None or subject_in(sentence, chunk) != detail:
        return None
    own = {w.lower() for n in subject_names(chunk) for w in n.split()}
    options = [n for n in siblings.get((chunk.stage, group), [])
               if not _whole(n).search(chunk.text)  # a sibling the source names may be true there
               and not own & {w.lower() for w in n.split()}  # "Vision Transformer" for "Transformer"
               and _plural(n) == _plural(detail)]  # "Decision trees predicts" breaks the grammar
    if not options:
        return None
    return _cased(options[seed % len(options)], detail)


def _plural(name: str) -> bool:
    last = name.split()[-1]
    return last.endswith("s") and not last.endswith(("ss", "is", "us")) and not last.isupper()


def _cased(name: str, like: str) -> str:
    """`name` with its first letter in the case `like` has, unless `name` is a proper name
    (a capital after the first letter, "XGBoost", or none at all, "word2vec": as it is)."""
    if any(ch.isupper() for ch in name[1:]) or not name[:1].isupper():
        return name
    return (name[:1].upper() if like[:1].isupper() else name[:1].lower()) + name[1:]


def other_number(detail: str, text: str, seed: int, percent: bool = False) -> str | None:
    """A number near `detail`, written to the same precision, that `text` does not hold: a
    year moved by one to three (never past this year), a small count by one to three, a
    larger one or a decimal by about a third (a percentage never past 100). None when every
    candidate is in `text`."""
    held = set(NUMBER.findall(text))
    decimals = len(detail.split(".")[1]) if "." in detail else 0
    value = float(detail)
    if decimals == 0 and 1900 <= value <= 2100:
        this_year = datetime.date.today().year
        candidates = [value + k for k in (-1, -2, -3, 1, 2, 3) if value + k <= this_year]
    elif decimals == 0 and value < 10:
        candidates = [value + k for k in (1, 2, 3, -1, -2) if value + k > 0]
    else:
        candidates = [value * f for f in (0.7, 1.3, 0.5, 1.5, 2.0)]
    written = [f"{v:.{decimals}f}" for v in candidates]
    usable = list(dict.fromkeys(w for w in written if w not in held and w != detail and float(w) > 0
                                and not (percent and float(w) > 100)))
    return usable[seed % len(usable)] if usable else None
