"""Redaction of contact and payment details before a learner's words are stored
(TUTOR_REDACT=1): e-mail addresses, phone numbers and payment card numbers become
"[email]", "[phone]" and "[card]".

What counts is chosen so that the numbers a learning roadmap is full of survive: years,
week counts, version numbers (3.11.7), dates (2024-11-30), model and data set names
(GPT-3, CIFAR-10, ResNet-50), IP addresses. So:

- a card number is 13-19 digits, written in one run or grouped as cards are printed (in
  fours, or 4-6-5), starts like a card network's number (3-6, or 2221-2720: never a year)
  and passes the Luhn check (a random number fails it nine times in ten);
- a phone number is either international (a leading "+" and 8-15 digits) or one of two
  common national shapes: 3-3-4 digits in groups ("(555) 123-4567", "555.123.4567") or a
  leading 0 and 10-11 digits ("020 7946 0958", "07700 900123"). A bare run of digits not
  starting with 0 or "+" is left alone: it is as likely an id or a count as a phone.

Only what is stored is redacted; the answer to the message in flight is computed from the
original text in memory (the model runs in this service or on the operator's own server).
Later turns read the stored, redacted history.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# No digit, letter or joining mark directly before or after: "v1.555-123-4567x" is not a phone.
_EDGE_BEFORE = r"(?<![\w+.\-/])"
_EDGE_AFTER = r"(?![\w\-/]|\.\d)"
CARD = re.compile(_EDGE_BEFORE + r"\d(?:[ -]?\d){12,18}" + _EDGE_AFTER)
PHONE = re.compile(_EDGE_BEFORE + r"(?:"
                   r"\+\d[\d ().-]{6,22}\d"  # international: +44 20 7946 0958, +1-202-555-0143
                   r"|\(\d{3}\) ?\d{3}[ .-]\d{4}"  # (555) 123-4567
                   r"|\d{3}([ .-])\d{3}\1\d{4}"  # 555-123-4567, 555.123.4567, 555 123 4567
                   r"|0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}"  # 020 7946 0958, 07700 900123
                   r")" + _EDGE_AFTER)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


# How cards are printed: in fours (Visa, Mastercard, ...), 4-6-5 (Amex), 4-6-4 (Diners).
# Grouped digits of another shape ("years 2012 2015 2019 2023") are not a card.
CARD_GROUPS = re.compile(r"\d+|(?:\d{4}[ -]){3}\d{4}(?:[ -]\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{4,5}")


def _issuer(digits: str) -> bool:
    """Starts like a card network's number: 3 (Amex, Diners, JCB), 4 (Visa), 5 and
    2221-2720 (Mastercard), 6 (Discover, UnionPay, Maestro). Years (19xx, 20xx) do not."""
    return digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720


def _card(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if 13 <= len(digits) <= 19 and CARD_GROUPS.fullmatch(text) and _issuer(digits) and luhn_ok(digits):
        return "[card]"
    return text


def _phone(match: re.Match) -> str:
    text = match.group()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        return "[phone]" if 8 <= len(digits) <= 15 else text
    if text.startswith("0"):
        return "[phone]" if 10 <= len(digits) <= 11 else text
    return "[phone]"


def redact(text: str) -> str:
    """`text` with e-mail addresses, card numbers and phone numbers replaced."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)  # before phones: a card's groups would look like one
    return PHONE.sub(_phone, text)


def maybe(text: str | None, enabled: bool) -> str | None:
    return redact(text) if enabled and text else text
