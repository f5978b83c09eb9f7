"""Split a reply into Discord messages: each under the 2,000-character limit, cut at a
paragraph break when there is one, then at a sentence or line end, then at a space, and
only as a last resort mid-word. Nothing is lost or reordered: the raw slices concatenate to
the input exactly.

A cut inside a ``` code block closes the block at the end of that message and reopens it
(with its language tag) at the start of the next, so each message renders as code on its
own. Only those fence lines are added; `Part.raw` keeps the untouched slice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIMIT = 2000  # Discord's message length limit
CLOSE = "\n```"
MAX_REOPEN = 40  # a longer opening line is reopened as a bare ``` (keeps the reserve small)
_SENTENCE = re.compile(r"[.!?][\"')\]]*\s+|\n")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Part:
    raw: str  # the exact slice of the input
    text: str  # what is sent: raw, with a fence reopened before and closed after when cut inside one


def is_fence(line: str) -> bool:
    """A line that opens or closes a code block: ``` at its start and no second ``` on it."""
    stripped = line.lstrip(" ")
    return len(line) - len(stripped) <= 3 and stripped.startswith("```") and "```" not in stripped[3:].lstrip("`")


def _fence_lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end after its newline, line) of every fence line, in order."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        if is_fence(line.rstrip("\r\n")):
            out.append((pos, pos + len(line), line.rstrip("\r\n")))
        pos += len(line)
    return out


def _open_fence_at(fences: list[tuple[int, int, str]], pos: int) -> str | None:
    """The opening line of the code block `pos` is inside, or None outside any block."""
    opening = None
    for start, _end, line in fences:
        if start >= pos:
            break
        opening = None if opening is not None else line
    return opening


def _reopen(opening: str | None) -> str:
    if opening is None:
        return ""
    line = opening.strip()
    return (line if len(line) <= MAX_REOPEN else "```") + "\n"


def _last_end(pattern: re.Pattern, window: str, floor: int) -> int | None:
    ends = [m.end() for m in pattern.finditer(window) if floor <= m.end() <= len(window)]
    return ends[-1] if ends else None


def _cut(text: str, start: int, budget: int, fences) -> int:
    """Where the part starting at `start` ends (exclusive), at most `budget` characters on."""
    window = text[start:start + budget]
    floor = max(1, budget // 3)  # a boundary in the first third would leave a tiny message
    para = window.rfind("\n\n")
    for end in (para + 2 if para >= 0 and para + 2 >= floor else None,
                _last_end(_SENTENCE, window, floor), _last_end(_SPACE, window, floor),
                _last_end(_SENTENCE, window, 1), _last_end(_SPACE, window, 1)):
        if end:
            return _off_fence_line(text, start, start + end, fences)
    return _off_fence_line(text, start, start + budget, fences)


def _off_fence_line(text: str, start: int, end: int, fences) -> int:
    """Never cut through a fence line (move the cut before it, or after it if it opens the
    part), nor just before a mid-line ``` that would read as a fence at the start of a message."""
    for f_start, f_end, _ in fences:
        if f_start < end < f_end:
            return f_start if f_start > start else f_end
    while end - start > 1 and text[end - 1] != "\n" and is_fence(text[end:].split("\n", 1)[0]):
        end -= 1
    return end


def split_parts(text: str, limit: int = LIMIT) -> list[Part]:
    if limit < 2 * (MAX_REOPEN + len(CLOSE)):
        raise ValueError(f"limit {limit} is too small to reopen code blocks; use at least {2 * (MAX_REOPEN + len(CLOSE))}")
    fences = _fence_lines(text)
    parts: list[Part] = []
    start = 0
    while start < len(text):
        prefix = _reopen(_open_fence_at(fences, start))
        if len(prefix) + len(text) - start <= limit:
            end = len(text)
        else:
            end = _cut(text, start, limit - len(prefix) - len(CLOSE), fences)
            if end - start > limit - len(prefix) - len(CLOSE):  # a fence line longer than the budget
                end = start + limit - len(prefix) - len(CLOSE)
        suffix = CLOSE if end < len(text) and _open_fence_at(fences, end) is not None else ""
        parts.append(Part(text[start:end], prefix + text[start:end] + suffix))
        start = end
    return parts


def _safe_limit(text: str, limit: int) -> int:
    """Discord may count UTF-16 units, and a character outside the Basic Multilingual Plane
    (most emoji) is two of them: with any such character, halve the budget so a message
    fits however it is counted."""
    return limit if all(ord(ch) < 0x10000 for ch in text) else limit // 2


def clip(text: str, limit: int = LIMIT) -> str:
    """The start of `text` that fits in one message (for streamed drafts)."""
    return text[:_safe_limit(text, limit)]


def split(text: str, limit: int = LIMIT) -> list[str]:
    """The messages to send, in order; whitespace-only pieces are dropped."""
    return [p.text for p in split_parts(text, _safe_limit(text, limit)) if p.text.strip()]
