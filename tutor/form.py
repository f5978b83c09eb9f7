"""Whether an answer reads as a tutor wrote it, and the repairs that keep it so after the
support check cuts sentences out.

Cutting unsupported sentences (tutor/answer.py) can leave what no learner can use: a
numbered list served as "3. … 5. …", a "Resources:" line introducing nothing, a question
from an FAQ pasted in as if it were an answer, or a sentence the token cap cut off.
`problems()` names each of these (the eval's well-formedness metric counts answers with
any); `tidy()` repairs what can be repaired without inventing text: renumber lists, drop
lines that introduce nothing, drop questions and a trailing unfinished sentence, close
gaps inside quotation marks, and drop the prompt's <data> fence tags when the model echoes
them. A sentence left after a cut one loses the tie word (`untied`) or gets back the name
its opening pronoun took up (`named_again`) that bound it to what was cut.
"""

from __future__ import annotations

import re

from tutor.text import sentences, strip_markers, term_stems

_NUMBERED = re.compile(r"^(\s*)(\d{1,2})([.)])(\s+)")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])(?:\s+|$)")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+.*|\*\*[^*]+\*\*:?|[^.!?]{1,80}:)\s*$")
_ENDS_WELL = re.compile(r"""[.!?:)"'\]*`]\s*$|\[\d{1,3}\]\s*$""")
_QUESTION = re.compile(r"\?\s*(?:\[\d{1,3}\]\s*)*$")
_QUOTED = re.compile(r'"([^"\n]*)"')
# Words that tie a sentence to the one before it. When the support check cuts that one, the
# tie dangles: a bias-variance answer was served opening "However, ..." after its lead-in
# was held back. "But" needs no comma; the rest do ("So far", "Still images" are no ties).
_TIE = re.compile(r"^(\s*(?:[-*\u2022]|\d{1,2}[.)])?\s*)(?:But\s+|(?:However|Yet|Still|So|Also|Moreover|Furthermore|"
                  r"Additionally|In addition|Besides|Therefore|Thus|Hence|As a result|Consequently|Accordingly|"
                  r"On the other hand|In contrast|By contrast|Instead|Similarly|Likewise|Meanwhile|Otherwise|"
                  r"Nevertheless|Nonetheless|That said|Even so|In other words|That is|Specifically|In particular),\s+)(?=\w)")
# An opening pronoun that takes up the sentence before it; "This" and "These" only as
# pronouns ("This means ...", not "This stage ..."), "it" not as a placeholder ("It is worth
# ...", "It is best to ...").
# "This" also before any word that reads as a verb in -s ("This reduces the variance ..." was
# served after the sentence it took up was cut), not a noun in -ss, -is, -us or -as ("This
# process", "This basis", "This corpus", "This bias").
_PRONOUN = re.compile(r"^(\s*(?:[-*\u2022]|\d{1,2}[.)])?\s*)(?:(It|They)(?:'s|'re)?|((?:This|These)(?=\s+(?:"
                      r"is|are|was|were|has|have|means?|covers?|includes?|helps?|makes?|gives?|will|can|should|"
                      r"would|may|might|must|takes?|allows?|lets|provides?|builds?|ensures?|prepares?|involves?|"
                      r"requires?|teach(?:es)?|focus(?:es)?|comes?|gets?|lays?|sets?|keeps?)\b)|"
                      r"This(?=\s+[a-z]+s(?<![suia]s)\b)))\b", re.I)
_PLACEHOLDER = re.compile(r"^It(?:'s|\s+is|\s+was)\s+(?:\w+\s+){0,2}?(?:to|that|worth)\b", re.I)
# What a sentence is about, when it says what that is: "[Yes,] the math in stage 1 is hard"
# -> "the math in stage 1", singular (is, was) or plural (are, were).
_SUBJECT = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])?\s*(?:(?:Yes|No)\b[,:;!.]?\s+)?"
                      r"(?P<subject>[A-Za-z][\w'-]*(?:\s+[\w'-]+){0,7}?)\s+(?P<verb>is|are|was|were)\b")
_NOT_A_SUBJECT = frozenset("it they this these that those there here you we i he she which who what when where how why "
                           "if because while although".split())
# The prompt's fence around retrieved text (prompts/*.j2), echoed by the model: "... at
# first. <data></data>" was seen in a served draft.
_MARKUP = re.compile(r"[ \t]*</?data>")


