"""Look through operators' files for text a reader cannot see and for passages written to
steer a model (indirect prompt injection, OWASP LLM01), and report them at ingest.

Hidden text is removed before chunking, so it never reaches a prompt:
  - zero-width and bidirectional control characters, Unicode tag characters (U+E0000 block,
    "ASCII smuggling"), soft hyphens;
  - HTML comments (in HTML, and in Markdown, where they do not render);
  - HTML elements styled invisible in their style attribute or by a rule of the page's
    <style> sheets (`.sr { display: none }`): display:none, visibility:hidden, font-size 0
    or under 2 px, opacity:0, white or transparent text (by name, hex, rgb, hsl), zero
    width or height, off-screen positions, scale(0), clipped to nothing; and the `hidden`
    attribute. In HTML pages and in the inline HTML of operators' Markdown files. (Sheets
    linked from other files are not read, nor rules on pseudo-elements such as ::before.)
Instruction-like passages are visible text and stay indexed (an operator may have good
reason to quote one); they are flagged so the operator can look. At answer time the
prompts fence retrieved text as data and the output filter (tutor/guard.py) stops leaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
HTML_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_END = r"\s*(?:;|$|!)"
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?" + _END
    # text under 2 px or 0.1 em cannot be read
    + r"|font-size\s*:\s*(?:0*\.\d+|1(?:\.\d+)?)(?:px|pt)" + _END + r"|font-size\s*:\s*0*\.0\d*(?:em|rem)" + _END
    + r"|opacity\s*:\s*0(?:\.0+)?" + _END
    # white (by name, hex, rgb or hsl) or fully transparent text
    + r"|(?<![-\w])color\s*:\s*(?:#fff(?:fff)?\b|white\b|transparent\b|rgba?\(\s*255\s*,\s*255\s*,\s*255\s*[,)]"
    r"|rgba\((?:[^,)]*,){3}\s*0(?:\.0+)?\s*\)|hsla?\([^,)]*,[^,)]*,\s*100%)"
    + r"|(?<![-\w])(?:width|height|max-height|max-width)\s*:\s*0(?:px)?" + _END
    + r"|(?:left|top|text-indent)\s*:\s*-\d{3,}"
    # shrunk or clipped away
    + r"|transform\s*:\s*scale\(\s*0(?:\.0+)?\s*[,)]|(?<![-\w])clip\s*:\s*rect\(\s*0(?:px)?[\s,]+0"
    r"|clip-path\s*:\s*inset\(\s*(?:50|100)%", re.I)
# Phrases that address a model rather than a reader. Kept narrow: each was checked against
# the shipped corpus, which must raise no flag (tests/test_injection.py).
INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b(?:previous|prior|above|earlier|all|your|the system|"
    r"these|those|any)\b[^.!?\n]{0,30}\b(?:instructions?|rules|prompts?|directions|guidelines|context)\b"
    r"|\b(?:system|developer)\s+(?:prompt|message|instructions?)\b"
    r"|\byou are now\b|\bfrom now on,? you\b|\bact as (?:an?|the) (?:unrestricted|unfiltered|different|new)\b"
    r"|\b(?:reveal|print|repeat|output|show|leak|disclose)\b[^.!?\n]{0,30}\b(?:your|the)\s+(?:instructions|prompt|"
    r"confidential|secret|marker|canary|rules)\b"
    r"|\bnew instructions?\s*:|\b(?:answer|reply|respond) only with\b|\bfor (?:every|all) (?:later|future|following) questions\b|\bdo not (?:tell|inform) the (?:user|learner|reader)\b"
    r"|<\|im_start\|>|<\|system\|>|\[/?INST\]|^\s*#{1,3}\s*(?:system|instruction)s?\s*:?\s*$"
    r"|\b(?:assistant|AI|model|chatbot|LLM)s?,? (?:must|should|will) (?:now |always )?(?:say|answer|reply|respond|"
    r"ignore|obey)\b", re.I | re.M)
QUOTE_CHARS = 80


@dataclass(frozen=True)
class Flag:
    kind: str  # "hidden" | "instruction-like"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def _quote(text: str) -> str:
    text = " ".join(INVISIBLE.sub("", text).split())
    return f"\u201c{text[:QUOTE_CHARS]}{'…' if len(text) > QUOTE_CHARS else ''}\u201d"


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def invisible_flags(text: str) -> list[Flag]:
    found = INVISIBLE.findall(text)
    if not found:
        return []
    names = sorted({f"U+{ord(ch):04X}" for ch in found})
    return [Flag("hidden", f"{len(found)} invisible characters ({', '.join(names[:5])}"
                           f"{', …' if len(names) > 5 else ''})")]


def strip_comments(text: str) -> tuple[str, list[Flag]]:
    flags = [Flag("hidden", f"HTML comment {_quote(m.group(1))}") for m in HTML_COMMENT.finditer(text)
             if m.group(1).strip()]
    return HTML_COMMENT.sub("", text), flags


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")  # innermost rules: those inside @media too


def sheet_rules(sheets: list[str]) -> list[tuple[str, str]]:
    """(selector, hiding declaration) of every rule in the style sheets that hides what it selects."""
    found = []
    for sheet in sheets:
        for selectors, body in _CSS_RULE.findall(_CSS_COMMENT.sub("", sheet)):
            if rule := _HIDDEN_STYLE.search(body):
                found += [(sel.strip(), rule.group(0).strip(" ;!")) for sel in selectors.split(",")
                          if sel.strip() and not sel.strip().startswith("@")]
    return found


def hidden_by_sheets(soup, sheets: list[str]) -> dict[int, str]:
    """id(element) -> the sheet rule that hides it."""
    import soupsieve

    hidden = {}
    for selector, rule in sheet_rules(sheets):
        try:
            matched = soup.select(selector)
        except (soupsieve.SelectorSyntaxError, NotImplementedError):  # ::before, @font-face ...: no element
            continue
        hidden.update((id(el), f"{selector} {{{rule}}}") for el in matched)
    return hidden


def hidden_elements(soup, sheets: list[str] = ()) -> list[Flag]:
    """Remove the elements of a parsed page that a browser would not show (by their style
    attribute, the `hidden` attribute, or a rule of `sheets`, the page's <style> texts); flag each."""
    flags = []
    by_sheet = hidden_by_sheets(soup, list(sheets)) if sheets else {}
    for el in soup.find_all(True):
        if el.decomposed:
            continue
        hidden = hidden_rule(el, by_sheet)
        if hidden and el.get_text(strip=True):
            flags.append(hidden_flag(hidden, el))
        if hidden:
            el.decompose()
    return flags


def hidden_rule(el, by_sheet: dict[int, str] | None = None) -> str | None:
    """What hides one element (its style, the hidden attribute, a sheet rule), or None."""
    rule = _HIDDEN_STYLE.search(el.get("style") or "")
    if rule:
        return rule.group(0).strip(" ;!")
    return "hidden attribute" if el.has_attr("hidden") else (by_sheet or {}).get(id(el))


def hidden_flag(rule: str, el) -> Flag:
    return Flag("hidden", f"invisible element ({rule}) {_quote(el.get_text(' '))}")


def instruction_flags(text: str) -> list[Flag]:
    """One flag per line holding a passage that addresses a model, quoted from the sentence
    where it starts."""
    flags = []
    for line in text.splitlines():
        if m := INSTRUCTION_LIKE.search(line):
            start = line.rfind(". ", 0, m.start()) + 1
            flags.append(Flag("instruction-like", _quote(line[start:])))
    return flags
