"""Prompt-injection defences on the way out (OWASP LLM01 prompt injection, LLM07 system
prompt leakage): a canary in every system prompt, and one output filter every reply passes
through before any client sees it (/api/chat and the widget, /v1 stream and non-stream,
the Discord bridge, the CLI).

The canary is a random string generated once per deployment and stored beside the index
(<index_dir>/CANARY, shared by the replicas that share the index); it is constant for the
life of a process, so every system prefix stays byte-identical (llama.cpp's KV cache). It
leads each system prompt, so a dump of a prompt from its start meets the canary first.

`OutputGuard.filter(events)` blocks a reply when the text so far holds:
  - the canary, or any CANARY_WINDOW characters of it, in any case, with any separators
    between its characters (spaces, dashes, zero-width characters), reversed, ROT13, as hex,
    or as base64 (standard or URL-safe, at each of the three byte alignments, any
    B64_WINDOW characters of it);
  - SPAN_WORDS consecutive words of any system prompt (case and punctuation ignored), or
    of any system prompt written backwards.
Tokens are held back while they could still become one of those: the last few characters
(a canary split across tokens) and the words that so far repeat a system prompt (released
as soon as the run breaks). A blocked reply stops the model and ends with BLOCKED_TEXT.

What it cannot see: the canary spelled as words ("nine, f, two..."), in a cipher of the
model's choosing, or as fewer than CANARY_WINDOW characters; a system prompt translated,
paraphrased or encoded (its canary line, which comes first, is caught in those forms).
"""

from __future__ import annotations

import base64
import codecs
import logging
import os
import re
import secrets
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from tutor.events import Event
from tutor.types import Answer

CANARY_FILE = "CANARY"
CANARY_WINDOW = 12  # alphanumeric characters of the canary that count as a leak
B64_WINDOW = 16  # base64 characters (12 bytes) of the canary that count as a leak
SPAN_WORDS = 12  # consecutive words of a system prompt that count as a leak
BLOCKED_TEXT = ("I can't share that: it would reveal how I am set up. Ask me about the roadmap's stages, "
                "concepts, resources, papers or career paths instead.")
_ALNUM = re.compile(r"[^a-z0-9]")
_SPACE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]")
_WORD = re.compile(r"[a-z0-9]+")
log = logging.getLogger(__name__)


# -- the canary -------------------------------------------------------------------------------

def new_canary() -> str:
    return f"rt-{secrets.token_hex(10)}"