def _list_blocks(lines: list[str]) -> list[list[int]]:
    """Indexes of the lines of each run of numbered items (blank lines and indented
    continuation lines do not end a run; any other line does)."""
    blocks, current = [], []
    for i, line in enumerate(lines):
        if _NUMBERED.match(line):
            current.append(i)
        elif current and (not line.strip() or line.startswith((" ", "\t"))):
            continue
        elif current:
            blocks.append(current)
            current = []
    return blocks + ([current] if current else [])


def _introduces_nothing(lines: list[str], i: int) -> bool:
    """A heading or colon line with nothing under it: the last line, or followed (after
    blank lines) by another heading. Markers do not count: run 12 served a research-track
    plan ending "Sources: [1]"."""
    if not _HEADING.match(strip_markers(lines[i])) or _BULLET.match(lines[i]):
        return False
    rest = [ln for ln in lines[i + 1:] if ln.strip()]
    return not rest or bool(_HEADING.match(strip_markers(rest[0])) and not _BULLET.match(rest[0]))


def problems(text: str) -> list[str]:
    """What is wrong with the form of an answer (empty when nothing is)."""
    found = [f"prompt markup in an answer: {m.group(0).strip()!r}" for m in _MARKUP.finditer(text)]
    lines = text.split("\n")
    for block in _list_blocks(lines):
        numbers = [int(_NUMBERED.match(lines[i]).group(2)) for i in block]
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(f"list numbered {', '.join(map(str, numbers))}")
    for i, line in enumerate(lines):
        if _BULLET.match(line) and not re.search(r"[A-Za-z]", strip_markers(_BULLET.sub("", line))):
            found.append(f"empty list item: {line.strip()!r}")
        elif _introduces_nothing(lines, i):
            found.append(f"line introduces nothing: {line.strip()!r}")
    parts = sentences(text)
    if parts and _TIE.match(parts[0]):
        found.append(f"opens tied to nothing: {strip_markers(parts[0])[:60]!r}")
    for sentence in parts:
        if _QUESTION.search(sentence):
            found.append(f"question in an answer: {strip_markers(sentence)!r}")
        if _quotation_cut(sentence):
            found.append(f"quotation cut: {strip_markers(sentence)!r}")
    last = next((ln for ln in reversed(lines) if ln.strip()), "")
    if last and _unfinished(last):
        found.append(f"unfinished sentence: {last.strip()[-60:]!r}")
    return found


def tidy(text: str) -> str:
    """`text` with the repairable problems repaired; the words it keeps are unchanged."""
    text = closed_quotes(without_markup(text))
    for sentence in sentences(text):
        if _QUESTION.search(sentence) and sentence != text.strip():
            text = text.replace(sentence, "", 1)
    lines = [ln.rstrip() for ln in text.split("\n")]
    lines = [ln for ln in lines if not (_BULLET.match(ln) and not re.search(
        r"[A-Za-z]", strip_markers(_BULLET.sub("", ln))))]
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), None)
    if last is not None and _unfinished(lines[last]):
        cut = _drop_unfinished(lines[last])
        if cut != lines[last] and (cut.strip() or any(ln.strip() for ln in lines[:last])):
            lines[last] = cut
    changed = True
    while changed:  # a dropped heading can leave the one above it introducing nothing
        changed = False
        for i in range(len(lines)):
            if lines[i].strip() and _introduces_nothing(lines, i):
                lines[i], changed = "", True
    for block in _list_blocks(lines):
        for n, i in enumerate(block, 1):
            lines[i] = _NUMBERED.sub(lambda m: f"{m.group(1)}{n}{m.group(3)}{m.group(4)}", lines[i], count=1)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def untied(sentence: str) -> str:
    """`sentence` without an opening word that ties it to the sentence before ("However,
    boosting ..." -> "Boosting ..."), for a sentence whose predecessor was cut."""
    if not (m := _TIE.match(sentence)):
        return sentence
    rest = sentence[m.end():]
    return f"{m.group(1)}{rest[:1].upper()}{rest[1:]}"


# "This extra step turns ...", "That approach ...": a demonstrative and the words it points with
_DEMONSTRATIVE = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])?\s*(?:This|That|These|Those)\s+([A-Za-z-]+)"
                            r"(?:\s+([A-Za-z-]+))?")


def _points_past(sentence: str, question: str | None) -> bool:
    """Whether `sentence` opens with a demonstrative whose noun the question does not use:
    "This extra step turns the stage 2 milestone into a first portfolio piece." was served
    alone after the sentence naming the step (a REST API) was cut; "This stage covers
    algebra" to a question on stage 1 still reads."""
    found = _DEMONSTRATIVE.match(sentence)
    if question is None or not found:
        return False
    # the second word only when it is no verb in -s: "This course covers ..." points with
    # "course" (it was served after the sentence naming the course was cut, to a question
    # that asked which weeks "cover" attention)
    noun, then = found.groups()
    words = [noun] + ([then] if then and not re.fullmatch(r"[a-z]+s(?<![suia]s)", then) else [])
    pointed = {t for w in words if len(w) > 2 for t in term_stems(w)}
    return bool(pointed) and not pointed & term_stems(question)


def named_again(text: str, cut: set[str], question: str | None = None) -> tuple[str, dict[str, str]]:
    """What to do with each sentence of `text` kept (its marker-free form not in `cut`) right
    after cut ones, whose opening "It" or "They" took up what they were about: name it ("It
    covers algebra and calculus." after "Yes, the math in stage 1 is hard." -> "The math in
    stage 1 covers algebra and calculus."), or cut it too when nothing names it
    unambiguously. "is the math in stage 1 hard?" was served "It covers a range of topics
    ..." after its verdict was held back. A "This" or "These" took up what was said, not
    what it was said of, so no name stands in for it; nor for "This extra step ..." when the
    `question` does not name the step (`_points_past`). Returns `text` with the named ones
    rewritten (markers kept) and, marker-free, {sentence: as rewritten, "" for one to cut}."""
    parts = sentences(text)
    named = {}
    for n, sentence in enumerate(parts):
        free = strip_markers(sentence)
        if n == 0 or free in cut or strip_markers(parts[n - 1]) not in cut:
            continue
        if (m := _PRONOUN.match(sentence)) and not _PLACEHOLDER.match(sentence[m.end(1):]):
            new = _named(sentence, m, [strip_markers(p) for p in reversed(parts[:n])], cut)
            if new != sentence:
                text = text.replace(sentence, new, 1) if new else text
                named[free] = strip_markers(new)
        elif _points_past(sentence, question):
            named[free] = ""
    return text, named


def _named(sentence: str, m: re.Match, before: list[str], cut: set[str]) -> str:
    """`sentence` with its opening pronoun (`m`) replaced by the subject of the nearest cut
    sentence `before` it that names one; as it is when the cut ones themselves open with the
    pronoun and a kept sentence comes before them (it still takes that one up); "" when
    nothing names it."""
    if m.group(3):  # This, These
        return ""
    for previous in before:
        if previous not in cut:
            return sentence
        if _PRONOUN.match(previous):
            continue
        found = _SUBJECT.match(previous)
        if not found or _NOT_A_SUBJECT & set(found.group("subject").lower().split()):
            return ""
        plural = found.group("verb") in ("are", "were")
        if plural != (m.group(2).lower() == "they"):
            return ""
        subject = found.group("subject")
        verb = {"'s": " is", "'re": " are"}.get(m.group(0)[len(m.group(1)) + len(m.group(2)):].lower(), "")
        return f"{m.group(1)}{subject[:1].upper()}{subject[1:]}{verb}{sentence[m.end():]}"
    return sentence


def _quotation_cut(sentence: str) -> bool:
    """A quotation left open, or one with a gap at an end where a cut took words out: run
    14 served 'the FAQ "I finished Transformers and NLP (stage 3).  ", which states ...'
    after its "What next?" was dropped as a question."""
    return sentence.count('"') % 2 == 1 or any(q.group(1) != q.group(1).strip() for q in _QUOTED.finditer(sentence))


def closed_quotes(text: str) -> str:
    """`text` without spaces just inside its pairs of quotation marks: the model quoted an
    FAQ's title as '"... What comes next? "', a gap that reads as a cut (answer.py closes
    them before scoring, so what is scored is what is served)."""
    return "\n".join(_QUOTED.sub(lambda m: f'"{m.group(1).strip()}"', line) if line.count('"') % 2 == 0 else line
                     for line in text.split("\n"))


def without_markup(text: str) -> str:
    """`text` without the prompt's <data> fence tags (answer.py strips them before scoring)."""
    return _MARKUP.sub("", text)


def _unfinished(line: str) -> bool:
    """Whether an answer's last line stops mid-sentence. A list item may end without a full
    stop ("- Andrew Ng's course"), unless a finished sentence comes before it in the item:
    the token cap cut run 17's last item after "5. Research: Writing is how work is judged at
    all." in the middle of its second sentence."""
    if _ENDS_WELL.search(line):
        return False
    return not _BULLET.match(line) or len(sentences(_BULLET.sub("", line, count=1))) > 1


def _drop_unfinished(line: str) -> str:
    """The line without its last, unfinished sentence (all of it when it has one only)."""
    parts = sentences(line)
    if len(parts) <= 1:
        return ""
    return line[:line.rindex(parts[-1])].rstrip()