def load_canary(index_dir: Path) -> str:
    """The deployment's canary, created on first use next to the index. When that directory
    cannot be written, a random one for this process (still constant while it runs)."""
    path = Path(index_dir) / CANARY_FILE
    try:
        return _read_canary(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # two replicas: one wins
    except FileExistsError:
        return _read_canary(path)
    except OSError as exc:
        log.warning("cannot store the canary in %s (%s): using one for this process only", path, exc)
        return new_canary()
    with os.fdopen(fd, "w") as f:
        f.write(canary := new_canary())
    return canary


def _read_canary(path: Path) -> str:
    value = path.read_text().strip()
    if not re.fullmatch(r"rt-[0-9a-f]{20}", value):
        raise ValueError(f"{path} does not hold a canary; delete it and one is made again")
    return value


# -- what counts as a leak --------------------------------------------------------------------

def _windows(text: str, size: int) -> set[str]:
    return {text[i:i + size] for i in range(len(text) - size + 1)} if len(text) >= size else {text}


def _b64_forms(canary: str) -> set[str]:
    """Base64 runs that appear in any base64 text containing the canary, whatever its byte
    alignment: the canary's bytes from offset 0, 1 or 2, cut to whole 3-byte groups."""
    raw = canary.encode()
    forms = set()
    for offset in range(3):
        body = raw[offset:offset + 3 * ((len(raw) - offset) // 3)]
        forms |= {base64.b64encode(body).decode(), base64.urlsafe_b64encode(body).decode()}
    return forms


class Leaks:
    """The forms of the canary and of the system prompts that the filter looks for."""

    def __init__(self, canary: str, system_prompts: list[str]):
        plain = _ALNUM.sub("", canary.lower())
        forms = {plain, plain[::-1], codecs.encode(plain, "rot13"), canary.encode().hex()} if plain else set()
        self.alnum = set().union(*(_windows(f, CANARY_WINDOW) for f in forms))
        self.b64 = set().union(*(_windows(f, B64_WINDOW) for f in _b64_forms(canary))) if plain else set()
        self.grams: set[tuple[str, ...]] = set()
        for text in system_prompts:
            for words in (_WORD.findall(text.lower()), _WORD.findall(text.lower()[::-1])):
                for n in range(1, SPAN_WORDS + 1):
                    self.grams.update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))

    def canary_in(self, text: str) -> bool:
        """Every form is cut into windows of one size, so a leak is a window of the text."""
        alnum = _ALNUM.sub("", text.lower())
        if any(alnum[i:i + CANARY_WINDOW] in self.alnum for i in range(len(alnum) - CANARY_WINDOW + 1)):
            return True
        compact = _SPACE.sub("", text)
        return any(compact[i:i + B64_WINDOW] in self.b64 for i in range(len(compact) - B64_WINDOW + 1))

    def span_in(self, text: str) -> bool:
        words, run = _WORD.findall(text.lower()), 0
        for i in range(len(words)):
            run = self._extend(words, i, run)
            if run >= SPAN_WORDS:
                return True
        return False

    def leaks(self, text: str) -> bool:
        return bool(text) and (self.canary_in(text) or self.span_in(text))

    def _extend(self, words: list[str], i: int, run: int) -> int:
        """The longest run of words ending at i that a system prompt holds, given the run
        ending at i - 1 (a run grows by at most one word)."""
        for n in range(min(run + 1, SPAN_WORDS), 0, -1):
            if tuple(words[i - n + 1:i + 1]) in self.grams:
                return n
        return 0


# -- the filter -------------------------------------------------------------------------------

class _Stream:
    """One reply's token stream: what has come in, and how much of it may go out."""

    def __init__(self, leaks: Leaks):
        self.leaks = leaks
        self.text = ""
        self.released = 0
        self.words: list[tuple[int, str]] = []  # (start, word) of complete words
        self.run = 0  # words at the end that repeat a system prompt
        self.alnum_at: list[int] = []  # positions of the alphanumeric characters
        self.solid_at: list[int] = []  # positions of the non-space characters

    def add(self, piece: str) -> str | None:
        """The text that may go out now, or None when the reply leaks."""
        # A leak form is CANARY_WINDOW alphanumeric (or B64_WINDOW non-space) characters, so
        # one that ends in this piece starts at most that far before it: check only there.
        start = min(self._back(self.alnum_at, CANARY_WINDOW - 1), self._back(self.solid_at, B64_WINDOW - 1))
        for i, ch in enumerate(piece, len(self.text)):
            if ch.isalnum():
                self.alnum_at.append(i)
            if not _SPACE.match(ch):
                self.solid_at.append(i)
        self.text += piece
        if self.leaks.canary_in(self.text[start:]):
            return None
        scanned = self.words[-1][0] + len(self.words[-1][1]) if self.words else 0
        for m in _WORD.finditer(self.text[scanned:].lower()):
            if scanned + m.end() == len(self.text):
                break  # the word may go on in the next piece
            self.words.append((scanned + m.start(), m.group()))
            self.run = self.leaks._extend([w for _, w in self.words[-SPAN_WORDS:]],
                                          min(len(self.words), SPAN_WORDS) - 1, self.run)
            if self.run >= SPAN_WORDS:
                return None
        return self._release(self._safe_end())

    def finish(self) -> str | None:
        """The rest, once the model has stopped (None when the last word completes a leak)."""
        if self.leaks.leaks(self.text):
            return None
        return self._release(len(self.text))

    def _safe_end(self) -> int:
        end = len(self.text)
        if self.run:  # the words repeating a system prompt wait until the run breaks
            end = self.words[-self.run][0]
        word = len(self.text)
        while word and _WORD.match(self.text[word - 1].lower()):
            word -= 1  # back over a word still being written
        return min(end, word, self._back(self.alnum_at, CANARY_WINDOW - 1),
                   self._back(self.solid_at, B64_WINDOW - 1))

    @staticmethod
    def _back(positions: list[int], count: int) -> int:
        """Where the last `count` characters of a kind begin (0 when there are fewer)."""
        return positions[-count] if len(positions) >= count else 0

    def _release(self, end: int) -> str:
        out = self.text[self.released:max(end, self.released)]
        self.released = max(end, self.released)
        return out


class OutputGuard:
    """Filters a reply's events (tutor/events.py) so no leak reaches a client."""

    def __init__(self, canary: str, system_prompts: list[str]):
        self.leaks = Leaks(canary, system_prompts)
        self.blocked = 0  # replies blocked since start (tests and logs read it)

    def filter(self, events: Iterator[Event]) -> Iterator[Event]:
        stream = _Stream(self.leaks)
        cited = None  # "citations" waits for the held-back tail: the protocol ends token..., citations, done
        try:
            for kind, payload in events:
                if kind == "citations":
                    cited = payload
                    continue
                if kind == "token":
                    out = stream.add(payload)
                    if out is None:
                        yield from self._block(events, "the draft")
                        return
                    if out:
                        yield kind, out
                    continue
                if kind == "done":
                    rest = stream.finish()
                    if rest is None or self._answer_leaks(payload):
                        yield from self._block(events, "the checked answer")
                        return
                    if rest:
                        yield "token", rest
                    if cited is not None:
                        yield "citations", cited
                elif kind == "meta" and self.leaks.leaks(str(payload.get("question", ""))):
                    payload = {**payload, "question": "(withheld)"}
                elif kind == "error" and self.leaks.leaks(str(payload.get("message", ""))):
                    payload = {**payload, "message": "the tutor failed while answering"}
                yield kind, payload
        finally:
            close = getattr(events, "close", None)
            if close:
                close()  # stops the model when a reply is blocked or the client leaves

    def _answer_leaks(self, answer: Answer) -> bool:
        return any(self.leaks.leaks(t) for t in (answer.answer, answer.question, answer.withdrawn,
                                                  *answer.held_back))

    def _block(self, events, where: str) -> Iterator[Event]:
        self.blocked += 1
        log.warning("output filter: blocked a reply (%s repeated the canary or a system prompt)", where)
        close = getattr(events, "close", None)
        if close:
            close()
        blocked = Answer(BLOCKED_TEXT, (), True, 0.0, "guard", "(withheld)", {}, withdrawn="(blocked)")
        yield "citations", []
        yield "done", blocked


@lru_cache(maxsize=16)
def guard_for(prompts) -> OutputGuard:
    """The guard of a Prompts object: its canary and every system prompt it renders."""
    return OutputGuard(prompts.canary or "", list(prompts.systems().values()))


def guarded(tutor, events: Iterator[Event]) -> Iterator[Event]:
    """`events` as a client may see them (the one call every interface makes)."""
    return guard_for(tutor.prompts).filter(events)
